//! A campaign world that sends: the planner, the send worker and the OpenPhone client over real
//! HTTP against the simulator, with time moved by a `FixedClock`, and the checks every send
//! scenario ends with (each eligible contact got exactly one message, no one else any).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use trickle_app::campaigns::send_rules::SendSettings;
use trickle_app::campaigns::send_worker::{AlertSettings, SendLimits, SendWorker, Step};
use trickle_app::campaigns::{self, SendJob};
use trickle_app::ports::sms::{MessageQuery, OutboundSms, ProviderMessage, SmsError};
use trickle_app::ports::SmsProvider;
use trickle_app::queues;
use trickle_app::rate::budget::RateBudget;
use trickle_app::webhooks::ingest::IngestSettings;
use trickle_app::webhooks::process::EventProcessor;
use trickle_app::webhooks::settings::ProcessSettings;
use trickle_app::worker::MessageHandler;
use trickle_domain::campaign::{RawCampaign, RawSchedule};
use trickle_domain::{Contact, ListId};
use trickle_providers::openphone::{OpenPhoneClient, OpenPhoneSettings};
use trickle_sandbox::openphone::{Delivery, OpenPhoneSimulator, Shape, SimulatorConfig};

use crate::campaign_world::{utc, World};

/// Sends through the real provider, then never returns: the caller's future is dropped by a
/// timeout, which is what a kill between the provider's 202 and the record looks like.
pub struct DiesAfterTheProviderAccepts(pub Arc<dyn SmsProvider>);

#[async_trait::async_trait]
impl SmsProvider for DiesAfterTheProviderAccepts {
    async fn send(&self, message: &OutboundSms) -> Result<ProviderMessage, SmsError> {
        self.0.send(message).await?;
        std::future::pending().await
    }
    async fn list_messages(&self, query: &MessageQuery) -> Result<Vec<ProviderMessage>, SmsError> {
        self.0.list_messages(query).await
    }
    async fn fetch_media(&self, url: &str) -> Result<bytes::Bytes, SmsError> {
        self.0.fetch_media(url).await
    }
}

pub struct Scenario {
    pub world: World,
    pub simulator: OpenPhoneSimulator,
    pub worker: SendWorker,
}

/// `budget`: requests per second the send worker allows itself (the provider's is `rate_limit`).
pub async fn scenario(rate_limit: Option<u32>, budget: u32) -> Scenario {
    // Monday 2026-01-05, before the 10:00 New York send time.
    scenario_in(World::new(utc("2026-01-05T12:00:00Z")), rate_limit, budget).await
}

/// The same scenario in `world` (its table or queue on moto, say).
pub async fn scenario_in(mut world: World, rate_limit: Option<u32>, budget: u32) -> Scenario {
    let simulator = OpenPhoneSimulator::start(SimulatorConfig {
        rate_limit,
        ..SimulatorConfig::default()
    })
    .await
    .unwrap();
    let mut client = OpenPhoneSettings::new(simulator.url(), "test-key");
    client.backoff = StdDuration::from_millis(5);
    let sms: Arc<dyn SmsProvider> = Arc::new(OpenPhoneClient::new(client).unwrap());
    // Automatic replies (an opt-out's confirmation) go through the same provider.
    world.services.sms = sms.clone();
    let worker = SendWorker {
        services: world.services.clone(),
        sms,
        settings: SendSettings {
            lease: Duration::seconds(60),
            // Short, because the embedded queue's delays run in real time.
            settle: Duration::seconds(1),
            rate_limit_backoff: Duration::milliseconds(10),
            unavailable_retry: Duration::milliseconds(10),
            ..SendSettings::default()
        },
        limits: SendLimits {
            budget: RateBudget::for_api_key("test-key", budget),
            ..SendLimits::new("test-key")
        },
        alerts: AlertSettings {
            from: "alerts@trickle.test".into(),
            to: vec!["ops@example.com".into()],
        },
    };
    Scenario {
        world,
        simulator,
        worker,
    }
}

pub fn campaign(list: &ListId, sender: &str, per_run: u32) -> RawCampaign {
    RawCampaign {
        name: "Spring sellers".into(),
        message_a: "Hi {{first_name|there}}, thinking of selling this spring?".into(),
        list_id: list.to_string(),
        schedule: Some(RawSchedule {
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            send_time: "10:00".into(),
            time_zone: "America/New_York".into(),
        }),
        per_run,
        sender: sender.into(),
        business_name: Some("Acme Realty".into()),
        ..RawCampaign::default()
    }
}

impl Scenario {
    /// Works the `sends` queue until it is empty, moving the clock past the settle delay when
    /// sends wait on a lookup. Answers the steps taken.
    pub async fn work_sends(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        for _ in 0..200 {
            let jobs = self.world.drain_sends().await;
            if jobs.is_empty() {
                // Requeued jobs may carry a short real-time delay.
                tokio::time::sleep(StdDuration::from_millis(100)).await;
                if self.world.drain_sends_peek().await == 0 {
                    return steps;
                }
                continue;
            }
            for job in jobs {
                let job: SendJob = serde_json::from_value(job).unwrap();
                let step = self.worker.process(&job).await.unwrap();
                if matches!(step, Step::Unknown(_)) {
                    self.world.clock.advance(Duration::seconds(2));
                }
                steps.push(step);
            }
        }
        panic!("the sends queue never emptied: {steps:?}");
    }

