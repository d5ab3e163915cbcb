//! How large a list's rows may be: caps that keep one row inside a table item and one
//! runaway row from filling the import's memory.

/// A row larger than this is rejected (`row_too_large`): no contact needs more, and the row,
/// kept with its candidate, must fit in one table item of 400 KB.
pub const MAX_ROW_BYTES: u64 = 64 * 1024;

/// A row with more cells than this is rejected the same way; a header with more fails the file.
pub const MAX_COLUMNS: usize = 500;

/// A row still open after this many bytes stops the import: it is almost always a quote that is
/// never closed, and reading on would hold the rest of the file in memory as one row.
pub const MAX_OPEN_ROW_BYTES: u64 = 1024 * 1024;
