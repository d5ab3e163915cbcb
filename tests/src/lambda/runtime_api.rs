//! A Lambda Runtime API (2018-06-01) server: what the Lambda service offers a function's
//! process. The function's own `main` polls `invocation/next`, gets one event with its request
//! id and deadline, and answers on `…/response` or `…/error`; an init failure reaches
//! `init/error`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// What the function answered.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    /// The error document (`errorType`, `errorMessage`).
    Error(Value),
}

struct Invocation {
    id: String,
    event: Bytes,
    deadline: SystemTime,
}

struct Shared {
    function_arn: String,
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    answers: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: Mutex<Option<Instant>>,
    init_error: Mutex<Option<Value>>,
}

pub struct RuntimeApi {
    pub address: SocketAddr,
    shared: Arc<Shared>,
    submit: mpsc::UnboundedSender<Invocation>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const BASE: &str = "/2018-06-01/runtime";

impl RuntimeApi {
    pub async fn start(function_arn: String) -> Self {
        let (submit, receive) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn,
            queue: tokio::sync::Mutex::new(receive),
            answers: Mutex::new(HashMap::new()),
            first_poll: Mutex::new(None),
            init_error: Mutex::new(None),
        });
        let app = Router::new()
            .route(&format!("{BASE}/invocation/next"), get(next))
            .route(
                &format!("{BASE}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{BASE}/invocation/{{id}}/error"), post(error))
            .route(&format!("{BASE}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            shared,
            submit,
            task,
        }
    }

    /// When the process first asked for an event (the end of its init), if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.lock().unwrap()
    }

    pub fn init_error(&self) -> Option<Value> {
        self.shared.init_error.lock().unwrap().clone()
    }

    /// Hands `event` to the next `invocation/next` with `budget` until its deadline; answers
    /// what the function posted, or `None` if it did not answer within the budget.
    pub async fn invoke(&self, event: &Value, budget: Duration) -> Option<Outcome> {
        let id = uuid::Uuid::new_v4().to_string();
        let (tell, answer) = oneshot::channel();
        self.shared.answers.lock().unwrap().insert(id.clone(), tell);
        let _ = self.submit.send(Invocation {
            id: id.clone(),
            event: Bytes::from(serde_json::to_vec(event).unwrap()),
            deadline: SystemTime::now() + budget,
        });
        let outcome = tokio::time::timeout(budget, answer).await.ok()?.ok();
        self.shared.answers.lock().unwrap().remove(&id);
        outcome
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared
        .first_poll
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    let Some(invocation) = shared.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline_ms = invocation
        .deadline
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    set("lambda-runtime-aws-request-id", invocation.id);
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        shared.function_arn.clone(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, invocation.event).into_response()
}

fn answer(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.answers.lock().unwrap().remove(id) {
        Some(tell) => {
            let _ = tell.send(outcome);
            StatusCode::ACCEPTED
        }
        // Lambda refuses an answer to an invocation that timed out or was already answered.
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(&shared, &id, Outcome::Response(body))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let document = serde_json::from_slice(&body).unwrap_or(Value::Null);
    answer(&shared, &id, Outcome::Error(document))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap() = Some(serde_json::from_slice(&body).unwrap_or(Value::Null));
    StatusCode::ACCEPTED
}
