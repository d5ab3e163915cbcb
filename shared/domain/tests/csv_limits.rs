//! The size caps of a CSV file: an oversized row is rejected with its reason, a row that never
//! ends stops the reading with its line, and a first row that is too large or too wide fails
//! the file.

use trickle_domain::csv_import::limits::{MAX_COLUMNS, MAX_ROW_BYTES};
use trickle_domain::csv_import::reader::RowRunsOn;
use trickle_domain::csv_import::{rows_from, FileFormat, MappingError, RejectReason, SNIFF_BYTES};

fn format_of(bytes: &[u8]) -> Result<FileFormat, MappingError> {
    let complete = bytes.len() <= SNIFF_BYTES;
    FileFormat::detect(&bytes[..bytes.len().min(SNIFF_BYTES)], complete)
}

#[test]
fn a_row_over_64_kb_or_500_cells_is_rejected_and_its_neighbours_are_read() {
    let huge_note = "n".repeat(MAX_ROW_BYTES as usize + 10);
    let wide = vec!["x"; MAX_COLUMNS + 1].join(",");
    let file = format!(
        "first_name,phone,notes\nAnn,2125550134,hi\nBen,2125550135,\"{huge_note}\"\n{wide}\n\nCat,2125550136,bye\n"
    );
    let format = format_of(file.as_bytes()).unwrap();
    let rows: Vec<_> = rows_from(file.as_bytes(), &format, format.start())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 3, 4, 6]);
    assert!(rows[0].outcome.is_ok());
    assert!(
        rows[3].outcome.is_ok(),
        "the row after them is read as usual"
    );
    let big = rows[1].outcome.as_ref().unwrap_err();
    assert_eq!(big.reason, RejectReason::RowTooLarge);
    assert!(
        big.detail.contains("65 KB") && big.detail.contains("at most 64 KB"),
        "{}",
        big.detail
    );
    let too_wide = rows[2].outcome.as_ref().unwrap_err();
    assert_eq!(too_wide.reason, RejectReason::RowTooLarge);
    assert!(too_wide.detail.contains("501 cells"), "{}", too_wide.detail);
    // Only the row's opening is kept for the rejects file.
    let kept = rows[1].original(',');
    assert!(
        kept.starts_with("Ben 2125550135 nnn") && kept.len() < 300,
        "{kept}"
    );
}

#[test]
fn a_quote_that_is_never_closed_stops_the_reading_at_its_row() {
    let mut file =
        String::from("first_name,phone,notes\nAnn,2125550134,hi\nBen,2125550135,\"oops\n");
    for i in 0..40_000 {
        file.push_str(&format!("Row{i},21255{i:05},a note of some length\n"));
    }
    assert!(file.len() > 1024 * 1024);
    let format = format_of(file.as_bytes()).unwrap();
    let mut rows = rows_from(file.as_bytes(), &format, format.start()).unwrap();
    assert_eq!(rows.next().unwrap().unwrap().line, 2);
    let error = rows.next().unwrap().unwrap_err();
    assert_eq!(
        RowRunsOn::behind(&error),
        Some(RowRunsOn { line: 3 }),
        "{error}"
    );
    assert!(
        error.to_string().contains("line 3 runs past 1 MB"),
        "{error}"
    );
}

#[test]
fn a_file_that_is_one_giant_field_or_too_many_columns_fails_with_what_to_do() {
    let giant = format!("\"{}", "a".repeat(3 * SNIFF_BYTES));
    let refusal = format_of(giant.as_bytes()).unwrap_err();
    assert_eq!(refusal, MappingError::HeaderTooLarge);
    assert!(refusal.to_string().contains("never closed"), "{refusal}");

    let header: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect();
    let wide = format!("phone,{}\n2125550134\n", header.join(","));
    let refusal = format_of(wide.as_bytes()).unwrap_err();
    assert_eq!(refusal, MappingError::TooManyColumns(MAX_COLUMNS + 2));
    assert!(refusal.to_string().contains("at most 500"), "{refusal}");
}
