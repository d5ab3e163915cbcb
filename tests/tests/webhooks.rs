//! OpenPhone webhooks end to end over real HTTP: the simulator signs and delivers, the router
//! captures, the `events`/`media` consumers process, the admin API shows the outcome.

use bytes::Bytes;
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use trickle_app::webhooks::{keys, replies};
use trickle_domain::webhook_signature::{sign_legacy, sign_standard, SigningKey};
use trickle_sandbox::openphone::{CallScript, Delivery, Format, InboundMedia, Shape};
use trickle_tests::webhooks::{eventually, Options, WebhookApp, BUSINESS, MAX_ATTEMPTS};

const ALICE: &str = "+12125550134";

fn jpeg() -> InboundMedia {
    InboundMedia {
        bytes: Bytes::from_static(b"\xff\xd8\xff\xe0 not really a jpeg \x00\x01\x02"),
        content_type: "image/jpeg".into(),
    }
}

fn audio(tag: &str) -> InboundMedia {
    InboundMedia {
        bytes: Bytes::from(format!("ID3 audio bytes of {tag}").into_bytes()),
        content_type: "audio/mpeg".into(),
    }
}

fn id(event: &Value) -> &str {
    event["id"].as_str().unwrap()
}

async fn post_raw(app: &WebhookApp, headers: &[(&str, String)], body: Vec<u8>) -> (u16, Value) {
    let mut request = app.http.post(app.webhook_url()).body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_refusal_case_is_a_json_error_and_nothing_is_stored() {
    let app = WebhookApp::start().await;
    let key = app.simulator.signing_key().clone();
    let other = SigningKey::from_bytes(b"someone else".to_vec());
    let body =
        serde_json::to_vec(&app.simulator.inbound_event(Shape::V3, ALICE, "hi", &[])).unwrap();
    let now = Utc::now();
    let stale = now - chrono::Duration::minutes(6);
    let (std_ts, std_sig) = sign_standard(&key, "msg_1", now, &body);
    let (_, std_wrong) = sign_standard(&other, "msg_1", now, &body);
    let (old_ts, old_sig) = sign_standard(&key, "msg_1", stale, &body);
    // A thousand forged entries ahead of a genuine one: refused by count, before any MAC.
    let flood = {
        let mut entries = vec![sign_legacy(&other, now, &body); 999];
        entries.push(sign_legacy(&key, now, &body));
        entries.join(",")
    };
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("missing header", vec![]),
        ("a thousand entries", vec![("openphone-signature", flood)]),
        (
            "malformed legacy",
            vec![("openphone-signature", "hmac;1;abc".into())],
        ),
        (
            "legacy, not base64",
            vec![(
                "openphone-signature",
                format!("hmac;1;{};***", now.timestamp_millis()),
            )],
        ),
        (
            "legacy, wrong key",
            vec![("openphone-signature", sign_legacy(&other, now, &body))],
        ),
        (
            "legacy, other body",
            vec![("openphone-signature", sign_legacy(&key, now, b"{}"))],
        ),
        (
            "legacy, stale",
            vec![("openphone-signature", sign_legacy(&key, stale, &body))],
        ),
        (
            "legacy, from the future",
            vec![(
                "openphone-signature",
                sign_legacy(&key, now + chrono::Duration::minutes(6), &body),
            )],
        ),
        (
            "standard, incomplete",
            vec![
                ("webhook-id", "msg_1".into()),
                ("webhook-signature", std_sig.clone()),
            ],
        ),
        (
            "standard, wrong key",
            vec![
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", std_ts.clone()),
                ("webhook-signature", std_wrong),
            ],
        ),
        (
            "standard, other id",
            vec![
                ("webhook-id", "msg_2".into()),
                ("webhook-timestamp", std_ts.clone()),
                ("webhook-signature", std_sig.clone()),
            ],
        ),
        (
            "standard, stale",
            vec![
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", old_ts),
                ("webhook-signature", old_sig),
            ],
        ),
    ];
    for (name, headers) in cases {
        let (status, answer) = post_raw(&app, &headers, body.clone()).await;
        assert_eq!(status, 401, "{name}: {answer}");
        assert_eq!(answer["error"]["code"], "unauthorized", "{name}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{name}"
        );
    }
    let (_, events) = app.get("/v1/events").await;
    assert_eq!(
        events["items"],
        json!([]),
        "a refused delivery is not stored"
    );

    // Over 1 MiB: 413, signed or not.
    let mut huge = b"{\"pad\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 1024 * 1024));
    huge.extend(b"\"}");
    let signed = sign_legacy(&key, now, &huge);
    let (status, answer) = post_raw(&app, &[("openphone-signature", signed)], huge).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"]["code"], "payload_too_large");

    // Verified but not JSON: 400, and kept for inspection.
    let garbage = b"this is not json".to_vec();
    let signed = sign_legacy(&key, now, &garbage);
    let (status, answer) = post_raw(&app, &[("openphone-signature", signed)], garbage).await;
    assert_eq!(status, 400, "{answer}");
    let (_, failed) = app.get("/v1/events?status=failed").await;
    assert_eq!(failed["items"].as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed["items"][0]["body"], "this is not json");

    // A verified event of a type nobody handles: stored as ignored, answered 200.
    let unknown = json!({"id": "EVunknown1", "object": "event", "type": "call.answered",
        "apiVersion": "v4", "data": {"object": {"id": "AC1"}}});
    let statuses = app
        .simulator
        .deliver(&unknown, Delivery::once(Format::Standard))
        .await;
    assert_eq!(statuses, vec![200]);
    let (_, ignored) = app
        .get("/v1/events?status=ignored&type=call.answered")
        .await;
    assert_eq!(
        ignored["items"][0]["id"], "msg_unknown1",
        "keyed by webhook-id: {ignored}"
    );
    assert_eq!(ignored["items"][0]["payload"]["id"], "EVunknown1");
    assert_eq!(ignored["items"][0]["attempts"], 0);
    let (status, _) = app
        .send(Method::POST, "/v1/events/msg_unknown1/replay", None)
        .await;
    assert_eq!(status, 200);
    eventually("replayed unknown event ignored again", || async {
        let event = app.event("msg_unknown1").await;
        event["status"] == "ignored" && event["attempts"] == 1
    })
    .await;
}

