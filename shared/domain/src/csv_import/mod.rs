//! Reading contact lists from CSV files: encodings, delimiters, smart column mapping, rows →
//! candidate contacts, and duplicates inside one file. Pure: callers hand in `Read`ers.

pub mod columns;
pub mod consent;
pub mod encoding;
pub mod limits;
pub mod reader;
pub mod rows;
pub mod scan;

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

pub use columns::{Column, ColumnMapping, ColumnRole, MappingError};
pub use encoding::{DecodingReader, TextEncoding, SNIFF_BYTES};
pub use reader::{FileFormat, ParsedRow, RowPosition, RowReader};
pub use rows::{Candidate, RejectReason, RowRejected, ALTERNATE_PHONES};
pub use scan::{rows_from, ParseCounts};

use crate::phone::PhoneNumber;

/// Numbers seen so far in one file. Spelling variants of one number are the same E.164 and so
/// the same entry; kept as integers so a million numbers fit in a few megabytes.
#[derive(Debug, Default)]
pub struct InFileDedupe {
    seen: HashSet<u64, BuildHasherDefault<PhoneKeyHasher>>,
}

/// One multiply per number: the keys are our own parsed numbers, not attacker-chosen, so the
/// default DoS-resistant hash is not needed (it took a tenth of a million-row parse).
#[derive(Default)]
struct PhoneKeyHasher(u64);

impl Hasher for PhoneKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, key: u64) {
        // Fibonacci hashing spreads the digits over the high bits hashbrown uses.
        self.0 = (self.0 ^ key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl InFileDedupe {
    pub fn new() -> Self {
        Self::default()
    }

    /// True the first time a number is seen.
    pub fn first_time(&mut self, phone: &PhoneNumber) -> bool {
        self.seen.insert(phone_key(phone))
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// E.164 has at most 15 digits, so the digits fit in a `u64`.
fn phone_key(phone: &PhoneNumber) -> u64 {
    phone.as_str()[1..]
        .bytes()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'))
}
