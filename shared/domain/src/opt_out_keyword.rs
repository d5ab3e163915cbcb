//! What an inbound text asks for, compliance-wise (US SMS rules, CTIA and TCPA).
//!
//! Exact keywords are matched case-insensitively with surrounding spaces and punctuation
//! ignored. For US numbers a text that merely *contains* the word STOP also opts out: the FCC
//! accepts "any reasonable means", so a false positive is preferred over a miss.

/// Opt-out keywords: the union of the major providers' defaults, the FCC's 2025 revocation words,
/// and their common typos (a whole reply that is one of these opts out, whatever the country).
pub const OPT_OUT: [&str; 24] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "OPT-OUT",
    "OPT OUT",
    "REMOVE",
    "ARRET",
    "TD",
    "STPO",
    "SOTP",
    "STOPP",
    "STOP PLEASE",
    "PLEASE STOP",
    "STOP IT",
    "UNSUBCRIBE",
    "UNSUSCRIBE",
    "UNSUBSCIBE",
    "UNSUBSCRIBE ME",
    "STOP STOP",
];
/// Re-subscribe keywords. YES only counts for someone who is opted out (the caller checks).
pub const OPT_IN: [&str; 3] = ["START", "UNSTOP", "YES"];
pub const HELP: [&str; 2] = ["HELP", "INFO"];

/// Words that revoke consent anywhere in a reply from a North American number (the FCC's list;
/// "any reasonable means"). "opt out" is matched as two words below.
const REVOCATION_WORDS: [&str; 4] = ["stop", "stopall", "unsubscribe", "revoke"];
/// Revocation words that also have everyday meanings ("the end of the street", "cancel my
/// showing"): they opt out only in a short reply (at most `SHORT_REPLY` words).
const SHORT_REPLY_WORDS: [&str; 4] = ["end", "quit", "cancel", "remove"];
const SHORT_REPLY: usize = 6;

/// Phrases that ask for no more texts, in any reply from any country.
const OPT_OUT_PHRASES: [&str; 24] = [
    "opt out",
    "opt me out",
    "remove me",
    "remove my number",
    "take me off",
    "take my number off",
    "no more texts",
    "no more messages",
    "no more text",
    "do not text",
    "dont text",
    "don't text",
    "do not message",
    "do not contact",
    "don't contact",
    "stop texting",
    "stop messaging",
    "stop contacting",
    "quit texting",
    "never text",
    "wrong number",
    "wrong person",
    "lose my number",
    "delete my number",
];

/// Phrases that read like a refusal without naming one: "who is this? leave me alone".
const REFUSAL_PHRASES: [&str; 11] = [
    "leave me alone",
    "not interested",
    "go away",
    "how did you get my number",
    "who gave you my number",
    "this is spam",
    "is this spam",
    "scam",
    "harass",
    "reported",
    "f off",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    OptOut,
    /// Reads like a refusal but names none: treated as an opt-out (a false positive is preferred
    /// over a miss), recorded as a possible one so a person can re-subscribe it with a reason.
    PossibleOptOut,
    /// `only_if_opted_out` is true for YES: it must not be taken as consent from anyone else.
    OptIn {
        only_if_opted_out: bool,
    },
    Help,
    None,
}

/// Classifies an inbound text. `us_sender` (a North American number) enables the word rules.
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
    let words = words(text);
    let joined = format!(" {} ", words.join(" "));
    let has = |phrase: &str| joined.contains(&format!(" {phrase} "));
    if OPT_OUT_PHRASES.iter().any(|p| has(p)) {
        return Intent::OptOut;
    }
    if us_sender {
        if words.iter().any(|w| REVOCATION_WORDS.contains(&w.as_str())) {
            return Intent::OptOut;
        }
        if words.len() <= SHORT_REPLY
            && words
                .iter()
                .any(|w| SHORT_REPLY_WORDS.contains(&w.as_str()))
        {
            return Intent::OptOut;
        }
    }
    // Substring match: "harassment", "scammer", "reported you".
    if REFUSAL_PHRASES.iter().any(|p| joined.contains(p)) {
        return Intent::PossibleOptOut;
    }
    Intent::None
}

/// Upper-cased, with surrounding whitespace and punctuation removed and inner spaces single.
fn normalise(text: &str) -> String {
    text.trim_matches(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '-'))
        .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Lower-case words (letters, digits and apostrophes), so "STOP!!", "don't" and "Opt-Out" read
