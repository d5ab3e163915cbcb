//! Phone numbers out of log lines: logs are read by more people, and kept longer, than the
//! table. A number is logged by its last four digits only (`+…0134`), which is enough to match a
//! log line to a contact an operator already has in front of them.

/// `e164` as it may be logged: `+…` and its last four digits.
pub fn last_four(e164: &str) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("+…{tail}")
}

/// `text` with every phone number in it cut to its last four digits: a run of 7 or more digits
/// after `+` (or `%2B`, URL-encoded), and any bare run of 10 to 15 digits standing alone.
pub fn redact_phones(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let prefix = if bytes[i] == b'+' {
            1
        } else if bytes[i..].len() >= 3 && bytes[i..i + 3].eq_ignore_ascii_case(b"%2b") {
            3
        } else {
            0
        };
        let start = i + prefix;
        let run = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let alone = |at: usize| at >= bytes.len() || !bytes[at].is_ascii_alphanumeric();
        let before_ok = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let phone = if prefix > 0 {
            run >= 7
        } else {
            before_ok && (10..=15).contains(&run) && alone(start + run)
        };
        if phone {
            out.push_str(&last_four(&text[start..start + run]));
            i = start + run;
        } else {
            // Copy one whole character (never split a multi-byte one).
            let ch = text[i..].chars().next().expect("inside the text");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_only_their_last_four_digits() {
        let cases = [
            (
                "DELETE /v1/opt-outs/%2B12125550134",
                "DELETE /v1/opt-outs/+…0134",
            ),
            (
                "auto reply to +447911123456 failed",
                "auto reply to +…3456 failed",
            ),
            (
                "row 3: 2125550134 is a landline",
                "row 3: +…0134 is a landline",
            ),
            ("code 30003, attempt 2", "code 30003, attempt 2"),
            (
                "campaign cp_01a24fcd5251234567 ok",
                "campaign cp_01a24fcd5251234567 ok",
            ),
            ("café +33612345678.", "café +…5678."),
            ("", ""),
        ];
        for (text, want) in cases {
            assert_eq!(redact_phones(text), want, "{text}");
        }
        assert_eq!(last_four("+12125550134"), "+…0134");
    }
}
