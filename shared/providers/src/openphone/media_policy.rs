//! Which media URLs the client downloads. A media URL arrives in a payload, so it is checked
//! before any request: the API's own origin, or an `https` host OpenPhone serves media from (a
//! setting); redirects only to those; a size cap; a content type that is media.

use bytes::Bytes;
use reqwest::Url;
use trickle_app::ports::SmsError;

/// Hosts (and their subdomains) media is fetched from unless `TRICKLE_MEDIA_HOSTS` says
/// otherwise.
pub const DEFAULT_MEDIA_HOSTS: [&str; 3] = ["openphone.com", "openphone.co", "quo.com"];
/// The largest file copied (an hour of call audio is about 30 MB).
pub const MAX_MEDIA_BYTES: u64 = 100 * 1024 * 1024;
/// Redirects followed at most, each to an allowed URL.
pub const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Clone)]
pub struct MediaPolicy {
    base: Url,
    hosts: Vec<String>,
}

impl MediaPolicy {
    pub fn new(base: &Url, hosts: &[String]) -> Self {
        Self {
            base: base.clone(),
            hosts: hosts
                .iter()
                .map(|h| h.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// The API's own origin (whatever its scheme: the simulator's is http), or an https URL
    /// whose host is a listed one or under it.
    pub fn allows(&self, url: &Url) -> bool {
        let same_origin = url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default();
        if same_origin {
            return true;
        }
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        url.scheme() == "https"
            && url.username().is_empty()
            && self
                .hosts
                .iter()
                .any(|h| host == *h || host.ends_with(&format!(".{h}")))
    }
}

/// Whether a response's content type is one a message or a call carries.
pub fn is_media_type(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else {
        return true; // not said: kept as bytes
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    ["image/", "audio/", "video/"]
        .iter()
        .any(|p| essence.starts_with(p))
        || matches!(
            essence.as_str(),
            "application/pdf" | "application/octet-stream" | "text/vcard" | "text/x-vcard"
        )
}

/// The body of a media response, if it is media and within the cap (counted as it streams: a
/// missing or false Content-Length cannot take more).
pub(super) async fn read_media(mut response: reqwest::Response) -> Result<Bytes, SmsError> {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if !is_media_type(content_type.as_deref()) {
        return Err(refused(format!(
            "the media URL answered {}, which is not a picture, audio, video or contact card",
            content_type.unwrap_or_default()
        )));
    }
    let too_large = || {
        refused(format!(
            "the media file is larger than {} MB",
            MAX_MEDIA_BYTES / 1_000_000
        ))
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_MEDIA_BYTES)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SmsError::Unavailable(format!("media download broke off: {e}")))?
    {
        if (body.len() + chunk.len()) as u64 > MAX_MEDIA_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// A media download refused for good (4xx-like: retrying changes nothing).
pub(super) fn refused(message: String) -> SmsError {
    SmsError::Rejected {
        status: 422,
        code: String::new(),
        message,
        a2p_unregistered: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_api_origin_and_listed_https_hosts() {
        let base = Url::parse("https://api.openphone.com/").unwrap();
        let hosts: Vec<String> = DEFAULT_MEDIA_HOSTS.iter().map(|h| h.to_string()).collect();
        let policy = MediaPolicy::new(&base, &hosts);
        for (url, allowed) in [
            ("https://api.openphone.com/v1/media/1", true),
            ("https://files.openphone.co/m/1.jpg", true),
            ("https://media.quo.com/x", true),
            ("http://files.openphone.co/m/1.jpg", false),
            ("https://openphone.co.evil.example/m.jpg", false),
            ("https://evilopenphone.com/m.jpg", false),
            ("https://169.254.169.254/latest/meta-data/", false),
            ("https://user@files.openphone.co/m.jpg", false),
            ("file:///etc/passwd", false),
        ] {
            assert_eq!(policy.allows(&Url::parse(url).unwrap()), allowed, "{url}");
        }
        // A local simulator on plain http is its own origin.
        let local = Url::parse("http://127.0.0.1:4010/").unwrap();
        let policy = MediaPolicy::new(&local, &[]);
        assert!(policy.allows(&Url::parse("http://127.0.0.1:4010/media/1").unwrap()));
        assert!(!policy.allows(&Url::parse("http://127.0.0.1:4011/media/1").unwrap()));
    }

    #[test]
    fn media_types() {
        for (ct, ok) in [
            (Some("image/jpeg"), true),
            (Some("audio/mpeg"), true),
            (Some("Video/MP4; codecs=avc1"), true),
            (Some("text/vcard"), true),
            (None, true),
            (Some("text/html; charset=utf-8"), false),
            (Some("application/json"), false),
        ] {
            assert_eq!(is_media_type(ct), ok, "{ct:?}");
        }
    }
}
