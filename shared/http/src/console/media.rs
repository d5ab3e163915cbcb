//! A contact's media as the console shows it: MMS pictures, call recordings and voicemails,
//! served from the blob store where the `media` worker copied them (`media/<provider id>/<slot>`).
//!
//! The bytes come from outside (anyone can text a file), so only picture, sound and video types
//! on a short list are served inline, always with `nosniff` and a sandboxing CSP; anything else
//! downloads as an attachment and never renders on the console's origin.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/media/{provider}/{slot}", get(media))
}

/// Types shown inline; everything else is a download.
const INLINE: [&str; 11] = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "audio/mpeg",
    "audio/mp4",
    "audio/wav",
    "audio/x-wav",
    "audio/ogg",
    "audio/webm",
    "video/mp4",
];

#[derive(Deserialize)]
struct MediaQuery {
    #[serde(rename = "type")]
    content_type: Option<String>,
}

async fn media(
    State(state): State<AppState>,
    Path((provider, slot)): Path<(String, String)>,
    Query(q): Query<MediaQuery>,
) -> Response {
    let key = format!("media/{provider}/{slot}");
    let reader =
        match state.services.blobs.open(&key).await {
            Ok(Some(reader)) => reader,
            Ok(None) => return (
                StatusCode::NOT_FOUND,
                "This file has not been copied from OpenPhone yet; reload the page in a minute.",
            )
                .into_response(),
            Err(error) => {
                tracing::error!(%error, key, "media read failed");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The file could not be read just now; try again in a minute.",
                )
                    .into_response();
            }
        };
    let wanted = q.content_type.unwrap_or_default().to_lowercase();
    let inline = INLINE.contains(&wanted.as_str());
    let (content_type, disposition) = if inline {
        (wanted, "inline".to_string())
    } else {
        (
            "application/octet-stream".to_string(),
            format!("attachment; filename=\"{}\"", slot.replace('"', "")),
        )
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_string(),
            ),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(reader)),
    )
        .into_response()
}

/// One file of an activity, for the timeline: how to show it and where it is served.
pub(super) struct MediaView {
    /// `image`, `audio`, `video` or `file`.
    pub kind: &'static str,
    pub url: String,
    pub label: String,
}

/// The view of a stored media entry (`blob_key`, `type`), if it has a key.
pub(super) fn view(entry: &Value, label: &str) -> Option<MediaView> {
    let key = entry.get("blob_key").and_then(Value::as_str)?;
    let rest = key.strip_prefix("media/")?;
    let mut content_type = entry
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_lowercase();
    let mut kind = if !INLINE.contains(&content_type.as_str()) {
        "file"
    } else if content_type.starts_with("image/") {
        "image"
    } else if content_type.starts_with("audio/") {
        "audio"
    } else {
        "video"
    };
    // A call's recording or voicemail often comes without a type: it is sound.
    if content_type.is_empty() && label != "Attachment" {
        kind = "audio";
        content_type = "audio/mpeg".to_string();
    }
    let encode = |s: &str| super::encode(s);
    let url = match rest.split_once('/') {
        Some((provider, slot)) => format!(
            "/media/{}/{}?type={}",
            encode(provider),
            encode(slot),
            encode(&content_type)
        ),
        None => return None,
    };
    Some(MediaView {
        kind,
        url,
        label: label.to_string(),
    })
}
