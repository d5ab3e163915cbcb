use tracing_subscriber::EnvFilter;

/// Readable lines on stderr by default; JSON lines when `TRICKLE_LOG_FORMAT=json`.
pub fn init() {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if crate::settings::json_logs() {
        builder.json().init();
    } else {
        builder.with_target(false).init();
    }
}
