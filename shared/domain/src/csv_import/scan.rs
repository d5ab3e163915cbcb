//! Reading a whole file (or the rest of it) with the preview counts: rows read, contacts found,
//! duplicates inside the file, rows without a usable phone.

use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use super::encoding::DecodingReader;
use super::reader::{FileFormat, ParsedRow, RowPosition, RowReader};
use super::rows::RejectReason;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseCounts {
    /// Data rows read (blank lines not counted).
    pub rows: u64,
    /// Distinct usable numbers: the contacts the file offers.
    pub contacts: u64,
    pub duplicates: u64,
    pub no_phone: u64,
    pub invalid_phone: u64,
    pub invalid_row: u64,
    /// Numbers outside North America on rows that name no time zone.
    #[serde(default)]
    pub unknown_time_zone: u64,
    /// Rows over the size or column cap (see `RejectReason::RowTooLarge`).
    #[serde(default)]
    pub too_large: u64,
    /// Rows with more or fewer fields than the header (read anyway).
    pub ragged: u64,
}

impl ParseCounts {
    /// Counts one row; `first_time` says whether its number was new in this file.
    pub fn count(&mut self, row: &ParsedRow, first_time: bool) -> Option<RejectReason> {
        self.rows += 1;
        if row.ragged {
            self.ragged += 1;
        }
        let reason = match &row.outcome {
            Ok(_) if first_time => None,
            Ok(_) => Some(RejectReason::DuplicateInFile),
            Err(rejected) => Some(rejected.reason),
        };
        match reason {
            None => self.contacts += 1,
            Some(RejectReason::DuplicateInFile) => self.duplicates += 1,
            Some(RejectReason::NoPhone) => self.no_phone += 1,
            Some(RejectReason::InvalidPhone) => self.invalid_phone += 1,
            Some(RejectReason::UnknownTimeZone) => self.unknown_time_zone += 1,
            Some(RejectReason::RowTooLarge) => self.too_large += 1,
            Some(_) => self.invalid_row += 1,
        }
        reason
    }

    pub fn add(&mut self, other: &ParseCounts) {
        self.rows += other.rows;
        self.contacts += other.contacts;
        self.duplicates += other.duplicates;
        self.no_phone += other.no_phone;
        self.invalid_phone += other.invalid_phone;
        self.invalid_row += other.invalid_row;
        self.unknown_time_zone += other.unknown_time_zone;
        self.too_large += other.too_large;
        self.ragged += other.ragged;
    }
}

/// Rows of a file read from its first byte (`raw`), starting at `from`: the text is decoded
/// and the bytes before `from` are skipped.
pub fn rows_from<R: Read>(
    raw: R,
    format: &FileFormat,
    from: RowPosition,
) -> io::Result<RowReader<'_, DecodingReader<R>>> {
    let mut text = DecodingReader::new(raw, format.encoding);
    let skipped = io::copy(&mut (&mut text).take(from.offset), &mut io::sink())?;
    if skipped < from.offset {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file is shorter than the position to resume from",
        ));
    }
    Ok(RowReader::new(text, format, from))
}
