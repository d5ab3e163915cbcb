//! What every page shares: the chrome around it (navigation, CSRF token, notice) and the
//! small formatting rules of the console (times, counts, states in plain words).

use chrono::{DateTime, Utc};

use super::Signed;

/// The frame of a signed-in page.
pub(crate) struct Chrome {
    pub csrf: String,
    /// Which navigation entry is current.
    pub nav: &'static str,
    pub sandbox: bool,
    /// A notice after a form (`?notice=`), shown once at the top.
    pub notice: Option<String>,
}

impl Chrome {
    pub fn new(signed: &Signed, nav: &'static str, sandbox: bool, notice: Option<String>) -> Self {
        Self {
            csrf: signed.csrf.clone(),
            nav,
            sandbox,
            notice: notice.map(|n| n.chars().take(300).collect()),
        }
    }

    pub fn current(&self, nav: &str) -> &'static str {
        if self.nav == nav {
            "page"
        } else {
            "false"
        }
    }
}

/// An instant, shown in UTC and turned into the browser's local time by the script.
#[derive(Clone)]
pub(crate) struct When {
    pub iso: String,
    pub text: String,
}

impl When {
    pub fn of(at: DateTime<Utc>) -> Self {
        Self {
            iso: at.to_rfc3339(),
            text: at.format("%a %b %-d, %H:%M UTC").to_string(),
        }
    }

    pub fn parse(value: Option<&serde_json::Value>) -> Option<Self> {
        let text = value?.as_str()?;
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| Self::of(t.with_timezone(&Utc)))
    }
}

/// `12,345`: the audience summary's own grouping, so the console and the import summary agree.
pub(crate) use trickle_app::audience::model::thousands as count;

/// `42%` of `part` in `whole` (0 when there is no whole).
pub(crate) fn percent(part: u64, whole: u64) -> u64 {
    (part * 100).checked_div(whole).map_or(0, |p| p.min(100))
}

/// A JSON field as text ("" when absent).
pub(crate) fn text(value: &serde_json::Value, field: &str) -> String {
    match value.get(field) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A rule's message as a sentence: capitalised, ending with a full stop.
pub(crate) fn sentence(message: &str) -> String {
    let mut sentence: String = message
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .chain(message.chars().skip(1))
        .collect();
    if !sentence.ends_with('.') {
        sentence.push('.');
    }
    sentence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_never_divides_by_zero_or_passes_100() {
        assert_eq!(percent(1, 0), 0);
        assert_eq!(percent(1, 4), 25);
        assert_eq!(percent(9, 4), 100);
    }
}
