//! Contract suites: each function is one case that every adapter of the port must pass
//! unchanged. `tests/*_contract.rs` runs every case against the embedded adapter and against the
//! AWS adapter on moto.

pub mod blobs;
pub mod mailer;
pub mod queue;
pub mod table;

/// Declares one `#[tokio::test]` per case, each with a fresh fixture from `$make`.
#[macro_export]
macro_rules! contract_cases {
    ($suite:ident, $make:path, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $make().await;
                $suite::$case(&fixture).await;
            }
        )*
    };
}
