//! The import and list records and what an operator reads from them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trickle_domain::csv_import::{Candidate, FileFormat, ParseCounts, RejectReason};
use trickle_domain::PhoneNumber;

use super::AudienceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Contacts,
    Suppression,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Created through the API; the file has not arrived yet.
    AwaitingUpload,
    Uploaded,
    Parsing,
    Validating,
    Completed,
    /// Validation stopped for an operator (quota, key); `POST …/resume` continues.
    Paused,
    Failed,
    /// Stopped by an operator (`POST …/cancel`): its list never becomes visible.
    Cancelled,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::AwaitingUpload => "awaiting_upload",
            ImportStatus::Uploaded => "uploaded",
            ImportStatus::Parsing => "parsing",
            ImportStatus::Validating => "validating",
            ImportStatus::Completed => "completed",
            ImportStatus::Paused => "paused",
            ImportStatus::Failed => "failed",
            ImportStatus::Cancelled => "cancelled",
        }
    }
}

/// `IMPORT#<id>` / `META`. Counters that several workers bump are top-level numbers (atomic
/// adds); the checkpoints are top-level so that a chunk commits only from where it started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportRecord {
    pub id: String,
    pub kind: ImportKind,
    pub list_id: String,
    pub list_name: String,
    pub status: ImportStatus,
    pub object_key: String,
    #[serde(default)]
    pub object_version: Option<String>,
    /// The store's version id of the object the notification named: every read of the import
    /// asks for it, so an upload URL used again cannot swap the file mid-import.
    #[serde(default)]
    pub object_version_id: Option<String>,
    /// The object's ETag as notified: what a read pins when the store named no version.
    #[serde(default)]
    pub object_etag: Option<String>,
    #[serde(default)]
    pub format: Option<FileFormat>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub paused_reason: Option<String>,
    #[serde(default)]
    pub parse: ParseCounts,
    /// Decoded byte offset and line the next parse chunk starts from.
    #[serde(default)]
    pub parse_offset: u64,
    #[serde(default)]
    pub parse_line: u64,
    #[serde(default)]
    pub parse_done: bool,
    /// Distinct numbers found (= `parse.contacts`), and how many have a verdict.
    #[serde(default)]
    pub distinct: u64,
    #[serde(default)]
    pub validated: u64,
    /// The candidate sort key the next finish chunk starts after (`""` before the first).
    #[serde(default)]
    pub finish_after: String,
    #[serde(default)]
    pub finish_position: u64,
    #[serde(default)]
    pub added: u64,
    #[serde(default)]
    pub existing: u64,
    /// Rows skipped at validation, per reason (`skipped_landline`, …) — see [`skipped_attr`].
    #[serde(flatten)]
    pub skipped: BTreeMap<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// The counter attribute of rows skipped for `reason` after validation.
pub fn skipped_attr(reason: RejectReason) -> String {
    format!("skipped_{}", reason.as_str())
}

