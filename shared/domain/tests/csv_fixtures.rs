//! The fixture files of `tests/fixtures/csv`: mapping, counts and rejects per reason.

use std::collections::BTreeMap;

use trickle_domain::csv_import::{
    rows_from, Candidate, ColumnRole, FileFormat, InFileDedupe, MappingError, ParseCounts,
    RejectReason, TextEncoding, SNIFF_BYTES,
};

struct Scanned {
    format: FileFormat,
    counts: ParseCounts,
    contacts: Vec<(u64, Candidate)>,
    rejects: Vec<(u64, RejectReason, String)>,
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/fixtures/csv/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn detect(name: &str) -> Result<FileFormat, MappingError> {
    let bytes = fixture(name);
    let sample = &bytes[..bytes.len().min(SNIFF_BYTES)];
    FileFormat::detect(sample, sample.len() == bytes.len())
}

fn scan(name: &str) -> Scanned {
    let bytes = fixture(name);
    let format = detect(name).unwrap();
    let mut dedupe = InFileDedupe::new();
    let mut counts = ParseCounts::default();
    let mut contacts = Vec::new();
    let mut rejects = Vec::new();
    for row in rows_from(&bytes[..], &format, format.start()).unwrap() {
        let row = row.unwrap();
        let first = match &row.outcome {
            Ok(c) => dedupe.first_time(&c.phone),
            Err(_) => false,
        };
        match counts.count(&row, first) {
            None => contacts.push((row.line, row.outcome.clone().unwrap())),
            Some(reason) => rejects.push((row.line, reason, row.original(format.delimiter))),
        }
    }
    Scanned {
        format,
        counts,
        contacts,
        rejects,
    }
}

fn roles(format: &FileFormat) -> BTreeMap<String, ColumnRole> {
    format
        .mapping
        .columns
        .iter()
        .filter(|c| c.role != ColumnRole::Attribute)
        .map(|c| (c.header.clone(), c.role))
        .collect()
}

fn phones(s: &Scanned) -> Vec<&str> {
    s.contacts.iter().map(|(_, c)| c.phone.as_str()).collect()
}

#[test]
fn plain_file() {
    let s = scan("plain.csv");
    assert_eq!(s.format.encoding, TextEncoding::Utf8);
    assert_eq!(s.format.delimiter, ',');
    assert_eq!(
        roles(&s.format),
        BTreeMap::from([
            ("first_name".into(), ColumnRole::FirstName),
            ("last_name".into(), ColumnRole::LastName),
            ("phone".into(), ColumnRole::Phone { mobile: false }),
            ("email".into(), ColumnRole::Email),
        ])
    );
    assert_eq!(phones(&s), ["+12125550134", "+16465550101", "+19175550177"]);
    assert_eq!(
        (
            s.counts.rows,
            s.counts.contacts,
            s.counts.no_phone,
            s.counts.invalid_phone
        ),
        (5, 3, 1, 1)
    );
    let lines: Vec<(u64, RejectReason)> = s.rejects.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        lines,
        [(4, RejectReason::NoPhone), (6, RejectReason::InvalidPhone)]
    );
    assert_eq!(s.rejects[0].2, "Cara,Diaz,,cara@example.com");
    let ann = &s.contacts[0].1;
    assert_eq!(
        (
            ann.first_name.as_deref(),
            ann.last_name.as_deref(),
            ann.email.as_deref()
        ),
        (Some("Ann"), Some("Lee"), Some("ann@example.com"))
    );
}

#[test]
fn openphone_export() {
    let s = scan("openphone.csv");
    let r = roles(&s.format);
    assert_eq!(r["Phone Number"], ColumnRole::Phone { mobile: false });
    assert_eq!(r["Phone Number 2"], ColumnRole::Phone { mobile: false });
    assert_eq!(r["Address"], ColumnRole::Street);
    assert_eq!(phones(&s), ["+12125550134", "+16465550101"]);
    let bob = &s.contacts[1].1;
    assert_eq!(bob.attributes["alternate_phones"], "+12125550188");
    let ann = &s.contacts[0].1;
    assert_eq!(ann.attributes["company"], "Acme Realty");
    assert_eq!(ann.attributes["notes"], "met at open house");
    assert_eq!(ann.attributes["street"], "1 Main St");
    assert_eq!(s.counts.no_phone, 1);
}

#[test]
fn propertyradar_export() {
    let s = scan("propertyradar.csv");
    let r = roles(&s.format);
    assert_eq!(r["Owner First Name"], ColumnRole::FirstName);
    assert_eq!(r["Owner Last Name"], ColumnRole::LastName);
    assert_eq!(
        r["Primary Mobile Phone1"],
        ColumnRole::Phone { mobile: true }
    );
    assert_eq!(r["Primary Phone1"], ColumnRole::Phone { mobile: false });
    assert_eq!(r["Primary Email1"], ColumnRole::Email);
    assert_eq!(r["Address"], ColumnRole::Street);
    assert_eq!(r["ZIP"], ColumnRole::Zip);
    assert!(!r.contains_key("Primary Phone 1 Type"));
    assert!(!r.contains_key("Owner Spouse First Name"));
    // The mobile column wins over the first phone column; the landline is kept as alternate.
    let ann = &s.contacts[0].1;
    assert_eq!(ann.phone.as_str(), "+15125550142");
    assert_eq!(ann.attributes["alternate_phones"], "+15125550199");
    assert_eq!(ann.attributes["est_value"], "$450,000");
    assert_eq!(ann.attributes["mail_address"], "PO Box 9");
    assert_eq!(ann.attributes["city"], "Austin");
    assert_eq!(s.contacts[1].1.phone.as_str(), "+15125550177");
    assert_eq!((s.counts.contacts, s.counts.no_phone), (2, 1));
}

