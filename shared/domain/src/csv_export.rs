//! Cells of every CSV trickle produces (the rejects file, the opt-out export), safe to open in a
//! spreadsheet: a cell that begins with `=`, `+`, `-`, `@`, tab or CR would run as a formula, so
//! it is written with a leading `'`. An E.164 number (`+` and digits only) cannot be a formula and
//! is written as it is, so phone columns stay readable.

/// One cell: neutralised, then quoted when it holds a comma, a quote or a line break.
pub fn cell(value: &str) -> String {
    let phone_like =
        value.len() > 1 && value.starts_with('+') && value[1..].bytes().all(|b| b.is_ascii_digit());
    let formula = !phone_like && value.starts_with(['=', '@', '+', '-', '\t', '\r']);
    let value = if formula {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formulas_are_neutralised_and_plain_text_is_kept() {
        let cases = [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("=1+1", "'=1+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("\tleading tab", "'\tleading tab"),
            ("\rcarriage", "\"'\rcarriage\""),
            ("+12125550134", "+12125550134"),
            ("+", "'+"),
            ("Ann Lee", "Ann Lee"),
            ("Lee, Ann", "\"Lee, Ann\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("", ""),
            ("a=b", "a=b"),
        ];
        for (input, want) in cases {
            assert_eq!(cell(input), want, "{input:?}");
        }
    }
}
