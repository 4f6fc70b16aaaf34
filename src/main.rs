//! `splitlyr` runs the API server; `splitlyr healthcheck` asks a running
//! server's `/v1/healthz` and exits 0 when it is healthy (for container and VM
//! health checks without curl).

use std::process::ExitCode;

use splitlyr::configuration::get_configuration;
use splitlyr::startup::Application;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match get_configuration() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("splitlyr: {e}");
            return ExitCode::from(2);
        }
    };
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return splitlyr::healthcheck::run(settings.server.port).await;
    }
    splitlyr::telemetry::init(&settings.log);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "failed to start");
            eprintln!("splitlyr: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(port = app.port(), "listening");
    match app.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server error");
            ExitCode::FAILURE
        }
    }
}
