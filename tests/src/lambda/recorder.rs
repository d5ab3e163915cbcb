//! What a function asks of AWS, as IAM would see it: each function's AWS endpoint is a small
//! proxy in front of moto that forwards every request unchanged and records the IAM action and
//! resource it needs (`dynamodb:PutItem` on the table, `sqs:SendMessage` on one queue, …), so a
//! story can check every call against the function's policy in `template.yaml`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::Value;

use super::template::{ACCOUNT, REGION};

/// One call as IAM authorizes it: an action on a resource. `resources` lists the ARNs any of
/// which would authorize it (SES accepts the sender's address or its domain).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    pub action: String,
    pub resources: Vec<String>,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    calls: Arc<Mutex<BTreeSet<Call>>>,
}

/// A recording proxy in front of `upstream` (moto), up until it is dropped.
pub struct Recorder {
    pub url: String,
    calls: Arc<Mutex<BTreeSet<Call>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Recorder {
    pub async fn start(upstream: String) -> Recorder {
        let calls = Arc::new(Mutex::new(BTreeSet::new()));
        let proxy = Proxy {
            upstream,
            http: reqwest::Client::new(),
            calls: calls.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(proxy);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Recorder { url, calls, server }
    }

    /// Every distinct call made so far.
    pub fn calls(&self) -> BTreeSet<Call> {
        self.calls.lock().unwrap().clone()
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let calls = calls_of(parts.method.as_str(), &path_and_query, &target, &body);
    proxy.calls.lock().unwrap().extend(calls);

    let mut upstream = proxy.http.request(
        parts.method.clone(),
        format!("{}{path_and_query}", proxy.upstream),
    );
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.body(body).send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

fn one(action: String, resource: String) -> Call {
    Call {
        action,
        resources: vec![resource],
    }
}

/// The IAM calls one request needs.
fn calls_of(method: &str, path_and_query: &str, target: &str, body: &[u8]) -> Vec<Call> {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    if let Some(op) = target.strip_prefix("DynamoDB_20120810.") {
        let table =
            |name: &Value| format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}", text(name));
        if op == "TransactWriteItems" {
            // Authorized by the item actions inside it.
            return json["TransactItems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    let (kind, action) = [
                        ("Put", "PutItem"),
                        ("Update", "UpdateItem"),
                        ("Delete", "DeleteItem"),
                        ("ConditionCheck", "ConditionCheckItem"),
                    ]
                    .into_iter()
                    .find(|(kind, _)| item.get(kind).is_some())?;
                    Some(one(
                        format!("dynamodb:{action}"),
                        table(&item[kind]["TableName"]),
                    ))
                })
                .collect();
        }
        if op == "BatchGetItem" {
            // One call per table named in `RequestItems`.
            return json["RequestItems"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, _)| one(format!("dynamodb:{op}"), table(&Value::from(name.as_str()))))
                .collect();
        }
        let mut resource = table(&json["TableName"]);
        if let Some(index) = json["IndexName"].as_str() {
            resource.push_str(&format!("/index/{index}"));
        }
        return vec![one(format!("dynamodb:{op}"), resource)];
    }
    if let Some(op) = target.strip_prefix("AmazonSQS.") {
        let queue = match json["QueueUrl"].as_str() {
            Some(url) => url.rsplit('/').next().unwrap_or_default().to_string(),
            None => text(&json["QueueName"]),
        };
        return vec![one(
            format!("sqs:{op}"),
            format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"),
        )];
    }
    if let Some(op) = target.strip_prefix("AmazonSSM.") {
        let parameter = |name: &str| format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}");
        let mut calls: Vec<Call> = match op {
            "GetParameters" => json["Names"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|name| one(format!("ssm:{op}"), parameter(&text(name))))
                .collect(),
            "GetParametersByPath" => {
                vec![one(format!("ssm:{op}"), parameter(&text(&json["Path"])))]
            }
            _ => vec![one(format!("ssm:{op}"), parameter(&text(&json["Name"])))],
        };
        if json["WithDecryption"] == Value::Bool(true) {
            // SSM decrypts SecureStrings with the AWS-managed key on the caller's behalf.
            calls.push(one(
                "kms:Decrypt".into(),
                format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/aws-ssm-managed"),
            ));
        }
        return calls;
    }
    let path = path_and_query.split('?').next().unwrap_or_default();
    let query = path_and_query.split_once('?').map(|(_, q)| q).unwrap_or("");
    if path == "/v2/email/outbound-emails" {
        let from = text(&json["FromEmailAddress"]);
        let address = from
            .rsplit('<')
            .next()
            .unwrap_or_default()
            .trim_end_matches('>')
            .to_string();
        let domain = address.split('@').nth(1).unwrap_or_default().to_string();
        let identity = |id: &str| format!("arn:aws:ses:{REGION}:{ACCOUNT}:identity/{id}");
        return vec![Call {
            action: "ses:SendEmail".into(),
            resources: vec![identity(&address), identity(&domain)],
        }];
    }
    if path.starts_with("/moto-api") {
        return Vec::new();
    }
    // S3, path style: /<bucket>/<key>.
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let key = percent_decode(key);
    let has = |name: &str| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(name))
    };
    let object = format!("arn:aws:s3:::{bucket}/{key}");
    let action = match (method, key.is_empty()) {
        ("GET", true) => {
            return vec![one(
                "s3:ListBucket".into(),
                format!("arn:aws:s3:::{bucket}"),
            )]
        }
        ("GET" | "HEAD", false) if has("versionId") => "s3:GetObjectVersion",
        ("GET" | "HEAD", false) => "s3:GetObject",
        ("PUT" | "POST", false) => "s3:PutObject",
        ("DELETE", false) => "s3:DeleteObject",
        _ => {
            return vec![one(
                format!("s3:{method}"),
                format!("arn:aws:s3:::{bucket}"),
            )]
        }
    };
    vec![one(action.into(), object)]
}

fn percent_decode(text: &str) -> String {
    form_urlencoded::parse(format!("k={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