impl ImportRecord {
    /// The revision of the uploaded file every read of this import asks for.
    pub fn revision(&self) -> crate::ports::blobs::Revision<'_> {
        use crate::ports::blobs::Revision;
        match (&self.object_version_id, &self.object_etag) {
            (Some(id), _) => Revision::Version(id),
            (None, Some(tag)) => Revision::ETag(tag),
            (None, None) => Revision::Latest,
        }
    }

    /// Rows skipped per reason, parse and validation together.
    pub fn skipped_by_reason(&self) -> BTreeMap<RejectReason, u64> {
        let mut counts = BTreeMap::new();
        let mut put = |reason, n: u64| {
            if n > 0 {
                *counts.entry(reason).or_insert(0) += n;
            }
        };
        put(RejectReason::DuplicateInFile, self.parse.duplicates);
        put(RejectReason::NoPhone, self.parse.no_phone);
        put(RejectReason::InvalidPhone, self.parse.invalid_phone);
        put(RejectReason::InvalidRow, self.parse.invalid_row);
        put(RejectReason::UnknownTimeZone, self.parse.unknown_time_zone);
        put(RejectReason::RowTooLarge, self.parse.too_large);
        for reason in RejectReason::ALL {
            let n = self
                .skipped
                .get(&skipped_attr(reason))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            put(reason, n);
        }
        counts
    }

    /// The sentence an operator reads: the preview while running, the outcome when done.
    pub fn summary(&self) -> String {
        let skipped = self.skipped_by_reason();
        let total: u64 = skipped.values().sum();
        let mut reasons: Vec<(RejectReason, u64)> = skipped.into_iter().collect();
        let rank = |r: &RejectReason| RejectReason::ALL.iter().position(|x| x == r);
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(rank(&a.0).cmp(&rank(&b.0))));
        let reasons = reasons
            .iter()
            .map(|(r, n)| format!("{} {}", thousands(*n), r.words()))
            .collect::<Vec<_>>()
            .join(", ");
        let skipped = if total == 0 {
            String::new()
        } else {
            format!("; {} skipped: {reasons}", thousands(total))
        };
        match (self.status, self.kind) {
            (ImportStatus::Completed, ImportKind::Contacts) => format!(
                "{} valid mobile numbers added ({} already contacts){skipped}",
                thousands(self.added),
                thousands(self.existing)
            ),
            (ImportStatus::Completed, ImportKind::Suppression) => format!(
                "{} numbers suppressed{skipped}",
                thousands(self.parse.contacts)
            ),
            (ImportStatus::AwaitingUpload | ImportStatus::Uploaded, _) => {
                "waiting for the file to be read".to_string()
            }
            (ImportStatus::Cancelled, _) => format!(
                "import cancelled after reading {} rows; no list was made",
                thousands(self.parse.rows)
            ),
            (ImportStatus::Failed, _) => format!(
                "import failed: {}",
                self.error.as_deref().unwrap_or("unknown error")
            ),
            _ => {
                let mut text = format!(
                    "Found {} contacts in {} rows{skipped}",
                    thousands(self.parse.contacts),
                    thousands(self.parse.rows)
                );
                if self.kind == ImportKind::Contacts && self.parse_done {
                    text.push_str(&format!(
                        "; {} of {} numbers validated",
                        thousands(self.validated),
                        thousands(self.distinct)
                    ));
                }
                if let Some(reason) = &self.paused_reason {
                    text.push_str(&format!("; paused: {reason}"));
                }
                text
            }
        }
    }
}

/// `2350` → `2,350`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListStatus {
    Building,
    Completed,
}

/// `LIST#<id>` / `META`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRecord {
    pub id: String,
    pub name: String,
    pub kind: ImportKind,
    pub status: ListStatus,
    #[serde(default)]
    pub member_count: u64,
    pub import_id: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
}

/// `LIST#<id>` / `M#<position>`: what the campaign engine reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub position: u64,
    pub contact_id: String,
    pub phone: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(2350), "2,350");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}

pub const MAX_LIST_NAME_CHARS: usize = 100;

/// A list name as the operator typed it, trimmed; one line, not empty, not too long.
pub fn check_list_name(name: &str) -> Result<String, AudienceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AudienceError::Invalid("list_name must not be empty".into()));
    }
    if name.chars().count() > MAX_LIST_NAME_CHARS || name.contains(char::is_control) {
        return Err(AudienceError::Invalid(format!(
            "list_name must be one line of at most {MAX_LIST_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

/// The attribute of an import's number item holding its verdict.
pub const VERDICT: &str = "verdict";
/// The verdict of a number that may enter the list.
pub const MOBILE: &str = "mobile";

/// `IMPORT#<id>` / `CAND#<line>`: a row whose number is new to this import, waiting for its
/// verdict.
#[derive(Serialize, Deserialize)]
pub struct CandidateItem {
    pub line: u64,
    pub phone: PhoneNumber,
    pub candidate: Candidate,
    pub original: String,
}

/// `IMPORT#<id>` / `REJECT#<line>`: a row that will not be a member, and why.
#[derive(Serialize, Deserialize)]
pub struct RejectItem {
    pub line: u64,
    pub reason: RejectReason,
    pub detail: String,
    pub original: String,
}
