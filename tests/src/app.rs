//! Spawning the app in-process on a loopback port, with isolated state.

use std::path::Path;

use trickle_app::Services;

/// A running router; dropping it stops the server.
pub struct RunningApp {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The router on embedded adapters rooted at `dir`, served on a free loopback port.
pub async fn spawn_embedded(dir: &Path, admin_token: &str) -> (Services, RunningApp) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let services = crate::fixtures::embedded_services(dir, &url);
    // Wired by the composition root, on settings with nothing configured.
    let settings = trickle_host::Settings::from_lookup(|_| None).expect("default settings");
    let extras = trickle_host::Extras::new(trickle_host::Secret::new(admin_token));
    let router = trickle_host::build(services.clone(), &settings, &extras)
        .expect("build trickle")
        .router();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    (services, RunningApp { url, task })
}
