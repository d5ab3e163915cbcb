//! The OpenPhone client over real HTTP against the simulator (which follows the reference).

use std::time::Duration;

use trickle_app::ports::{MessageQuery, OutboundSms, SmsError, SmsProvider};
use trickle_providers::openphone::{OpenPhoneClient, OpenPhoneSettings};
use trickle_sandbox::openphone::{InboundMedia, OpenPhoneSimulator, SimulatorConfig};

async fn simulator(rate_limit: Option<u32>) -> OpenPhoneSimulator {
    OpenPhoneSimulator::start(SimulatorConfig {
        api_key: Some("the-key".into()),
        rate_limit,
        ..SimulatorConfig::default()
    })
    .await
    .unwrap()
}

fn client(sim: &OpenPhoneSimulator, key: &str) -> OpenPhoneClient {
    let mut settings = OpenPhoneSettings::new(sim.url(), key);
    settings.backoff = Duration::from_millis(5);
    OpenPhoneClient::new(settings).unwrap()
}

fn sms(sim: &OpenPhoneSimulator, to: &str, content: &str) -> OutboundSms {
    OutboundSms {
        from: sim.phone_number().into(),
        to: to.parse().unwrap(),
        content: content.into(),
    }
}

#[tokio::test]
async fn sends_lists_and_reads_back() {
    let sim = simulator(None).await;
    let client = client(&sim, "the-key");
    let sent = client
        .send(&sms(&sim, "+12125550134", "Hello from Acme"))
        .await
        .unwrap();
    assert!(sent.id.starts_with("AC"), "{sent:?}");
    assert_eq!(sent.to, vec!["+12125550134"]);
    assert_eq!(sent.text, "Hello from Acme");
    client
        .send(&sms(&sim, "+12125550199", "someone else"))
        .await
        .unwrap();
    let listed = client
        .list_messages(&MessageQuery {
            phone_number_id: "PNsimulator01".into(),
            participant: "+12125550134".parse().unwrap(),
            created_after: None,
            created_before: None,
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, sent.id);
}

#[tokio::test]
async fn refusals_are_typed_from_the_documented_error_body() {
    let sim = simulator(None).await;
    let wrong_key = client(&sim, "wrong");
    match wrong_key.send(&sms(&sim, "+12125550134", "hi")).await {
        Err(SmsError::Rejected { status: 401, .. }) => {}
        other => panic!("{other:?}"),
    }
    let client = client(&sim, "the-key");
    sim.fail_next_sends(&[400]);
    match client.send(&sms(&sim, "+12125550134", "hi")).await {
        Err(SmsError::Rejected {
            status: 400,
            a2p_unregistered: true,
            code,
            ..
        }) => {
            assert_eq!(code, "0206400")
        }
        other => panic!("{other:?}"),
    }
    let from_other_number = OutboundSms {
        from: "+19995550000".into(),
        ..sms(&sim, "+12125550134", "hi")
    };
    match client.send(&from_other_number).await {
        Err(SmsError::Rejected {
            status: 403,
            a2p_unregistered: false,
            message,
            ..
        }) => {
            assert!(message.contains("Not Phone Number User"))
        }
        other => panic!("{other:?}"),
    }
    match client.send(&sms(&sim, "+12125550134", "   ")).await {
        Err(SmsError::Rejected { status: 400, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(sim.sent_messages().is_empty());
}

#[tokio::test]
async fn a_send_that_may_have_happened_is_ambiguous_and_never_retried() {
    let sim = simulator(None).await;
    let client = client(&sim, "the-key");
    sim.fail_next_sends(&[500, 503]);
    match client.send(&sms(&sim, "+12125550134", "hi")).await {
        Err(SmsError::Ambiguous(_)) => {}
        other => panic!("{other:?}"),
    }
    // Exactly one failure was consumed: the POST was not retried behind our back.
    let next = client.send(&sms(&sim, "+12125550134", "hi")).await;
    assert!(matches!(next, Err(SmsError::Ambiguous(_))), "{next:?}");
    assert!(client.send(&sms(&sim, "+12125550134", "hi")).await.is_ok());
    // Nothing listening: the request never left, safe to retry.
    let dead = OpenPhoneClient::new(OpenPhoneSettings::new("http://127.0.0.1:9", "k")).unwrap();
    assert!(matches!(
        dead.send(&sms(&sim, "+12125550134", "hi")).await,
        Err(SmsError::Unavailable(_))
    ));
}

#[tokio::test]
async fn over_ten_requests_a_second_is_rate_limited_and_reads_back_off() {
    let sim = simulator(Some(10)).await;
    let client = client(&sim, "the-key");
    let mut limited = 0;
    let mut sent = 0;
    for n in 0..15 {
        match client
            .send(&sms(&sim, "+12125550134", &format!("n{n}")))
            .await
        {
            Ok(_) => sent += 1,
            Err(SmsError::RateLimited) => limited += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(sent, 10, "the limit is 10 per second per key");
    assert_eq!(limited, 5);
    // A read inside the same second is retried with backoff until the window opens.
    let mut slow = OpenPhoneSettings::new(sim.url(), "the-key");
    slow.backoff = Duration::from_millis(200);
    slow.read_attempts = 6;
    let reader = OpenPhoneClient::new(slow).unwrap();
    let listed = reader
        .list_messages(&MessageQuery {
            phone_number_id: "PNsimulator01".into(),
            participant: "+12125550134".parse().unwrap(),
            created_after: None,
            created_before: None,
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 10);
}

#[tokio::test]
async fn media_is_fetched_byte_for_byte_without_the_api_key() {
    let sim = simulator(None).await;
    let bytes = bytes::Bytes::from((0..=255u8).collect::<Vec<u8>>());
    let url = sim.host_media(&InboundMedia {
        bytes: bytes.clone(),
        content_type: "image/png".into(),
    });
    assert_eq!(
        client(&sim, "the-key").fetch_media(&url).await.unwrap(),
        bytes
    );
    match client(&sim, "the-key")
        .fetch_media(&format!("{}/media/MEnope", sim.url()))
        .await
    {
        Err(SmsError::Rejected { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client(&sim, "the-key")
            .fetch_media("file:///etc/passwd")
            .await,
        Err(SmsError::Rejected { .. })
    ));
}

#[tokio::test]
async fn the_accounts_own_numbers_are_listed_and_a_wrong_key_is_refused() {
    let sim = simulator(None).await;
    sim.add_internal_number("+13105550177");
    let numbers = client(&sim, "the-key").phone_numbers().await.unwrap();
    let numbers: Vec<(String, String)> = numbers
        .unwrap()
        .into_iter()
        .map(|n| (n.number, n.id))
        .collect();
    assert_eq!(
        numbers,
        vec![
            (sim.phone_number().to_string(), "PNsimulator01".to_string()),
            ("+13105550177".to_string(), "PNinternal00".to_string())
        ]
    );
    let refused = client(&sim, "wrong-key").phone_numbers().await;
    assert!(refused.is_err(), "{refused:?}");
}

/// OpenPhone documents `phoneNumberId` as the number's `PN…` id: a lookup by the number itself
/// is refused, as the real API refuses it, and one by id finds only that number's messages.
#[tokio::test]
async fn message_lookups_take_the_numbers_id_not_the_number() {
    let sim = simulator(None).await;
    let c = client(&sim, "the-key");
    let to = trickle_domain::PhoneNumber::parse("+12125550101").unwrap();
    c.send(&OutboundSms {
        from: sim.phone_number().to_string(),
        to: to.clone(),
        content: "Hello".into(),
    })
    .await
    .unwrap();
    let query = |id: &str| MessageQuery {
        phone_number_id: id.to_string(),
        participant: to.clone(),
        created_after: None,
        created_before: None,
    };
    let refused = c.list_messages(&query(sim.phone_number())).await;
    assert!(
        matches!(&refused, Err(SmsError::Rejected { status: 400, .. })),
        "{refused:?}"
    );
    let found = c.list_messages(&query("PNsimulator01")).await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(c
        .list_messages(&query("PNinternal07"))
        .await
        .unwrap()
        .is_empty());
}

/// Counts what passes it: the extra requests of one call.
#[derive(Default)]
struct CountingGate(std::sync::atomic::AtomicU64);

#[async_trait::async_trait]
impl trickle_app::ports::RequestGate for CountingGate {
    async fn admit(&self) -> Result<(), SmsError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// The simulator's thread with +1 212 555 0134, from its own number.
fn thread_with_0134() -> MessageQuery {
    MessageQuery {
        phone_number_id: "PNsimulator01".into(),
        participant: "+12125550134".parse().unwrap(),
        created_after: None,
        created_before: None,
    }
}

#[tokio::test]
async fn every_further_page_and_every_retry_of_a_read_takes_its_own_slot() {
    // Three pages (100 a page) of one thread.
    let sim = simulator(None).await;
    let client = client(&sim, "the-key");
    for n in 0..250 {
        client
            .send(&sms(&sim, "+12125550134", &format!("n{n}")))
            .await
            .unwrap();
    }
    let gate = std::sync::Arc::new(CountingGate::default());
    client.gate_extra_requests(gate.clone());
    let before = sim.request_stats().requests;
    let listed = client.list_messages(&thread_with_0134()).await.unwrap();
    assert_eq!(listed.len(), 250);
    let requests = sim.request_stats().requests - before;
    assert_eq!(requests, 3, "three pages");
    assert_eq!(
        gate.0.load(std::sync::atomic::Ordering::SeqCst),
        requests - 1,
        "the caller's slot covers the first request, the gate every other"
    );

    // A read refused with 429 inside a full second: each retry passes the gate too.
    let limited = simulator(Some(10)).await;
    let mut slow = OpenPhoneSettings::new(limited.url(), "the-key");
    slow.backoff = Duration::from_millis(200);
    slow.read_attempts = 6;
    let reader = OpenPhoneClient::new(slow).unwrap();
    for n in 0..10 {
        reader
            .send(&sms(&limited, "+12125550134", &format!("n{n}")))
            .await
            .unwrap();
    }
    let gate = std::sync::Arc::new(CountingGate::default());
    reader.gate_extra_requests(gate.clone());
    let before = limited.request_stats();
    reader.list_messages(&thread_with_0134()).await.unwrap();
    let after = limited.request_stats();
    let requests = after.requests - before.requests;
    assert!(after.rate_limited > before.rate_limited, "{after:?}");
    assert_eq!(
        gate.0.load(std::sync::atomic::Ordering::SeqCst),
        requests - 1
    );
}

/// A server the test controls on its own port: `/redirect` sends elsewhere, `/page` is HTML,
/// `/huge` streams 101 MiB without a length, `/ok` is a picture; every hit is counted.
async fn media_server(
    redirect_to: Option<String>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new()
        .route(
            "/redirect",
            axum::routing::get(move || {
                let to = redirect_to.clone().unwrap_or_default();
                async move { axum::response::Redirect::temporary(&to) }
            }),
        )
        .route(
            "/page",
            axum::routing::get(|| async {
                ([("content-type", "text/html")], "<html>login</html>").into_response()
            }),
        )
        .route(
            "/huge",
            axum::routing::get(|| async {
                let chunks = futures::stream::iter(
                    (0..101)
                        .map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![0u8; 1 << 20]))),
                );
                (
                    [("content-type", "audio/mpeg")],
                    axum::body::Body::from_stream(chunks),
                )
                    .into_response()
            }),
        )
        .route(
            "/ok",
            axum::routing::get(|| async {
                ([("content-type", "image/jpeg")], "jpeg").into_response()
            }),
        )
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move { next.run(request).await }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

fn refused_for_good(result: Result<bytes::Bytes, SmsError>) -> String {
    match result {
        Err(SmsError::Rejected {
            status, message, ..
        }) if (400..500).contains(&status) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn media_is_fetched_only_from_allowed_hosts_without_redirects_elsewhere_and_within_its_cap() {
    use std::sync::atomic::Ordering;
    let (elsewhere, elsewhere_hits) = media_server(None).await;
    let (api, _) = media_server(Some(format!("{elsewhere}/ok"))).await;
    let mut settings = OpenPhoneSettings::new(&api, "the-key");
    settings.read_attempts = 1;
    let client = OpenPhoneClient::new(settings).unwrap();
    // The API's own origin serves media.
    assert_eq!(
        client.fetch_media(&format!("{api}/ok")).await.unwrap(),
        "jpeg"
    );
    // Another origin, or an internal address: refused before any request.
    let message = refused_for_good(client.fetch_media(&format!("{elsewhere}/ok")).await);
    assert!(message.contains("TRICKLE_MEDIA_HOSTS"), "{message}");
    refused_for_good(
        client
            .fetch_media("http://169.254.169.254/latest/meta-data/")
            .await,
    );
    // A redirect from an allowed origin to another one is not followed.
    let message = refused_for_good(client.fetch_media(&format!("{api}/redirect")).await);
    assert!(message.contains("redirected"), "{message}");
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "nothing reached the other host"
    );
    // A page that is not media, and a file past the cap, are refused.
    let message = refused_for_good(client.fetch_media(&format!("{api}/page")).await);
    assert!(message.contains("text/html"), "{message}");
    let message = refused_for_good(client.fetch_media(&format!("{api}/huge")).await);
    assert!(message.contains("larger than"), "{message}");
}
