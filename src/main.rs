//! `splitlyr` runs the API server; `splitlyr healthcheck` asks a running
//! server's `/v1/healthz` and exits 0 when it is healthy (for container and VM
//! health checks without curl); `splitlyr upgrade [--dry-run]` prepares the
//! database (taking over the old server's documents) and exits; `splitlyr
//! rates import FILE` loads an ECB euro reference rate CSV and exits.

use std::process::ExitCode;

use splitlyr::configuration::{get_configuration, Settings};
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {}
        ["healthcheck"] => return splitlyr::healthcheck::run(settings.server.port).await,
        ["upgrade"] | ["upgrade", "--dry-run"] => {
            start_logging(&settings);
            let dry_run = args.len() == 2;
            return splitlyr::upgrade_command::run(&settings, dry_run).await;
        }
        ["rates", "import", file] => {
            start_logging(&settings);
            return splitlyr::rates_command::import(&settings, file).await;
        }
        _ => {
            eprintln!("usage: splitlyr [healthcheck | upgrade [--dry-run] | rates import FILE]");
            return ExitCode::from(2);
        }
    }
    start_logging(&settings);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "failed to start");
            eprintln!("splitlyr: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        port = app.port(),
        admin_port = app.admin_port(),
        "listening (admin: /metrics and the detailed /v1/healthz)"
    );
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

/// Installs the log subscriber, then logs what the configuration allows but
/// warns about (logged any earlier, it would go nowhere).
fn start_logging(settings: &Settings) {
    splitlyr::telemetry::init(&settings.log);
    for warning in settings.warnings() {
        warning.log();
    }
}