#[test]
fn brokerage_roster() {
    let s = scan("brokerage_roster.csv");
    let r = roles(&s.format);
    assert_eq!(r["Agent First Name"], ColumnRole::FirstName);
    assert_eq!(r["Mobile Phone"], ColumnRole::Phone { mobile: true });
    assert_eq!(r["Office Phone"], ColumnRole::Phone { mobile: false });
    // Bob has only the shared office line, which Ann already listed as her alternate: Bob is
    // the first to claim it as a primary number, so he is kept.
    assert_eq!(phones(&s), ["+12125550134", "+12125550100", "+16465550102"]);
    assert_eq!(s.contacts[0].1.attributes["license"], "SL123");
    assert_eq!(
        s.contacts[0].1.attributes["alternate_phones"],
        "+12125550100"
    );
}

#[test]
fn headerless_file_is_mapped_by_content() {
    let s = scan("headerless.csv");
    assert!(!s.format.mapping.has_header);
    assert_eq!(s.format.data_line, 1);
    assert_eq!(s.counts.contacts, 3);
    assert_eq!(s.contacts[0].1.email.as_deref(), Some("ann@example.com"));
    assert_eq!(s.contacts[0].1.attributes["column_1"], "Ann Lee");
}

#[test]
fn ambiguous_headerless_files_and_files_without_phone_are_refused_clearly() {
    let err = detect("headerless_ambiguous.csv").unwrap_err();
    assert!(err.to_string().contains("no header row"), "{err}");
    let err = detect("no_phone_column.csv").unwrap_err();
    assert!(err.to_string().contains("no phone column"), "{err}");
}

#[test]
fn messy_file_bom_crlf_semicolons_quoted_newlines_blank_lines_and_variants() {
    let s = scan("messy.csv");
    assert_eq!(s.format.encoding, TextEncoding::Utf8Bom);
    assert_eq!(s.format.delimiter, ';');
    assert_eq!(roles(&s.format)["Name"], ColumnRole::FullName);
    assert_eq!(roles(&s.format)["Cell"], ColumnRole::Phone { mobile: true });
    assert_eq!(phones(&s), ["+12125550134", "+16465550101", "+19175550177"]);
    let ann = &s.contacts[0].1;
    assert_eq!(ann.first_name.as_deref(), Some("Ann"));
    // Line breaks inside a cell become spaces: attributes are one line.
    assert_eq!(ann.attributes["notes"], "likes calls");
    assert_eq!(
        s.counts,
        ParseCounts {
            rows: 7,
            contacts: 3,
            duplicates: 2,
            no_phone: 1,
            invalid_phone: 1,
            invalid_row: 0,
            unknown_time_zone: 0,
            too_large: 0,
            ragged: 2,
        }
    );
    let rejects: Vec<(u64, RejectReason)> = s.rejects.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        rejects,
        [
            (5, RejectReason::DuplicateInFile),
            (6, RejectReason::DuplicateInFile),
            (8, RejectReason::InvalidPhone),
            (10, RejectReason::NoPhone),
        ]
    );
    assert_eq!(
        s.rejects[0].2,
        "Bob Stone;(212) 555-0134;same number, other spelling"
    );
}

#[test]
fn latin1_and_utf16_files_decode() {
    let s = scan("latin1.csv");
    assert_eq!(s.format.encoding, TextEncoding::Windows1252);
    assert_eq!(s.contacts[0].1.first_name.as_deref(), Some("José"));
    assert_eq!(s.contacts[0].1.attributes["apellido"], "Núñez");
    assert_eq!(s.contacts[1].1.first_name.as_deref(), Some("François"));
    let s = scan("utf16.csv");
    assert_eq!(s.format.encoding, TextEncoding::Utf16Le);
    assert_eq!(s.format.delimiter, '\t');
    assert_eq!(s.contacts[0].1.first_name.as_deref(), Some("Zoë"));
}

#[test]
fn reading_resumes_from_any_row_position_with_the_same_rows() {
    for name in ["messy.csv", "latin1.csv", "propertyradar.csv", "utf16.csv"] {
        let bytes = fixture(name);
        let format = detect(name).unwrap();
        let all: Vec<_> = rows_from(&bytes[..], &format, format.start())
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for (i, row) in all.iter().enumerate() {
            let rest: Vec<_> = rows_from(&bytes[..], &format, row.next)
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let expected: Vec<_> = all[i + 1..].iter().map(|r| (r.line, &r.fields)).collect();
            let got: Vec<_> = rest.iter().map(|r| (r.line, &r.fields)).collect();
            assert_eq!(got, expected, "{name} after row {}", row.line);
        }
    }
}
