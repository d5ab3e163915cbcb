//! The deployment, run as AWS runs it, on this machine: every function in `functions/` is its
//! own binary (the crate `make package` cross-builds for arm64, built here for this machine)
//! polling a Lambda Runtime API, with the environment `template.yaml` gives it, against moto
//! holding the table, queues, bucket and SSM secrets as `template.yaml` defines them. A small
//! event-source driver plays the rest of AWS: an HTTP API for the http function, SQS event
//! source mappings with partial batch responses, S3 notifications (moto sends them to the
//! uploads queue), and schedules. OpenPhone and NumVerify are the simulators, over HTTP.

pub mod function;
pub mod policy;
pub mod recorder;
pub mod runtime_api;
pub mod sources;
pub mod stack;
pub mod template;

use std::collections::BTreeMap;
use std::sync::Arc;

use trickle_domain::webhook_signature::SigningKey;
use trickle_sandbox::numverify::{NumVerifySettings, NumVerifySimulator};
use trickle_sandbox::openphone::{OpenPhoneSimulator, SimulatorConfig};

pub use function::{Function, InvokeError};
pub use recorder::{Call, Recorder};
pub use sources::{fire_queue_rule, scheduled_event, Gateway, Mapping, MappingStats};
pub use stack::Stack;
pub use template::Template;

pub const ADMIN_TOKEN: &str = "harness-admin-token-0123456789abcdef0123456789";
pub const OPENPHONE_KEY: &str = "harness-openphone-key";
pub const NUMVERIFY_KEY: &str = "harness-numverify-key";
pub const ALERT_EMAIL: &str = "owner@trickle.test";
pub const ALERT_FROM: &str = "alerts@trickle.test";

