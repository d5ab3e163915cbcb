//! What an inbound text asks for, compliance-wise (US SMS rules, CTIA and TCPA).
//!
//! Exact keywords are matched case-insensitively with surrounding spaces and punctuation
//! ignored. For US numbers a text that merely *contains* the word STOP also opts out: the FCC
//! accepts "any reasonable means", so a false positive is preferred over a miss.

/// Opt-out keywords: the union of the major providers' defaults.
pub const OPT_OUT: [&str; 12] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "OPT-OUT",
    "REMOVE",
    "ARRET",
    "TD",
];
/// Re-subscribe keywords. YES only counts for someone who is opted out (the caller checks).
pub const OPT_IN: [&str; 3] = ["START", "UNSTOP", "YES"];
pub const HELP: [&str; 2] = ["HELP", "INFO"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    OptOut,
    /// `only_if_opted_out` is true for YES: it must not be taken as consent from anyone else.
    OptIn {
        only_if_opted_out: bool,
    },
    Help,
    None,
}

/// Classifies an inbound text. `us_sender` enables the contains-STOP rule.
pub fn classify(text: &str, us_sender: bool) -> Intent {
    let exact = normalise(text);
    if OPT_OUT.contains(&exact.as_str()) {
        return Intent::OptOut;
    }
    if OPT_IN.contains(&exact.as_str()) {
        return Intent::OptIn {
            only_if_opted_out: exact == "YES",
        };
    }
    if HELP.contains(&exact.as_str()) {
        return Intent::Help;
    }
    if us_sender && contains_stop_word(text) {
        return Intent::OptOut;
    }
    Intent::None
}

/// Upper-cased, with surrounding whitespace and punctuation removed.
fn normalise(text: &str) -> String {
    text.trim_matches(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '-'))
        .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .to_uppercase()
}

/// True when STOP (or STOPALL) stands as a word anywhere in the text: "please stop",
/// "STOP texting me", "stop!!". "Nonstop" and "stopping" do not count.
fn contains_stop_word(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|word| word.eq_ignore_ascii_case("STOP") || word.eq_ignore_ascii_case("STOPALL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_and_rules() {
        let optin = Intent::OptIn {
            only_if_opted_out: false,
        };
        let yes = Intent::OptIn {
            only_if_opted_out: true,
        };
        let cases = [
            ("STOP", true, Intent::OptOut),
            ("stop", false, Intent::OptOut),
            ("  Stop.  ", false, Intent::OptOut),
            ("STOP!!!", false, Intent::OptOut),
            ("unsubscribe", false, Intent::OptOut),
            ("Opt-Out", false, Intent::OptOut),
            ("optout", false, Intent::OptOut),
            ("arret", false, Intent::OptOut),
            ("td", false, Intent::OptOut),
            ("End", false, Intent::OptOut),
            ("stopall", false, Intent::OptOut),
            ("please stop texting me", true, Intent::OptOut),
            ("STOP texting me", true, Intent::OptOut),
            ("please stop texting me", false, Intent::None),
            ("ok, stop.", true, Intent::OptOut),
            ("nonstop fun", true, Intent::None),
            ("stopping by later", true, Intent::None),
            ("cancel my appointment", true, Intent::None),
            ("START", true, optin),
            ("unstop", true, optin),
            ("Yes", true, yes),
            ("yes please", true, Intent::None),
            ("HELP", true, Intent::Help),
            ("info?", true, Intent::Help),
            ("Hi, is the house still available?", true, Intent::None),
            ("", true, Intent::None),
        ];
        for (text, us, expect) in cases {
            assert_eq!(classify(text, us), expect, "{text:?} (us: {us})");
        }
    }
}