#[tokio::test]
async fn a_previous_key_is_accepted_during_rotation() {
    let app = WebhookApp::start().await;
    // The router holds only the simulator's key; a second app with [new, old] accepts both.
    let body =
        serde_json::to_vec(&app.simulator.inbound_event(Shape::V3, ALICE, "hi", &[])).unwrap();
    let other = SigningKey::from_bytes(b"the next key".to_vec());
    let (status, _) = post_raw(
        &app,
        &[(
            "openphone-signature",
            sign_legacy(&other, Utc::now(), &body),
        )],
        body.clone(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, answer) = post_raw(
        &app,
        &[(
            "openphone-signature",
            sign_legacy(app.simulator.signing_key(), Utc::now(), &body),
        )],
        body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn inbound_messages_of_every_shape_become_activities_with_their_media_copied() {
    let app = WebhookApp::start().await;
    let cases = [
        (Shape::V3, Format::Legacy, "+12125550101"),
        (Shape::V3, Format::Standard, "+12125550102"),
        (Shape::V4, Format::Legacy, "+12125550103"),
        (Shape::V4, Format::Standard, "+12125550104"),
    ];
    for (shape, format, from) in cases {
        let media = [jpeg(), audio(from)];
        let event = app.simulator.inbound_event(
            shape,
            from,
            "Is the house on Elm St still available?",
            &media,
        );
        assert_eq!(
            app.simulator.deliver(&event, Delivery::once(format)).await,
            vec![200]
        );
        // Standard Webhooks deduplicate on webhook-id, which the simulator derives from the id.
        let stored_id = match format {
            Format::Legacy => id(&event).to_string(),
            Format::Standard => format!("msg_{}", id(&event).trim_start_matches("EV")),
        };
        app.processed(&[&stored_id]).await;
        let contact = app.contact_id(from).await;
        let activities = app.activities(&contact).await;
        assert_eq!(activities.len(), 1, "{shape:?}: {activities:?}");
        let activity = &activities[0];
        assert_eq!(activity["kind"], "message");
        assert_eq!(activity["direction"], "incoming");
        assert_eq!(activity["text"], "Is the house on Elm St still available?");
        assert_eq!(activity["provider_id"], event["data"]["object"]["id"]);
        assert_eq!(
            activity["conversation_id"],
            event["data"]["object"]["conversationId"]
        );
        let entries = activity["media"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        for (n, (entry, original)) in entries.iter().zip(media.iter()).enumerate() {
            assert_eq!(entry["url"], event["data"]["object"]["media"][n]["url"]);
            let blob_key = entry["blob_key"].as_str().unwrap().to_string();
            assert!(blob_key.starts_with("media/"), "{blob_key}");
            let slot = format!("stored_media_{n}");
            eventually("media copied", || async {
                app.activities(&contact).await[0][&slot]["blob_key"] == json!(blob_key)
            })
            .await;
            let stored = app.services.blobs.get(&blob_key).await.unwrap().unwrap();
            assert_eq!(stored, original.bytes, "{shape:?} media {n}");
        }
    }
}

#[tokio::test]
async fn a_duplicate_delivered_three_times_is_processed_once() {
    let app = WebhookApp::start().await;
    for format in [Format::Legacy, Format::Standard] {
        let from = if format == Format::Legacy {
            "+12125550111"
        } else {
            "+12125550112"
        };
        let event = app
            .simulator
            .inbound_event(Shape::V3, from, "hello", &[jpeg()]);
        let statuses = app
            .simulator
            .deliver(&event, Delivery { format, copies: 3 })
            .await;
        assert_eq!(statuses, vec![200, 200, 200]);
        let (_, all) = app.get("/v1/events?type=message.received").await;
        let stored_id = match format {
            Format::Legacy => id(&event).to_string(),
            Format::Standard => format!("msg_{}", id(&event).trim_start_matches("EV")),
        };
        app.processed(&[&stored_id]).await;
        let matching = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["id"] == json!(stored_id))
            .count();
        assert_eq!(matching, 1, "{all}");
        let event_view = app.event(&stored_id).await;
        assert_eq!(event_view["attempts"], 1, "{event_view}");
        let contact = app.contact_id(from).await;
        assert_eq!(app.activities(&contact).await.len(), 1);
    }
}

#[tokio::test]
async fn a_captured_event_expires_after_the_retention_period() {
    let app = WebhookApp::start().await;
    let event = app
        .simulator
        .inbound_event(Shape::V3, "+12125550113", "keep me 90 days", &[]);
    app.simulator
        .deliver(&event, Delivery::once(Format::Legacy))
        .await;
    app.processed(&[id(&event)]).await;
    let stored = app
        .services
        .table
        .get(&keys::event(id(&event)))
        .await
        .unwrap()
        .unwrap();
    // It holds a phone number and a message: the table's TTL (real time) deletes it after 90 days.
    let expires = stored["expires_at"].as_i64().expect("an expiry");
    let ninety_days = (Utc::now() + chrono::Duration::days(90)).timestamp();
    assert!(
        (expires - ninety_days).abs() < 120,
        "{expires} vs {ninety_days}"
    );
}

#[tokio::test]
async fn delivery_reports_mark_the_outbound_message() {
    let app = WebhookApp::start().await;
    for shape in [Shape::V3, Shape::V4] {
        let sent = app
            .services
            .sms
            .send(&trickle_app::ports::OutboundSms {
                from: app.simulator.phone_number().into(),
                to: ALICE.parse().unwrap(),
                content: "Open house on Sunday".into(),
            })
            .await
            .unwrap();
        let message = app
            .simulator
            .sent_messages()
            .into_iter()
            .find(|m| m["id"] == json!(sent.id))
            .unwrap();
        let event = app.simulator.delivered_event(shape, &message);
        // Twice: the second report changes nothing.
        app.simulator
            .deliver(
                &event,
                Delivery {
                    format: Format::Legacy,
                    copies: 1,
                },
            )
            .await;
        app.processed(&[id(&event)]).await;
        let contact = app.contact_id(ALICE).await;
        let activities = app.activities(&contact).await;
        let activity = activities
            .iter()
            .find(|a| a["provider_id"] == json!(sent.id))
            .unwrap();
        assert_eq!(activity["direction"], "outgoing");
        assert_eq!(activity["status"], "delivered");
        assert_eq!(activity["text"], "Open house on Sunday");
        assert!(activity["delivered_at"].is_string());
    }
}

/// The parts of a call record that must not depend on delivery order.
fn call_view(activity: &Value) -> Value {
    let blob_stored = |slot: &str| activity[format!("stored_{slot}")]["blob_key"].is_string();
    json!({
        "kind": activity["kind"],
        "status": activity["status"],
        "answered": activity["answered"],
        "duration": activity["duration"],
        "direction": activity["direction"],
        "recordings": activity["recordings"].as_array().map(|r| r.len()),
        "recording_stored": blob_stored("recording_0"),
        "voicemail": activity["voicemail"]["duration"],
        "voicemail_stored": blob_stored("voicemail"),
        "transcript": activity["transcript"].as_array().map(|d| d.iter().map(|l| l["content"].clone()).collect::<Vec<_>>()),
        "summary": activity["summary"],
        "next_steps": activity["next_steps"],
        "has_completed_at": activity["completed_at"].is_string(),
    })
}

#[tokio::test]
async fn call_artefacts_end_in_the_same_record_whatever_the_order() {
    let app = WebhookApp::start().await;
    let script = |from: &str| CallScript {
        from: from.into(),
        answered: true,
        duration: 95,
        recording: Some(audio(from)),
        voicemail: None,
        voicemail_transcript: None,
        transcript: vec![
            ("agent".into(), "Hello, Acme Realty".into()),
            ("caller".into(), "Hi, about Elm St".into()),
        ],
        summary: vec!["Caller asked about Elm St".into()],
        next_steps: vec!["Send the listing".into()],
    };
    let mut views = Vec::new();
    for (n, (shape, order)) in [
        (Shape::V3, vec![0, 1, 2, 3, 4]),
        (Shape::V3, vec![4, 3, 2, 1, 0]),
        (Shape::V4, vec![2, 4, 3, 0, 1]),
        (Shape::V4, vec![3, 3, 4, 1, 2, 0, 4]),
    ]
    .into_iter()
    .enumerate()
    {
        let from = format!("+1212555020{n}");
        let events = app.simulator.call_events(shape, &script(&from));
        assert_eq!(events.len(), 5);
        for i in &order {
            assert_eq!(
                app.simulator
                    .deliver(&events[*i], Delivery::once(Format::Legacy))
                    .await,
                vec![200]
            );
        }
        let ids: Vec<&str> = events.iter().map(id).collect();
        app.processed(&ids).await;
        let contact = app.contact_id(&from).await;
        eventually("recording copied", || async {
            app.activities(&contact).await[0]["stored_recording_0"]["blob_key"].is_string()
        })
        .await;
        let activities = app.activities(&contact).await;
        assert_eq!(activities.len(), 1, "one record per call: {activities:?}");
        let key = activities[0]["stored_recording_0"]["blob_key"]
            .as_str()
            .unwrap();
        assert_eq!(
            app.services.blobs.get(key).await.unwrap().unwrap(),
            audio(&from).bytes
        );
        views.push(call_view(&activities[0]));
    }
    assert_eq!(views[0]["kind"], "call");
    assert_eq!(views[0]["status"], "completed");
    assert_eq!(
        views[0]["transcript"],
        json!(["Hello, Acme Realty", "Hi, about Elm St"])
    );
    assert_eq!(views[0]["summary"], json!(["Caller asked about Elm St"]));
    assert_eq!(views[1], views[0], "reversed order");
    for view in &views[3..] {
        assert_eq!(view, &views[2], "v4 in another order, with duplicates");
    }
}

#[tokio::test]
async fn an_unanswered_call_is_a_missed_call_with_its_voicemail_copied() {
    let app = WebhookApp::start().await;
    for (n, shape) in [Shape::V3, Shape::V4].into_iter().enumerate() {
        let from = format!("+1212555030{n}");
        let events = app.simulator.call_events(
            shape,
            &CallScript {
                from: from.clone(),
                voicemail: Some(audio("voicemail")),
                voicemail_transcript: Some("Hi, it's Dana about the Elm St listing".into()),
                ..CallScript::default()
            },
        );
        for event in &events {
            app.simulator
                .deliver(event, Delivery::once(Format::Legacy))
                .await;
        }
        let ids: Vec<&str> = events.iter().map(id).collect();
        app.processed(&ids).await;
        let contact = app.contact_id(&from).await;
        eventually("voicemail copied", || async {
            app.activities(&contact)
                .await
                .first()
                .is_some_and(|a| a["stored_voicemail"]["blob_key"].is_string())
        })
        .await;
        eventually("voicemail transcript kept", || async {
            app.activities(&contact)
                .await
                .first()
                .is_some_and(|a| a["voicemail_transcript"].is_string())
        })
        .await;
        let activity = &app.activities(&contact).await[0];
        assert_eq!(activity["kind"], "missed_call", "{activity}");
        assert_eq!(
            activity["voicemail_transcript"],
            "Hi, it's Dana about the Elm St listing"
        );
        assert_eq!(activity["answered"], false);
        assert_eq!(
            activity["voicemail"]["url"],
            events[1]["data"]["object"]["voicemail"]["url"]
        );
        let key = activity["voicemail"]["blob_key"].as_str().unwrap();
        assert_eq!(
            app.services.blobs.get(key).await.unwrap().unwrap(),
            audio("voicemail").bytes
        );
    }
}

/// The new webhook system (2026-03-30) has no `call.completed` for a missed call: it sends
/// `call.missed`, then the voicemail in `call.voicemail.completed`. Either order ends in one
/// missed-call activity with its voicemail copied and its transcript kept.
#[tokio::test]
async fn a_missed_call_from_the_new_webhook_system_keeps_its_voicemail_and_transcript() {
    let app = WebhookApp::start().await;
    for (n, voicemail_first) in [false, true].into_iter().enumerate() {
        let from = format!("+1212555031{n}");
        let mut events = app.simulator.missed_call_events_2026(&CallScript {
            from: from.clone(),
            voicemail: Some(audio("voicemail")),
            voicemail_transcript: Some("Call me back about the open house".into()),
            ..CallScript::default()
        });
        assert_eq!(events.len(), 2);
        if voicemail_first {
            events.reverse();
        }
        for event in &events {
            let statuses = app
                .simulator
                .deliver(event, Delivery::once(Format::Standard))
                .await;
            assert_eq!(statuses, vec![200]);
        }
        // The new system's events are keyed by their webhook-id.
        let keys: Vec<String> = events
            .iter()
            .map(|e| format!("msg_{}", id(e).trim_start_matches("EV")))
            .collect();
        app.processed(&keys.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        let contact = app.contact_id(&from).await;
        eventually("voicemail copied", || async {
            app.activities(&contact)
                .await
                .first()
                .is_some_and(|a| a["stored_voicemail"]["blob_key"].is_string())
        })
        .await;
        let activities = app.activities(&contact).await;
        assert_eq!(activities.len(), 1, "{activities:?}");
        let activity = &activities[0];
        assert_eq!(activity["kind"], "missed_call", "{activity}");
        assert_eq!(activity["answered"], false);
        assert_eq!(
            activity["voicemail_transcript"], "Call me back about the open house",
            "{activity}"
        );
        let key = activity["voicemail"]["blob_key"].as_str().unwrap();
        assert_eq!(
            app.services.blobs.get(key).await.unwrap().unwrap(),
            audio("voicemail").bytes
        );
    }
}

#[tokio::test]
async fn contact_events_are_stored_and_processed_without_touching_contacts() {
    let app = WebhookApp::start().await;
    for event_type in ["contact.updated", "contact.deleted"] {
        let event = json!({"id": format!("EV{event_type}"), "object": "event", "apiVersion": "v3",
            "createdAt": "2026-01-01T00:00:00.000Z", "type": event_type,
            "data": {"object": {"id": "CT1", "firstName": "Mallory", "phoneNumbers": [ALICE]}}});
        assert_eq!(
            app.simulator
                .deliver(&event, Delivery::once(Format::Legacy))
                .await,
            vec![200]
        );
        app.processed(&[id(&event)]).await;
    }
    let (_, found) = app.get("/v1/contacts?phone=%2B12125550134").await;
    assert_eq!(found["items"], json!([]));
}

fn confirmations(app: &WebhookApp, to: &str) -> Vec<String> {
    app.simulator
        .sent_messages()
        .into_iter()
        .filter(|m| m["to"][0] == json!(to))
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

async fn opt_out_state(app: &WebhookApp, phone: &str) -> Value {
    let (_, list) = app.get("/v1/opt-outs").await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["phone"] == json!(phone))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn stop_three_times_opts_out_once_with_one_audit_and_one_confirmation() {
    let app = WebhookApp::start().await;
    let stop = app.simulator.inbound_event(Shape::V3, ALICE, "STOP", &[]);
    assert_eq!(
        app.simulator
            .deliver(
                &stop,
                Delivery {
                    format: Format::Legacy,
                    copies: 3
                }
            )
            .await,
        vec![200, 200, 200]
    );
    app.processed(&[id(&stop)]).await;
    // The contact says it again, in other words.
    let again = app
        .simulator
        .inbound_event(Shape::V4, ALICE, "please stop texting me", &[]);
    app.simulator
        .deliver(
            &again,
            Delivery {
                format: Format::Standard,
                copies: 3,
            },
        )
        .await;
    app.processed(&[&format!("msg_{}", id(&again).trim_start_matches("EV"))])
        .await;

    let state = opt_out_state(&app, ALICE).await;
    assert_eq!(state["status"], "opted_out", "{state}");
    let audit = state["audit"].as_array().unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["text"], "STOP");
    assert_eq!(audit[0]["action"], "opt_out");
    assert_eq!(
        audit[0]["provider_message_id"],
        stop["data"]["object"]["id"]
    );
    let sent = confirmations(&app, ALICE);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].contains(BUSINESS) && sent[0].contains("no more messages"),
        "{}",
        sent[0]
    );
    let contact = app.contact_id(ALICE).await;
    let (_, profile) = app.get(&format!("/v1/contacts/{contact}")).await;
    assert_eq!(
        app.activities(&contact).await.len(),
        2,
        "both messages are on the timeline"
    );
    let _ = profile;
    let flagged = app
        .services
        .table
        .get(&trickle_app::records::contact(&contact))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(flagged["opted_out"], true);
}

#[tokio::test]
async fn start_resubscribes_yes_only_counts_when_opted_out_and_help_gets_the_help_reply() {
    let app = WebhookApp::start().await;
    let say = |text: &str| app.simulator.inbound_event(Shape::V3, ALICE, text, &[]);
    let yes = say("Yes");
    app.simulator
        .deliver(&yes, Delivery::once(Format::Legacy))
        .await;
    app.processed(&[id(&yes)]).await;
    assert_eq!(
        opt_out_state(&app, ALICE).await,
        Value::Null,
        "YES from a subscribed number is no opt-in record"
    );
    assert!(confirmations(&app, ALICE).is_empty());

    let help = say("HELP");
    app.simulator
        .deliver(
            &help,
            Delivery {
                format: Format::Legacy,
                copies: 2,
            },
        )
        .await;
    app.processed(&[id(&help)]).await;
    let sent = confirmations(&app, ALICE);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].contains(BUSINESS) && sent[0].contains("STOP"),
        "{}",
        sent[0]
    );

    for (text, status) in [
        ("stop", "opted_out"),
        ("START", "subscribed"),
        ("arret", "opted_out"),
        ("yes", "subscribed"),
    ] {
        let event = say(text);
        app.simulator
            .deliver(
                &event,
                Delivery {
                    format: Format::Legacy,
                    copies: 2,
                },
            )
            .await;
        app.processed(&[id(&event)]).await;
        assert_eq!(
            opt_out_state(&app, ALICE).await["status"],
            status,
            "after {text}"
        );
    }
    let state = opt_out_state(&app, ALICE).await;
    let actions: Vec<&str> = state["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["opt_out", "opt_in", "opt_out", "opt_in"]);
    let sent = confirmations(&app, ALICE);
    assert_eq!(sent.len(), 5, "help + one per change: {sent:?}");
    assert!(sent[2].contains("subscribed again"), "{}", sent[2]);
}

#[tokio::test]
async fn a_failing_event_is_retried_then_parked_then_replayed_to_success() {
    let app = WebhookApp::start().await;
    // The confirmation send is refused with 429 on every attempt.
    app.simulator.fail_next_sends(&[429; MAX_ATTEMPTS as usize]);
    let stop = app.simulator.inbound_event(Shape::V3, ALICE, "STOP", &[]);
    app.simulator
        .deliver(&stop, Delivery::once(Format::Legacy))
        .await;
    eventually("event parked", || async {
        app.event(id(&stop)).await["status"] == "failed"
    })
    .await;
    let parked = app.event(id(&stop)).await;
    assert_eq!(parked["attempts"], MAX_ATTEMPTS);
    assert!(
        parked["last_error"]
            .as_str()
            .unwrap()
            .contains("rate limited"),
        "{parked}"
    );
    assert!(confirmations(&app, ALICE).is_empty());
    let (_, failed) = app.get("/v1/events?status=failed").await;
    assert_eq!(failed["items"][0]["id"], json!(id(&stop)));
    assert_eq!(
        app.services.queue.depth("events-dlq").await.unwrap(),
        1,
        "parked in the DLQ"
    );
    // The opt-out itself took effect at the first attempt: only the confirmation was owed.
    assert_eq!(opt_out_state(&app, ALICE).await["status"], "opted_out");

    let (status, replayed) = app
        .send(
            Method::POST,
            &format!("/v1/events/{}/replay", id(&stop)),
            None,
        )
        .await;
    assert_eq!(status, 200, "{replayed}");
    app.processed(&[id(&stop)]).await;
    assert_eq!(confirmations(&app, ALICE).len(), 1);
    let done = app.event(id(&stop)).await;
    assert_eq!(
        done["attempts"], 1,
        "a replay starts a fresh budget: {done}"
    );
    assert!(done["last_error"].is_null());
    let (status, _) = app
        .send(Method::POST, "/v1/events/EVnope/replay", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn operators_opt_out_and_resubscribe_by_hand_with_an_audit() {
    let app = WebhookApp::start().await;
    let (status, state) = app
        .send(
            Method::POST,
            "/v1/opt-outs",
            Some(json!({"phone": "(212) 555-0134", "reason": "asked by phone"})),
        )
        .await;
    assert_eq!(status, 201, "{state}");
    assert_eq!(state["status"], "opted_out");
    assert_eq!(state["audit"][0]["actor"], "operator");
    let (status, _) = app
        .send(Method::POST, "/v1/opt-outs", Some(json!({"phone": ALICE})))
        .await;
    assert_eq!(status, 409, "already opted out");
    let (status, _) = app
        .send(Method::POST, "/v1/opt-outs", Some(json!({"phone": "nope"})))
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .send(Method::DELETE, "/v1/opt-outs/%2B12125550134", None)
        .await;
    assert_eq!(status, 400, "a reason is required");
    let (status, state) = app
        .send(
            Method::DELETE,
            "/v1/opt-outs/%2B12125550134?reason=consent%20renewed",
            None,
        )
        .await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["status"], "subscribed");
    assert_eq!(state["audit"][1]["reason"], "consent renewed");
    let (status, _) = app
        .send(
            Method::DELETE,
            "/v1/opt-outs/%2B12125550134?reason=again",
            None,
        )
        .await;
    assert_eq!(status, 409);
    assert!(
        app.simulator.sent_messages().is_empty(),
        "manual changes text nobody"
    );
}

#[tokio::test]
async fn an_inbound_reply_marks_the_contacts_campaign_sends_replied() {
    let app = WebhookApp::start().await;
    let hello = app
        .simulator
        .inbound_event(Shape::V3, ALICE, "first contact", &[]);
    app.simulator
        .deliver(&hello, Delivery::once(Format::Legacy))
        .await;
    app.processed(&[id(&hello)]).await;
    let contact = app.contact_id(ALICE).await;
    // What the campaign send path writes: the send and its reverse reference.
    for (campaign, hours_ago) in [("cmp_b", 1), ("cmp_a", 30)] {
        let send_key = keys::campaign_send(campaign, &contact);
        let mut send = trickle_app::ports::Item::new();
        send.insert("pk".into(), send_key.pk.into());
        send.insert("sk".into(), send_key.sk.into());
        send.insert("state".into(), "SENT".into());
        app.services.table.put(send, None).await.unwrap();
        replies::record_campaign_contact(
            &app.services,
            &contact,
            campaign,
            Utc::now() - chrono::Duration::hours(hours_ago),
        )
        .await
        .unwrap();
    }
    let reply = app
        .simulator
        .inbound_event(Shape::V4, ALICE, "Yes I'm interested", &[]);
    app.simulator
        .deliver(&reply, Delivery::once(Format::Legacy))
        .await;
    app.processed(&[id(&reply)]).await;
    for campaign in ["cmp_a", "cmp_b"] {
        let send = app
            .services
            .table
            .get(&keys::campaign_send(campaign, &contact))
            .await
            .unwrap()
            .unwrap();
        assert!(send["replied_at"].is_string(), "{campaign}: {send:?}");
    }
    // The opt-out audit names the campaign that reached the contact last.
    let stop = app.simulator.inbound_event(Shape::V3, ALICE, "STOP", &[]);
    app.simulator
        .deliver(&stop, Delivery::once(Format::Legacy))
        .await;
    app.processed(&[id(&stop)]).await;
    assert_eq!(
        opt_out_state(&app, ALICE).await["audit"][0]["campaign_id"],
        "cmp_b"
    );
}

#[tokio::test]
async fn the_forwarder_re_signs_events_to_the_developer_and_its_failures_do_not_touch_production() {
    let forwarding_key = SigningKey::from_bytes(b"forwarding key, not the provider's".to_vec());
    let developer = WebhookApp::start_with(Options {
        extra_keys: vec![forwarding_key.clone()],
        ..Options::default()
    })
    .await;
    let production = WebhookApp::start_with(Options {
        forward_to: Some((developer.webhook_url(), forwarding_key.clone())),
        ..Options::default()
    })
    .await;
    let event = production
        .simulator
        .inbound_event(Shape::V3, ALICE, "forward me", &[]);
    production
        .simulator
        .deliver(&event, Delivery::once(Format::Legacy))
        .await;
    production.processed(&[id(&event)]).await;
    developer.processed(&[id(&event)]).await;
    let contact = developer.contact_id(ALICE).await;
    assert_eq!(
        developer.activities(&contact).await[0]["text"],
        "forward me"
    );

    // A developer machine that is down: production processes as usual, the forward retries alone.
    let unreachable = WebhookApp::start_with(Options {
        forward_to: Some((
            "http://127.0.0.1:9/webhooks/openphone".into(),
            forwarding_key,
        )),
        ..Options::default()
    })
    .await;
    let event = unreachable
        .simulator
        .inbound_event(Shape::V4, ALICE, "still processed", &[]);
    assert_eq!(
        unreachable
            .simulator
            .deliver(&event, Delivery::once(Format::Legacy))
            .await,
        vec![200]
    );
    unreachable.processed(&[id(&event)]).await;
    eventually("the forward parked", || async {
        unreachable
            .services
            .queue
            .depth("forward-dlq")
            .await
            .unwrap()
            == 1
    })
    .await;
    assert_eq!(unreachable.event(id(&event)).await["status"], "processed");
}

#[tokio::test]
async fn an_ambiguous_confirmation_is_looked_up_before_any_resend() {
    let app = WebhookApp::start().await;
    // 599: the provider sent it but the answer was lost; the retry finds it and sends nothing.
    // 500: nothing was sent; the retry finds nothing and sends it once.
    for (n, failure) in [599u16, 500].into_iter().enumerate() {
        let phone = format!("+1212555040{n}");
        app.simulator.fail_next_sends(&[failure]);
        let stop = app.simulator.inbound_event(Shape::V3, &phone, "STOP", &[]);
        app.simulator
            .deliver(&stop, Delivery::once(Format::Legacy))
            .await;
        app.processed(&[id(&stop)]).await;
        let sent = confirmations(&app, &phone);
        assert_eq!(sent.len(), 1, "after {failure}: {sent:?}");
        let event = app.event(id(&stop)).await;
        assert_eq!(
            event["attempts"], 2,
            "one ambiguous try, one resolving retry: {event}"
        );
        let reply = app
            .services
            .table
            .get(&keys::auto_reply(
                &phone,
                stop["data"]["object"]["id"].as_str().unwrap(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reply["status"], "sent");
        let provider_id = app
            .simulator
            .sent_messages()
            .into_iter()
            .find(|m| m["to"][0] == json!(phone))
            .unwrap()["id"]
            .clone();
        assert_eq!(
            reply["result"], provider_id,
            "the record names the one message sent"
        );
    }
}

/// "Opt out" in words, and a refusal that names no keyword: both stop the texts; the second is
/// recorded as a possible opt-out so a person can re-subscribe it with a reason.
#[tokio::test]
async fn phrased_opt_outs_and_refusals_without_a_keyword_stop_the_texts() {
    let app = WebhookApp::start().await;
    let bob = "+12125550177";
    let phrased =
        app.simulator
            .inbound_event(Shape::V3, ALICE, "Please take me off your list", &[]);
    let refusal = app
        .simulator
        .inbound_event(Shape::V3, bob, "who is this? leave me alone", &[]);
    for event in [&phrased, &refusal] {
        app.simulator
            .deliver(event, Delivery::once(Format::Legacy))
            .await;
    }
    app.processed(&[id(&phrased), id(&refusal)]).await;

    let alice = opt_out_state(&app, ALICE).await;
    assert_eq!(alice["status"], "opted_out", "{alice}");
    let bob_state = opt_out_state(&app, bob).await;
    assert_eq!(bob_state["status"], "opted_out", "{bob_state}");
    let audit = bob_state["audit"].as_array().unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(
        audit[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("possible opt-out"),
        "{audit:?}"
    );
    assert_eq!(audit[0]["text"], "who is this? leave me alone");
}

/// STOP and START are applied by when the person said them, not by when they arrive: a START
/// written before a later STOP (reordered delivery, a retry, reconciliation replaying it a day
/// later) is recorded and changes nothing.
#[tokio::test]
async fn an_older_start_arriving_after_a_later_stop_changes_nothing() {
    let app = WebhookApp::start().await;
    let mut start = app.simulator.inbound_event(Shape::V3, ALICE, "START", &[]);
    let mut stop = app.simulator.inbound_event(Shape::V3, ALICE, "STOP", &[]);
    start["data"]["object"]["createdAt"] = json!("2026-03-01T10:00:00.000Z");
    stop["data"]["object"]["createdAt"] = json!("2026-03-01T10:05:00.000Z");
    // A STOP earlier still, so the START would re-subscribe if it were applied.
    let mut first = app.simulator.inbound_event(Shape::V3, ALICE, "STOP", &[]);
    first["data"]["object"]["createdAt"] = json!("2026-03-01T09:00:00.000Z");
    for event in [&first, &stop, &start] {
        app.simulator
            .deliver(event, Delivery::once(Format::Legacy))
            .await;
        app.processed(&[id(event)]).await;
    }
    let state = opt_out_state(&app, ALICE).await;
    assert_eq!(
        state["status"], "opted_out",
        "the later STOP stands: {state}"
    );
    let audit = state["audit"].as_array().unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|a| a["action"].as_str().unwrap_or_default())
        .collect();
    assert!(actions.contains(&"ignored"), "{audit:?}");
    assert!(!actions.contains(&"opt_in"), "{audit:?}");
    let ignored = audit.iter().find(|a| a["action"] == "ignored").unwrap();
    assert_eq!(ignored["text"], "START");
    assert!(ignored["reason"]
        .as_str()
        .unwrap()
        .contains("older message"));
}
