//! The admin API over real HTTP, as a client sees it: every answer is held against the OpenAPI
//! document before a test reads it.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::campaign_world::{Served, World};
use crate::schema::assert_documented;

pub struct ApiClient {
    pub served: Served,
    token: String,
    http: reqwest::Client,
}

impl ApiClient {
    /// Serves `world`'s router on a free port, signed in with `token`.
    pub async fn serve(world: &World, token: &str) -> Self {
        Self {
            served: world.serve(token).await,
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// Sends one request; returns the status and the JSON body (`null` when there is none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.served.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        let body = r.json().await.unwrap_or(Value::Null);
        assert_documented(
            trickle_http::openapi_document(),
            method.as_str(),
            path.split('?').next().unwrap(),
            status.as_u16(),
            &body,
        );
        (status, body)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }
}