    /// Texts from contacts (`(phone, text)`), delivered by the simulator to the webhook route
    /// and processed by the events worker on the same store; `default_business` is the
    /// deployment's business name, for replies to someone no campaign reached.
    pub async fn receive_replies(&self, replies: &[(&str, &str)], default_business: &str) {
        let events: Vec<serde_json::Value> = replies
            .iter()
            .map(|(phone, text)| self.simulator.inbound_event(Shape::V3, phone, text, &[]))
            .collect();
        self.receive_events(&events, default_business).await;
    }

    /// Webhook events, delivered by the simulator and processed as
    /// [`Scenario::receive_replies`] does.
    pub async fn receive_events(&self, events: &[serde_json::Value], default_business: &str) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = trickle_http::router_with_webhooks(
            self.world.services.clone(),
            trickle_http::HttpSettings {
                admin_token: "t".into(),
                health: None,
                reconcile: None,
                sandbox: None,
                budget: None,
            },
            IngestSettings::new(vec![self.simulator.signing_key().clone()]),
        );
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        self.simulator
            .set_webhook_url(format!("{url}/webhooks/openphone"));
        // Signatures are checked against the real time; the business clock comes back after.
        let business_now = self.world.now();
        self.world.clock.set(chrono::Utc::now());
        for event in events {
            let statuses = self.simulator.deliver(event, Delivery::default()).await;
            assert!(statuses.iter().all(|c| *c == 200), "{statuses:?}");
        }
        self.world.clock.set(business_now);
        let events = EventProcessor::new(
            self.world.services.clone(),
            ProcessSettings {
                business_name: default_business.into(),
                max_attempts: 3,
                budget: None,
            },
        );
        let queue = &self.world.services.queue;
        loop {
            let got = queue
                .receive(
                    queues::EVENTS,
                    10,
                    StdDuration::from_secs(30),
                    StdDuration::ZERO,
                )
                .await
                .unwrap();
            if got.is_empty() {
                break;
            }
            for m in got {
                events.handle(&m).await.unwrap();
                queue.delete(queues::EVENTS, &m.receipt).await.unwrap();
            }
        }
        server.abort();
    }

    /// Moves the clock to `at` (RFC 3339) and plans the campaigns due then.
    pub async fn plan_at(&self, at: &str) {
        self.world.clock.set(crate::campaign_world::utc(at));
        campaigns::plan_due_campaigns(&self.world.services, self.world.now())
            .await
            .unwrap();
    }

    /// `contacts` New York contacts on a completed list, and an active campaign (100 per run)
    /// sending to them from the simulator's number.
    pub async fn active_campaign(&self, contacts: u32) -> (Vec<Contact>, String) {
        let people = self.world.contacts(0, contacts).await;
        let id = self.active_campaign_to(&people, 100).await;
        (people, id)
    }

    /// An active campaign of `per_run` a run, sending to `people` (on a new completed list) from
    /// the simulator's number.
    pub async fn active_campaign_to(&self, people: &[Contact], per_run: u32) -> String {
        let ids: Vec<String> = people.iter().map(|c| c.id.to_string()).collect();
        let list = self.world.list(&ids, "completed").await;
        let sender = self.simulator.phone_number().to_string();
        let id = campaigns::create(&self.world.services, campaign(&list, &sender, per_run))
            .await
            .unwrap()
            .id
            .to_string();
        campaigns::activate(&self.world.services, &id)
            .await
            .unwrap();
        id
    }

    /// Campaign messages the provider holds, per recipient (an opt-out's confirmation is not one).
    pub fn sent_per_recipient(&self) -> BTreeMap<String, usize> {
        let mut per = BTreeMap::new();
        for m in self.simulator.sent_messages() {
            if !m["text"]
                .as_str()
                .unwrap_or("")
                .contains("thinking of selling")
            {
                continue;
            }
            *per.entry(m["to"][0].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        per
    }

    /// The worker's twin whose process dies right after the provider accepted a message: its
    /// future is dropped (as a killed process would stop) before anything is recorded.
    pub fn dying_worker(&self) -> SendWorker {
        SendWorker {
            sms: Arc::new(DiesAfterTheProviderAccepts(self.worker.sms.clone())),
            ..self.worker.clone()
        }
    }

    /// The review list: contact ids held there.
    pub async fn review_list(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .world
            .items("REVIEW", "")
            .await
            .iter()
            .filter_map(|i| i.get("contact_id")?.as_str().map(str::to_string))
            .collect();
        ids.sort();
        ids
    }

    pub fn assert_each_got_exactly_one(&self, eligible: &[Contact]) {
        let per = self.sent_per_recipient();
        let want: BTreeMap<String, usize> =
            eligible.iter().map(|c| (c.phone.to_string(), 1)).collect();
        assert_eq!(per.len(), want.len(), "recipients");
        assert_eq!(
            per, want,
            "every eligible contact exactly once, nobody else"
        );
    }
}
