//! `/health` (liveness), `/readiness` (database) and `/api/health` (database and storage).

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::http::state::AppState;

/// Liveness: answers while the process serves requests; never touches a dependency.
#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers a ping in time.
#[get("/readiness")]
async fn readiness(state: web::Data<AppState>) -> HttpResponse {
    let db = state.health.database().await;
    if db.ok {
        HttpResponse::Ok().json(json!({"status": "ok", "checks": {"database": "ok"}}))
    } else {
        tracing::warn!(error = db.error.as_deref().unwrap_or(""), "readiness: database check failed");
        HttpResponse::ServiceUnavailable()
            .json(json!({"status": "error", "checks": {"database": "error"}, "error": "Datenbank nicht erreichbar"}))
    }
}

/// Operating-model health: database and storage status with latencies.
#[get("/health")]
async fn api_health(state: web::Data<AppState>) -> HttpResponse {
    let report = state.health.full().await;
    let status = |ok: bool| if ok { "ok" } else { "error" };
    let mut checks = json!({
        "database": {"status": status(report.database.ok), "latencyMs": report.database.latency_ms},
    });
    if let Some((mode, s)) = &report.storage {
        checks["storage"] = json!({"status": status(s.ok), "mode": mode.as_str(), "latencyMs": s.latency_ms});
        if !s.ok {
            tracing::warn!(error = s.error.as_deref().unwrap_or(""), "health: storage check failed");
        }
    }
    if !report.database.ok {
        tracing::warn!(error = report.database.error.as_deref().unwrap_or(""), "health: database check failed");
    }
    let body = json!({
        "status": status(report.ok()),
        "checks": checks,
        "version": state.info.version,
        "environment": state.info.environment,
    });
    if report.ok() { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}

/// `/health`, `/readiness`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health).service(readiness);
}

/// `/api/health` (inside the `/api` scope).
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.service(api_health);
}
