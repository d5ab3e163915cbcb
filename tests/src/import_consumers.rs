//! The import's queue consumers as `trickle dev` runs them (`uploads` and `validate`), for the
//! tests and benches that drive an import end to end.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use trickle_app::audience::dispatch::ImportWorker;
use trickle_app::audience::validation::ValidationWorker;
use trickle_app::audience::AudienceSettings;
use trickle_app::queues;
use trickle_app::worker::{run_consumer, MessageHandler, RetryPolicy};
use trickle_app::Services;

/// `workers` consumers of each queue, as several Lambda instances would run; quick retries.
pub fn spawn(
    services: &Services,
    settings: AudienceSettings,
    workers: usize,
    stopped: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let policy = RetryPolicy {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(1),
        max_receives: 10,
    };
    let consumers: Vec<(&str, Arc<dyn MessageHandler>)> = vec![
        (
            queues::UPLOADS,
            Arc::new(ImportWorker::new(services.clone(), settings.clone())),
        ),
        (
            queues::VALIDATE,
            Arc::new(ValidationWorker::new(services.clone(), settings)),
        ),
    ];
    let mut tasks = Vec::new();
    for (name, handler) in consumers {
        for _ in 0..workers {
            tasks.push(tokio::spawn(run_consumer(
                services.queue.clone(),
                name.to_string(),
                handler.clone(),
                policy,
                Duration::from_secs(30),
                stopped.clone(),
            )));
        }
    }
    tasks
}
