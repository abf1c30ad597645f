//! `api` — serve the Wimmelwelt API, or `api check-config --env <staging|production>`.

use std::process::ExitCode;

use api::config::{Config, LogFormat};
use api::startup::Application;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check-config") => api::config::run_check_config_cli(&args[1..]),
        None | Some("serve") => serve(),
        Some("--help" | "-h" | "help") => {
            println!("usage: api [serve]\n       api check-config --env <development|staging|production>");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command {other:?}; try `api --help`");
            ExitCode::from(2)
        }
    }
}

fn serve() -> ExitCode {
    // One TLS crypto provider for every client (MongoDB, S3); a second one enabled by some
    // dependency's defaults would otherwise make rustls' default builders panic.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error — the service does not start:\n{e}");
            return ExitCode::from(78);
        }
    };
    let log = telemetry::LogSettings {
        level: config.telemetry.log_level.clone(),
        json: config.telemetry.log_format == LogFormat::Json,
        service_name: config.telemetry.service_name.clone(),
        environment: config.env.to_string(),
    };
    if let Err(e) = telemetry::init(&log) {
        eprintln!("could not initialise logging: {e:#}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let app = Application::build(config).await?;
        app.run_until_stopped().await?;
        anyhow::Ok(())
    });
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "the service stopped with an error");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