/// as `stop`, `don't`, `opt out`; "nonstop" and "stopping" stay whole words that do not count.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .map(|w| w.replace('’', "'").to_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: Intent = Intent::OptOut;
    const MAYBE: Intent = Intent::PossibleOptOut;
    const NONE: Intent = Intent::None;

    /// Real-looking replies and the decision for each (`us`: from a North American number).
    /// Where a reply is ambiguous the decision prefers a false opt-out to a missed one, except
    /// for the everyday words (end, quit, cancel, remove) in a longer reply.
    #[test]
    fn replies_and_their_decisions() {
        let optin = Intent::OptIn {
            only_if_opted_out: false,
        };
        let yes = Intent::OptIn {
            only_if_opted_out: true,
        };
        let cases = [
            // The keywords, any case and punctuation, any country.
            ("STOP", true, OUT),
            ("stop", false, OUT),
            ("  Stop.  ", false, OUT),
            ("STOP!!!", false, OUT),
            ("unsubscribe", false, OUT),
            ("Opt-Out", false, OUT),
            ("opt out", false, OUT),
            ("optout", false, OUT),
            ("arret", false, OUT),
            ("td", false, OUT),
            ("End", false, OUT),
            ("Quit", false, OUT),
            ("revoke", false, OUT),
            ("cancel", false, OUT),
            ("stopall", false, OUT),
            ("Remove", false, OUT),
            // Typos of a whole reply.
            ("STPO", false, OUT),
            ("sotp", false, OUT),
            ("Stopp", false, OUT),
            ("unsubcribe", false, OUT),
            ("Unsuscribe", false, OUT),
            ("stop stop", false, OUT),
            ("Stop please", false, OUT),
            // Phrases, any country.
            ("Unsubscribe me", false, OUT),
            ("Please remove me from your list", false, OUT),
            ("remove my number", false, OUT),
            ("Take me off your list", false, OUT),
            ("take my number off this", false, OUT),
            ("No more texts please", false, OUT),
            ("no more messages", false, OUT),
            ("Do not text me again", false, OUT),
            ("dont text this number", false, OUT),
            ("Don’t text me", false, OUT),
            ("do not contact me", false, OUT),
            ("Stop texting me", false, OUT),
            ("please stop messaging me!", false, OUT),
            ("Wrong number", false, OUT),
            ("wrong person, I'm not Maria", false, OUT),
            ("opt me out", false, OUT),
            ("lose my number", false, OUT),
            ("never text me again", false, OUT),
            // The revocation words anywhere, for North American numbers.
            ("please stop texting me", true, OUT),
            ("STOP texting me", true, OUT),
            ("ok, stop.", true, OUT),
            ("I want to unsubscribe from this", true, OUT),
            ("I revoke my consent", true, OUT),
            // Decision: a false positive we accept ("stop by" is a visit, but we opt out).
            ("I'll stop by Saturday", true, OUT),
            ("Can you stop", true, OUT),
            // The everyday words opt out in a short reply only.
            ("cancel my appointment", true, OUT),
            ("end this", true, OUT),
            ("I quit", true, OUT),
            ("remove", true, OUT),
            (
                "Is the house at the end of the street still for sale?",
                true,
                NONE,
            ),
            (
                "I had to cancel the showing, can we do next week instead?",
                true,
                NONE,
            ),
            (
                "My wife wants to remove the old carpet before we list",
                true,
                NONE,
            ),
            // Outside North America only keywords and phrases count.
            ("I'll stop by Saturday", false, NONE),
            ("cancel my appointment", false, NONE),
            // Words that contain stop are not stop.
            ("nonstop fun", true, NONE),
            ("stopping by later", true, NONE),
            ("The bus stops right there", true, NONE),
            // Refusals that name no rule: held as possible opt-outs.
            ("who is this? leave me alone", true, MAYBE),
            ("Not interested", true, MAYBE),
            ("go away", false, MAYBE),
            ("How did you get my number?", true, MAYBE),
            ("This is spam", true, MAYBE),
            ("Reported as scam", true, MAYBE),
            ("this is harassment", true, MAYBE),
            // Opt-in, help and ordinary replies.
            ("START", true, optin),
            ("unstop", true, optin),
            ("Yes", true, yes),
            ("yes please", true, NONE),
            ("HELP", true, Intent::Help),
            ("info?", true, Intent::Help),
            ("Hi, is the house still available?", true, NONE),
            ("Who is this?", true, NONE),
            ("Sounds good, see you at 3", true, NONE),
            ("What's the asking price?", true, NONE),
            ("", true, NONE),
        ];
        assert!(cases.len() >= 60, "{} cases", cases.len());
        for (text, us, expect) in cases {
            assert_eq!(classify(text, us), expect, "{text:?} (us: {us})");
        }
    }
}