/// How a test's deployment differs from the plain one.
#[derive(Default)]
pub struct Options {
    /// Template parameters besides the alert addresses (`HealthSender`, `ReconcileNumbers`, …).
    pub parameters: Vec<(&'static str, String)>,
    /// Environment every function gets on top of the template's.
    pub environment: Vec<(&'static str, String)>,
    /// SSM secrets besides the four every deployment has (e.g. `forward-key`).
    pub secrets: Vec<(&'static str, String)>,
    /// Functions reach moto directly instead of through a recording proxy (the cold-start
    /// bench: the proxy's hop is not part of a start); their calls are then not checked.
    pub unrecorded: bool,
}

pub struct Deployment {
    pub stack: Stack,
    pub functions: BTreeMap<String, Arc<Function>>,
    /// Each function's AWS calls, by logical id.
    pub recorders: BTreeMap<String, Recorder>,
    pub gateway: Gateway,
    pub mappings: BTreeMap<String, Mapping>,
    pub openphone: OpenPhoneSimulator,
    pub numverify: NumVerifySimulator,
    pub http: reqwest::Client,
}

impl Deployment {
    /// A fresh stack on moto, every function ready to start cold, the HTTP API up, and an event
    /// source mapping on every queue a function is triggered by.
    pub async fn start(options: Options) -> Self {
        let openphone = OpenPhoneSimulator::start(SimulatorConfig {
            api_key: Some(OPENPHONE_KEY.into()),
            ..SimulatorConfig::default()
        })
        .await
        .expect("OpenPhone simulator");
        let numverify = NumVerifySimulator::start(NumVerifySettings {
            access_key: Some(NUMVERIFY_KEY.into()),
            ..NumVerifySettings::default()
        })
        .await
        .expect("NumVerify simulator");
        let stack_name = crate::moto::unique("h");
        let mut parameters: Vec<(&str, &str)> = vec![
            ("AlertEmail", ALERT_EMAIL),
            ("AlertFromEmail", ALERT_FROM),
            ("Stage", "dev"),
        ];
        let prefix = format!("/trickle/{stack_name}");
        parameters.push(("SecretsPrefix", &prefix));
        for (name, value) in &options.parameters {
            parameters.push((name, value));
        }
        let template = Template::load(&stack_name, &parameters);
        let webhook_key = openphone.signing_key().to_base64();
        let mut secrets = vec![
            ("admin-token", ADMIN_TOKEN),
            ("openphone-api-key", OPENPHONE_KEY),
            ("openphone-webhook-key", webhook_key.as_str()),
            ("numverify-key", NUMVERIFY_KEY),
        ];
        secrets.extend(options.secrets.iter().map(|(n, v)| (*n, v.as_str())));
        let stack = Stack::create(template, &secrets).await;
        // What differs from AWS: the providers are the simulators.
        let mut environment = vec![
            ("TRICKLE_OPENPHONE_BASE_URL", openphone.url().to_string()),
            ("TRICKLE_NUMVERIFY_BASE_URL", numverify.base_url.clone()),
        ];
        environment.extend(options.environment);
        let mut functions: BTreeMap<String, Arc<Function>> = BTreeMap::new();
        let mut recorders = BTreeMap::new();
        for spec in stack.template.functions() {
            // Each function reaches AWS through its own recorder, so its calls are its own.
            let mut own = environment.clone();
            if options.unrecorded {
                own.push(("AWS_ENDPOINT_URL", crate::moto::endpoint()));
            } else {
                let recorder = Recorder::start(crate::moto::endpoint()).await;
                own.push(("AWS_ENDPOINT_URL", recorder.url.clone()));
                recorders.insert(spec.logical_id.clone(), recorder);
            }
            functions.insert(spec.logical_id.clone(), Arc::new(Function::new(spec, &own)));
        }
        let http = functions
            .values()
            .find(|f| f.spec.http_api)
            .expect("a function behind the HTTP API")
            .clone();
        let gateway = Gateway::start(http).await;
        openphone.set_webhook_url(format!("{}/webhooks/openphone", gateway.url));
        let mut mappings = BTreeMap::new();
        for function in functions.values() {
            for (queue, batch) in &function.spec.sqs_sources {
                mappings.insert(
                    queue.clone(),
                    Mapping::start(&stack, function.clone(), queue, *batch),
                );
            }
        }
        Self {
            stack,
            functions,
            recorders,
            gateway,
            mappings,
            openphone,
            numverify,
            http: reqwest::Client::new(),
        }
    }

    pub fn function(&self, logical_id: &str) -> &Arc<Function> {
        self.functions
            .get(logical_id)
            .unwrap_or_else(|| panic!("no function {logical_id}"))
    }

    pub fn mapping(&self, queue_logical_id: &str) -> &Mapping {
        self.mappings
            .get(queue_logical_id)
            .unwrap_or_else(|| panic!("no mapping on {queue_logical_id}"))
    }

    pub fn signing_key(&self) -> &SigningKey {
        self.openphone.signing_key()
    }

    /// An admin API call through the HTTP API.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.gateway.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("HTTP API");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// Every AWS call each function made so far is one its policy in `template.yaml` allows:
    /// the deployed role would not refuse it. Panics naming every call that would be refused.
    pub fn assert_calls_within_policies(&self) {
        let mut refused = Vec::new();
        for (id, recorder) in &self.recorders {
            let policy = self.stack.template.policy(id);
            for call in recorder.calls() {
                if std::env::var_os("TRICKLE_PRINT_CALLS").is_some() {
                    eprintln!("CALL {id} {} {:?}", call.action, call.resources);
                }
                let allowed = policy
                    .iter()
                    .any(|s| s.allows(&call) && (call.action != "kms:Decrypt" || s.has_condition));
                if !allowed {
                    refused.push(format!("{id}: {} on {:?}", call.action, call.resources));
                }
            }
        }
        assert!(
            refused.is_empty(),
            "template.yaml does not allow calls the functions made:\n{}",
            refused.join("\n")
        );
    }

    /// Every function's log tail, for a failing test.
    pub fn logs(&self) -> String {
        self.functions
            .values()
            .map(|f| format!("--- {}\n{}", f.spec.name, f.log_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
