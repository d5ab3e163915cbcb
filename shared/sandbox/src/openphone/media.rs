//! What the simulator serves about a call and the files it hosts: the call artefacts
//! (`/v1/call-recordings`, `-transcripts`, `-summaries`, `-voicemails`) and the public media
//! URLs (`/media/{id}`) that webhooks and artefacts point at.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{api_error, not_found, CallArtefacts, InboundMedia, MediaFile, Shared};

impl Shared {
    /// Serves `media` at a new URL of this simulator; answers the URL.
    pub(super) fn host_media(&self, media: &InboundMedia) -> String {
        let id = format!("ME{}", uuid::Uuid::new_v4().simple());
        self.state.lock().unwrap().media.insert(
            id.clone(),
            MediaFile {
                bytes: media.bytes.clone(),
                content_type: media.content_type.clone(),
            },
        );
        format!("{}/media/{id}", self.base_url)
    }
}

/// Answers `{"data": pick(artefacts)}`, or 404 when there is no such call or `pick` finds none.
fn call_artefact(
    sim: &Shared,
    headers: &HeaderMap,
    call_id: &str,
    what: &str,
    pick: impl FnOnce(&CallArtefacts) -> Option<Value>,
) -> Response {
    if let Err(r) = sim.admit(headers) {
        return *r;
    }
    let state = sim.state.lock().unwrap();
    if !state.calls.iter().any(|c| c["id"] == call_id) {
        return not_found("Call not found");
    }
    let none = CallArtefacts::default();
    match pick(state.artefacts.get(call_id).unwrap_or(&none)) {
        Some(data) => Json(json!({ "data": data })).into_response(),
        None => not_found(&format!("{what} not found")),
    }
}

pub(super) async fn get_call_recordings(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    call_artefact(&sim, &headers, &id, "Recordings", |a| {
        Some(json!(a.recordings))
    })
}

pub(super) async fn get_call_transcript(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    call_artefact(&sim, &headers, &id, "Transcript", |a| a.transcript.clone())
}

pub(super) async fn get_call_summary(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    call_artefact(&sim, &headers, &id, "Summary", |a| a.summary.clone())
}

pub(super) async fn get_call_voicemail(
    State(sim): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    call_artefact(&sim, &headers, &id, "Voicemail", |a| a.voicemail.clone())
}

/// Media URLs are public (like the provider's CDN links): no key needed.
pub(super) async fn get_media(State(sim): State<Shared>, Path(id): Path<String>) -> Response {
    let state = sim.state.lock().unwrap();
    match state.media.get(&id) {
        Some(file) => (
            [("content-type", file.content_type.clone())],
            file.bytes.clone(),
        )
            .into_response(),
        None => api_error(404, "0206404", "Not Found", "Media not found"),
    }
}
