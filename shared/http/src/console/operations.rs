//! Operations: webhook health (latest, history, run a check now), webhook events (recent and
//! failed ones, replay), reconciliation runs (run now, counts), and in sandbox mode the panel
//! that plays the OpenPhone side (its numbers, an inbound text from any contact).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::Value;
use trickle_app::health;
use trickle_app::reconcile::{self, StartRequest};
use trickle_app::webhooks::events::{self, EventFilter, EventStatus};
use trickle_domain::PhoneNumber;

use super::view::{count, text, When};
use super::{render, see_other, Chrome, ConsoleError, Form, PageResult, Signed};
use crate::{ApiError, AppState};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/operations", get(operations))
        .route("/operations/health-checks", post(run_health_check))
        .route("/operations/reconciliations", post(run_reconciliation))
        .route("/events/{id}/replay", post(replay))
        .route("/sandbox", get(sandbox))
        .route("/sandbox/inbound", post(sandbox_inbound))
}

struct CheckRow {
    started: When,
    status: String,
    latency: String,
    why: String,
}

struct EventRow {
    id: String,
    kind: String,
    status: String,
    received: Option<When>,
    error: String,
    failed: bool,
}

struct RunRow {
    started: When,
    status: String,
    trigger: String,
    checked: String,
    inserted: String,
    opt_outs: String,
}

#[derive(Template)]
#[template(path = "operations.html")]
struct OperationsPage {
    title: String,
    chrome: Chrome,
    health_status: String,
    health_configured: bool,
    failing_since: Option<When>,
    checks: Vec<CheckRow>,
    events: Vec<EventRow>,
    showing: String,
    reconcile_configured: bool,
    runs: Vec<RunRow>,
}

#[derive(Deserialize)]
struct OperationsQuery {
    events: Option<String>,
    notice: Option<String>,
}

async fn operations(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<OperationsQuery>,
) -> PageResult {
    let services = &state.services;
    let current = health::current(services, &crate::health::queue_names()).await?;
    let (history, _) = health::history(services, 10, None).await?;
    let showing = q.events.clone().unwrap_or_else(|| "failed".into());
    let status = EventStatus::ALL.into_iter().find(|s| s.as_str() == showing);
    let page = events::list(
        services,
        EventFilter {
            status,
            event_type: None,
            limit: 50,
            cursor: None,
        },
    )
    .await?;
    let (runs, _) = reconcile::list(services, 10, None).await?;
    Ok(render(OperationsPage {
        title: "Operations".into(),
        chrome: Chrome::new(&signed, "operations", state.sandbox.is_some(), q.notice),
        health_status: text(&current, "status"),
        health_configured: state.health.is_some(),
        failing_since: When::parse(current.get("failing_since")),
        checks: history
            .iter()
            .map(|c| CheckRow {
                started: When::of(c.started_at),
                status: serde_json::to_value(c.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                latency: c
                    .latency_ms
                    .map(|ms| format!("{ms} ms"))
                    .unwrap_or_else(|| "–".into()),
                why: c
                    .failure_reason
                    .clone()
                    .or_else(|| c.send_error.clone())
                    .unwrap_or_default(),
            })
            .collect(),
        events: page.items.iter().map(event_row).collect(),
        showing,
        reconcile_configured: state.reconcile.is_some(),
        runs: runs
            .iter()
            .map(|r| RunRow {
                started: When::of(r.started_at),
                status: serde_json::to_value(r.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                trigger: r.trigger.clone(),
                checked: count(r.counts.messages_checked + r.counts.calls_checked),
                inserted: count(r.counts.messages_inserted + r.counts.calls_inserted),
                opt_outs: count(r.counts.opt_outs_found),
            })
            .collect(),
    }))
}

fn event_row(item: &Value) -> EventRow {
    let status = text(item, "status");
    EventRow {
        id: text(item, "id"),
        kind: text(item, "type"),
        failed: status == "failed",
        status,
        received: When::parse(item.get("received_at")),
        error: text(item, "last_error"),
    }
}

async fn run_health_check(State(state): State<AppState>) -> PageResult {
    let Some(settings) = state.health.as_ref().as_ref() else {
        return Ok(see_other(
            "/operations",
            "The health check is not set up: set TRICKLE_HEALTH_SENDER and \
             TRICKLE_HEALTH_RECEIVER, then restart.",
        ));
    };
    let services = &state.services;
    health::start_check(services, services.sms.as_ref(), settings).await?;
    Ok(see_other(
        "/operations",
        "Health check sent; its verdict appears here within a few minutes.",
    ))
}

async fn run_reconciliation(State(state): State<AppState>) -> PageResult {
    let Some(settings) = state.reconcile.as_ref().as_ref() else {
        return Ok(see_other(
            "/operations",
            "Reconciliation is not set up: set TRICKLE_RECONCILE_NUMBERS (and an OpenPhone \
             API key), then restart.",
        ));
    };
    let request = StartRequest {
        since: None,
        trigger: Some("manual".into()),
    };
    reconcile::start(&state.services, settings, request).await?;
    Ok(see_other(
        "/operations",
        "Reconciliation started; its counts appear below as it works.",
    ))
}

async fn replay(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    events::replay(&state.services, &id).await?;
    Ok(see_other(
        "/operations?events=failed",
        "Event queued again; it is processed within seconds.",
    ))
}

#[derive(Template)]
#[template(path = "sandbox.html")]
struct SandboxPage {
    title: String,
    chrome: Chrome,
    numbers: Vec<String>,
    rule: String,
    from: String,
}

#[derive(Deserialize)]
struct SandboxQuery {
    from: Option<String>,
    notice: Option<String>,
}

async fn sandbox(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<SandboxQuery>,
) -> PageResult {
    let panel = state.sandbox.clone().ok_or_else(not_sandbox)?;
    Ok(render(SandboxPage {
        title: "Sandbox".into(),
        chrome: Chrome::new(&signed, "sandbox", true, q.notice),
        numbers: panel.sending_numbers(),
        rule: panel.line_type_rule(),
        from: q.from.unwrap_or_default(),
    }))
}

fn not_sandbox() -> ConsoleError {
    ApiError::NotFound(
        "the sandbox panel exists only in sandbox mode (trickle dev without an OpenPhone key)"
            .into(),
    )
    .into()
}

async fn sandbox_inbound(
    State(state): State<AppState>,
    form: Form,
) -> Result<Response, ConsoleError> {
    let panel = state.sandbox.clone().ok_or_else(not_sandbox)?;
    let from = match PhoneNumber::parse(form.get("from").unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => {
            return Ok(see_other(
                "/sandbox",
                &format!("Not sent: the number: {e}."),
            ))
        }
    };
    let text = form.get("text").unwrap_or_default().trim().to_string();
    if text.is_empty() {
        return Ok(see_other(
            "/sandbox",
            "Not sent: type the text the contact sends.",
        ));
    }
    let notice = match panel.inbound_text(from.as_str(), &text).await {
        Ok(()) => format!("Delivered “{text}” from {from} to trickle's webhook."),
        Err(e) => format!("The simulator did not deliver it: {e}"),
    };
    Ok(see_other(
        &format!("/sandbox?from={}", super::encode(from.as_str())),
        &notice,
    ))
}
