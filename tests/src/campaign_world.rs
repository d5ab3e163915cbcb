//! A small world for campaign tests: embedded services on a `FixedClock`, and lists, members,
//! contacts, opt-outs, suppressions and activities written straight through the `Table` port in
//! the documented layout (until the audience and webhook issues provide their own use-cases).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use trickle_app::campaigns::keys;
use trickle_app::ports::table::{Key, Query, SortKeyCondition};
use trickle_app::queues;
use trickle_app::{contacts, Services};
use trickle_domain::{Contact, FixedClock, ListId, RawContact};

pub struct World {
    pub services: Services,
    pub clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
    _keep: Option<Box<dyn std::any::Any + Send + Sync>>,
}

/// A member of a seeded list: its contact and position.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub position: u64,
    pub contact: Contact,
}

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn item(key: Key, mut body: Value) -> trickle_app::ports::Item {
    let map = body.as_object_mut().expect("an object");
    map.insert("pk".into(), key.pk.into());
    map.insert("sk".into(), key.sk.into());
    map.clone()
}

impl World {
    pub fn new(at: DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = crate::fixtures::embedded_services(dir.path(), "http://127.0.0.1:9");
        let clock = Arc::new(FixedClock::new(at));
        let services = Services {
            clock: clock.clone(),
            ..base
        };
        Self {
            services,
            clock,
            _dir: dir,
            _keep: None,
        }
    }

    /// The same world with its table on DynamoDB (the moto emulator; needs `scripts/test`).
    pub async fn on_dynamo(at: DateTime<Utc>) -> Self {
        let mut world = World::new(at);
        let table = crate::fixtures::dynamo_table().await;
        world.services.table = table.port.clone();
        world._keep = Some(Box::new(table));
        world
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.services.clock.now()
    }

    /// `count` new contacts numbered from `first`, e.g. first name `Ann7`.
    pub async fn contacts(&self, first: u32, count: u32) -> Vec<Contact> {
        let mut out = Vec::new();
        for i in first..first + count {
            let raw = RawContact {
                phone: format!("+1212{:07}", 2_000_000 + i),
                first_name: Some(format!("Ann{i}")),
                last_name: Some("Lee".into()),
                ..RawContact::default()
            };
            out.push(contacts::create(&self.services, raw).await.unwrap());
        }
        out
    }

    /// A list holding `contact_ids` in order (an id that names no contact is an invalid member).
    pub async fn list(&self, contact_ids: &[String], status: &str) -> ListId {
        let id = ListId::new();
        let table = &self.services.table;
        let meta = json!({"name": "test list", "kind": "static", "status": status,
            "member_count": contact_ids.len()});
        table
            .put(item(keys::list_meta(id.as_str()), meta), None)
            .await
            .unwrap();
        for (position, contact_id) in contact_ids.iter().enumerate() {
            let key = Key::new(keys::list_pk(id.as_str()), keys::member_sk(position as u64));
            table
                .put(item(key, json!({"contact_id": contact_id})), None)
                .await
                .unwrap();
        }
        id
    }

    pub async fn opt_out(&self, contact: &Contact) {
        let body = json!({"status": "opted_out", "updated_at": "2025-12-01T00:00:00.000Z",
            "contact_id": contact.id});
        self.services
            .table
            .put(item(keys::opt_out(contact.phone.as_str()), body), None)
            .await
            .unwrap();
    }

    pub async fn suppress(&self, contact: &Contact) {
        let body = json!({"list_id": "ls_x", "added_at": "2025-12-01T00:00:00.000Z"});
        self.services
            .table
            .put(item(keys::suppression(contact.phone.as_str()), body), None)
            .await
            .unwrap();
    }

    /// A message exchanged with the contact at `at`, caused by `campaign_id` if given.
    pub async fn activity(&self, contact: &Contact, at: DateTime<Utc>, campaign_id: Option<&str>) {
        let provider_id = format!("AC{}", uuid::Uuid::new_v4().simple());
        let key = Key::new(
            keys::contact_pk(contact.id.as_str()),
            format!("ACT#{}#{provider_id}", keys::time_key(at)),
        );
        let mut body = json!({"kind": "message", "direction": "incoming", "provider_id": provider_id,
            "source": "webhook"});
        if let Some(c) = campaign_id {
            body["campaign_id"] = c.into();
        }
        self.services
            .table
            .put(item(key, body), None)
            .await
            .unwrap();
    }

    /// Every message waiting on the `sends` queue (received and deleted).
    pub async fn drain_sends(&self) -> Vec<Value> {
        let queue = &self.services.queue;
        let mut out = Vec::new();
        loop {
            let got = queue
                .receive(
                    queues::SENDS,
                    10,
                    StdDuration::from_secs(60),
                    StdDuration::ZERO,
                )
                .await
                .unwrap();
            if got.is_empty() {
                return out;
            }
            for m in got {
                out.push(serde_json::from_str(&m.body).unwrap());
                queue.delete(queues::SENDS, &m.receipt).await.unwrap();
            }
        }
    }

    /// How many messages wait on the `sends` queue (visible, delayed or in flight).
    pub async fn drain_sends_peek(&self) -> u64 {
        self.services.queue.depth(queues::SENDS).await.unwrap()
    }

    /// Every item of a partition whose sort key starts with `prefix`.
    pub async fn items(&self, pk: &str, prefix: &str) -> Vec<trickle_app::ports::Item> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .services
                .table
                .query(
                    Query::partition(pk)
                        .sk(SortKeyCondition::BeginsWith(prefix.into()))
                        .limit(1000)
                        .after(after),
                )
                .await
                .unwrap();
            out.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => return out,
            }
        }
    }
}

/// The router over a world's services, on a free loopback port; dropping it stops the server.
pub struct Served {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl World {
    pub async fn serve(&self, admin_token: &str) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = trickle_http::router(
            self.services.clone(),
            trickle_http::HttpSettings {
                admin_token: admin_token.to_string(),
                health: None,
                reconcile: None,
                sandbox: None,
                budget: None,
            },
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        });
        Served { url, task }
    }
}
