//! The text a contact actually receives: the rendered variant, the business identification and,
//! on the first message to a contact, the opt-out footer.

pub const DEFAULT_OPT_OUT_FOOTER: &str = "Reply STOP to opt out";

/// Prefixes `"<business>: "` unless the text already names the business, and appends the footer
/// on a first message unless the text already carries it.
pub fn compose(
    rendered: &str,
    business_name: &str,
    opt_out_footer: &str,
    first_message: bool,
) -> String {
    let body = rendered.trim();
    let business = business_name.trim();
    let mut text = if business.is_empty() || contains_ci(body, business) {
        body.to_string()
    } else {
        format!("{business}: {body}")
    };
    let footer = opt_out_footer.trim();
    if first_message && !footer.is_empty() && !contains_ci(&text, footer) {
        text.push('\n');
        text.push_str(footer);
    }
    text
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            (
                "Hi Ann",
                "Acme",
                DEFAULT_OPT_OUT_FOOTER,
                true,
                "Acme: Hi Ann\nReply STOP to opt out",
            ),
            (
                "Hi Ann",
                "Acme",
                DEFAULT_OPT_OUT_FOOTER,
                false,
                "Acme: Hi Ann",
            ),
            (
                "Hi Ann, ACME here",
                "Acme",
                DEFAULT_OPT_OUT_FOOTER,
                false,
                "Hi Ann, ACME here",
            ),
            (
                "  Hi Ann  ",
                " Acme ",
                "Text STOP to quit",
                true,
                "Acme: Hi Ann\nText STOP to quit",
            ),
            (
                "Hi. reply stop to opt out",
                "Acme",
                DEFAULT_OPT_OUT_FOOTER,
                true,
                "Acme: Hi. reply stop to opt out",
            ),
            ("Hi", "Acme", "", true, "Acme: Hi"),
        ];
        for (body, business, footer, first, expected) in cases {
            assert_eq!(compose(body, business, footer, first), expected, "{body}");
        }
    }
}
