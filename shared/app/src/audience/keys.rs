//! Where the audience records live in the single table (see `docs/architecture.md`).

use crate::ports::table::Key;

pub const META: &str = "META";
/// gsi1 partition of completed lists, sorted by `<created at>#<id>`.
pub const LISTS_INDEX_PK: &str = "LISTS";
/// gsi1 partition listing every import by creation time (the dashboard's imports in progress).
pub const IMPORTS_INDEX_PK: &str = "IMPORTS";

pub fn import(id: &str) -> Key {
    Key::new(import_pk(id), META)
}

pub fn import_pk(id: &str) -> String {
    format!("IMPORT#{id}")
}

/// A candidate contact read from the file, in file order (by the line its row starts on).
pub fn candidate(id: &str, line: u64) -> Key {
    Key::new(import_pk(id), format!("C#{line:09}"))
}

pub const CANDIDATE_PREFIX: &str = "C#";

/// One distinct number of the import: the in-file dedupe guard and the validation verdict.
pub fn number(id: &str, e164: &str) -> Key {
    Key::new(import_pk(id), format!("N#{e164}"))
}

pub const NUMBER_PREFIX: &str = "N#";

/// A rejected row, by line.
pub fn reject(id: &str, line: u64) -> Key {
    Key::new(import_pk(id), format!("R#{line:09}"))
}

pub const REJECT_PREFIX: &str = "R#";

pub fn list(id: &str) -> Key {
    Key::new(list_pk(id), META)
}

pub fn list_pk(id: &str) -> String {
    format!("LIST#{id}")
}

/// A list member; positions are 0-based and give the send order.
pub fn member(list_id: &str, position: u64) -> Key {
    Key::new(list_pk(list_id), format!("M#{position:09}"))
}

pub const MEMBER_PREFIX: &str = "M#";

pub fn number_check(e164: &str) -> Key {
    Key::new(format!("NUMVERIFY#{e164}"), "RESULT")
}

/// A short lease on looking a number up, so concurrent imports of one number call NumVerify
/// once (the others retry and find the cached answer).
pub fn number_check_claim(e164: &str) -> Key {
    Key::new(format!("NUMVERIFY#{e164}"), "CLAIM")
}

pub fn suppression(e164: &str) -> Key {
    Key::new(format!("SUPPRESS#{e164}"), "SUPPRESS")
}

/// The blob an import's file is uploaded to.
pub fn upload_blob(id: &str) -> String {
    format!("imports/{id}.csv")
}

pub fn rejects_blob(id: &str) -> String {
    format!("imports/{id}/rejects.csv")
}
