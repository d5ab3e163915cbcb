//! What AWS does around the functions: an HTTP API that turns each request into an API Gateway
//! HTTP API v2 event for the http function, SQS event source mappings that poll a queue, invoke
//! with a batch, delete what succeeded and leave what `batchItemFailures` names, and EventBridge
//! schedules.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};

use super::function::Function;
use super::stack::Stack;
use super::template::{ACCOUNT, REGION};

/// An HTTP API in front of the http function, on a loopback port.
pub struct Gateway {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Gateway {
    pub async fn start(function: Arc<Function>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let host = url.trim_start_matches("http://").to_string();
        let app = axum::Router::new().fallback(move |method, uri, headers, body| {
            let (function, host) = (function.clone(), host.clone());
            async move { forward(&function, &host, method, uri, headers, body).await }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, task }
    }
}

async fn forward(
    function: &Function,
    host: &str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let event = http_api_event(host, &method, &uri, &headers, &body);
    let answer = match function.invoke(&event).await {
        Ok(answer) => answer,
        // API Gateway answers 500/503 itself when the integration fails or times out.
        Err(error) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{{\"message\":\"Service Unavailable\",\"harness\":\"{error}\"}}"),
            )
                .into_response()
        }
    };
    let status = answer["statusCode"].as_u64().unwrap_or(200) as u16;
    let mut response = Response::builder().status(status);
    if let Some(map) = answer["headers"].as_object() {
        for (name, value) in map {
            response = response.header(name, value.as_str().unwrap_or_default());
        }
    }
    if let Some(map) = answer["multiValueHeaders"].as_object() {
        for (name, values) in map {
            for value in values.as_array().into_iter().flatten() {
                response = response.header(name, value.as_str().unwrap_or_default());
            }
        }
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        response = response.header("set-cookie", cookie.as_str().unwrap_or_default());
    }
    let text = answer["body"].as_str().unwrap_or_default();
    let bytes = if answer["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    response.body(Body::from(bytes)).unwrap()
}

/// The payload format 2.0 event API Gateway sends for `ANY /{proxy+}`.
fn http_api_event(
    host: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Value {
    let mut joined: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).to_string();
        if name == "cookie" {
            cookies.extend(value.split("; ").map(str::to_string));
            continue;
        }
        joined
            .entry(name.as_str().to_string())
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    joined.insert("host".into(), host.to_string());
    let query = uri.query().unwrap_or_default();
    let mut parameters: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        parameters
            .entry(name.to_string())
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value.to_string());
    }
    let path = uri.path();
    let text = std::str::from_utf8(body).ok();
    let binary = text.is_none();
    let now = chrono::Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": if path == "/" { "ANY /" } else { "ANY /{proxy+}" },
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "harness",
            "domainName": host,
            "domainPrefix": "harness",
            "http": {
                "method": method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": if path == "/" { "ANY /" } else { "ANY /{proxy+}" },
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": binary,
    });
    if path != "/" {
        event["pathParameters"] = json!({ "proxy": path.trim_start_matches('/') });
    }
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !parameters.is_empty() {
        event["queryStringParameters"] = json!(parameters);
    }
    if !body.is_empty() {
        event["body"] = match text {
            Some(text) => json!(text),
            None => json!(base64::engine::general_purpose::STANDARD.encode(body)),
        };
    }
    event
}

/// What one event source mapping did.
#[derive(Debug, Default, Clone)]
pub struct MappingStats {
    pub invocations: u64,
    pub records: u64,
    /// Bodies of the records the function reported as batch item failures.
    pub failed_bodies: Vec<String>,
    pub function_errors: Vec<String>,
}

/// An SQS event source mapping: polls `queue` and invokes `function` with batches, as Lambda
/// does, until dropped.
pub struct Mapping {
    stats: Arc<Mutex<MappingStats>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Mapping {
    pub fn start(
        stack: &Stack,
        function: Arc<Function>,
        queue_logical_id: &str,
        batch: usize,
    ) -> Self {
        let sqs = stack.sqs.clone();
        let url = stack.queue_url(queue_logical_id);
        let name = stack.template.queue(queue_logical_id).name;
        let arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}");
        let stats = Arc::new(Mutex::new(MappingStats::default()));
        let counters = stats.clone();
        let task = tokio::spawn(async move {
            loop {
                let received = sqs
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(batch.min(10) as i32)
                    .wait_time_seconds(1)
                    .message_system_attribute_names(MessageSystemAttributeName::All)
                    .message_attribute_names("All")
                    .send()
                    .await;
                let messages = match received {
                    Ok(answer) => answer.messages.unwrap_or_default(),
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                if messages.is_empty() {
                    continue;
                }
                let records: Vec<Value> = messages
                    .iter()
                    .map(|m| {
                        let attributes: BTreeMap<String, String> = m
                            .attributes()
                            .map(|a| {
                                a.iter()
                                    .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                                    .collect()
                            })
                            .unwrap_or_default();
                        json!({
                            "messageId": m.message_id(),
                            "receiptHandle": m.receipt_handle(),
                            "body": m.body(),
                            "attributes": attributes,
                            "messageAttributes": {},
                            "md5OfBody": m.md5_of_body(),
                            "eventSource": "aws:sqs",
                            "eventSourceARN": arn,
                            "awsRegion": REGION,
                        })
                    })
                    .collect();
                let answer = function.invoke(&json!({ "Records": records })).await;
                let done = {
                    let mut stats = counters.lock().unwrap();
                    stats.invocations += 1;
                    stats.records += messages.len() as u64;
                    // A function error fails the whole batch: nothing is deleted.
                    let failed: Vec<String> = match &answer {
                        Ok(response) => response["batchItemFailures"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                            .collect(),
                        Err(error) => {
                            stats.function_errors.push(error.to_string());
                            messages
                                .iter()
                                .filter_map(|m| m.message_id().map(str::to_string))
                                .collect()
                        }
                    };
                    let mut done = Vec::new();
                    for message in &messages {
                        let id = message.message_id().unwrap_or_default();
                        if failed.iter().any(|f| f == id) {
                            stats
                                .failed_bodies
                                .push(message.body().unwrap_or_default().to_string());
                        } else {
                            done.push(message.receipt_handle().unwrap_or_default().to_string());
                        }
                    }
                    done
                };
                for receipt in done {
                    let _ = sqs
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(receipt)
                        .send()
                        .await;
                }
            }
        });
        Self { stats, task }
    }

    pub fn stats(&self) -> MappingStats {
        self.stats.lock().unwrap().clone()
    }
}

/// The event an EventBridge schedule delivers to a function.
pub fn scheduled_event(rule: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT,
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": REGION,
        "resources": [format!("arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{rule}")],
        "detail": {},
    })
}

/// A rule that feeds a queue fires: its fixed input lands on the queue.
pub async fn fire_queue_rule(stack: &Stack, rule_logical_id: &str) {
    let rule = stack
        .template
        .queue_rules()
        .into_iter()
        .find(|r| r.logical_id == rule_logical_id)
        .unwrap_or_else(|| panic!("no rule {rule_logical_id}"));
    assert!(
        rule.enabled,
        "{rule_logical_id} is off with these parameters"
    );
    stack
        .sqs
        .send_message()
        .queue_url(stack.queue_url(&rule.queue))
        .message_body(rule.input)
        .send()
        .await
        .expect("the rule's message");
}
