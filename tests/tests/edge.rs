//! Health checks, JSON errors, CORS, redirect and behaviour while MongoDB is down.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use e2e_tests::{Storage, spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn health_readiness_and_api_health_report_ok_with_database_and_storage() {
    let app = spawn_app().await;
    let h = app.get("/health", None).await;
    assert_eq!((h.status, h.body.clone()), (StatusCode::OK, json!({"status": "ok"})));
    assert_eq!(h.content_type(), "application/json; charset=utf-8");
    let r = app.get("/readiness", None).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({"status": "ok", "checks": {"database": "ok"}})));
    let a = app.get("/api/health", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["status"], "ok");
    assert_eq!(a.body["checks"]["database"]["status"], "ok");
    assert_eq!(a.body["checks"]["storage"]["status"], "ok");
    assert_eq!(a.body["checks"]["storage"]["mode"], "local");
    assert!(a.body["checks"]["database"]["latencyMs"].is_u64());
    assert_eq!(a.body["environment"], "development");
    assert!(a.body["version"].is_string());
}

#[tokio::test]
async fn unknown_routes_and_malformed_json_get_json_errors() {
    let app = spawn_app().await;
    for path in ["/api/does-not-exist", "/api/parents/x/y/z", "/nope"] {
        let a = app.get(path, None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(a.content_type(), "application/json; charset=utf-8", "{path}");
        assert!(!a.message().is_empty());
    }
    let a = app
        .request(Method::POST, "/api/auth/login")
        .header("content-type", "application/json")
        .body("{\"identifier\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = a.json().await.unwrap();
    assert_eq!(body["message"], "Die Anfrage enthält kein gültiges JSON.");
    let a = app.post("/api/parents", None, json!([1, 2])).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_json() {
    let app =
        spawn_app_with(Storage::Local, &[("HTTP_BODY_LIMIT_BYTES", "200000"), ("FILE_UPLOAD_MAX_BYTES", "100000")])
            .await;
    let big = "A".repeat(300_000);
    let a = app.post("/api/parents", None, json!({"profileImage": big})).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.message(), "Die Anfrage ist zu groß.");
}

#[tokio::test]
async fn cors_allows_configured_and_local_origins_and_refuses_others_with_403_json() {
    let app = spawn_app().await;
    let ok = app
        .request(Method::GET, "/api/caregivers")
        .header("Origin", "https://www.wimmel-welt.de")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://www.wimmel-welt.de");
    let local =
        app.request(Method::GET, "/api/caregivers").header("Origin", "http://localhost:19006").send().await.unwrap();
    assert_eq!(local.status(), StatusCode::OK);
    let preflight = app
        .request(Method::OPTIONS, "/api/auth/login")
        .header("Origin", "http://127.0.0.1:5173")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let bad =
        app.request(Method::GET, "/api/caregivers").header("Origin", "https://evil.example").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert!(body["message"].is_string());
    let native = app.get("/api/caregivers", None).await;
    assert_eq!(native.status, StatusCode::OK);
}

#[tokio::test]
async fn cors_outside_development_does_not_allow_localhost() {
    let app = spawn_app_with(Storage::Local, &[("CORS_ALLOW_LOCALHOST", "false")]).await;
    let bad = app
        .request(Method::GET, "/api/caregivers/locations")
        .header("Origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_bare_legacy_host_is_redirected_permanently() {
    let app = spawn_app_with(Storage::Local, &[("REDIRECT_BARE_HOST", "wimmel-welt.de")]).await;
    let r = app
        .request(Method::GET, "/api/caregivers?city=K%C3%B6ln")
        .header("Host", "wimmel-welt.de")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(r.headers()["location"], "https://www.wimmel-welt.de/api/caregivers?city=K%C3%B6ln");
    let direct = app.get("/health", None).await;
    assert_eq!(direct.status, StatusCode::OK);
}

#[tokio::test]
async fn with_mongodb_down_the_service_starts_reports_not_ready_and_answers_503_quickly() {
    // Nothing listens on port 1: the service must start anyway.
    let app = spawn_app_with(
        Storage::Local,
        &[("MONGODB_URI", "mongodb://127.0.0.1:1"), ("MONGODB_SERVER_SELECTION_TIMEOUT_MS", "300")],
    )
    .await;
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
    let started = Instant::now();
    let r = app.get("/readiness", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["status"], "error");
    assert_eq!(r.body["checks"]["database"], "error");
    assert!(r.body["error"].is_string());
    let h = app.get("/api/health", None).await;
    assert_eq!(h.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(h.body["checks"]["database"]["status"], "error");
    assert_eq!(h.body["checks"]["storage"]["status"], "ok");
    let s = app.get("/api/caregivers", None).await;
    assert_eq!(s.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(s.content_type().starts_with("application/json"));
    assert!(!s.message().contains("mongodb"), "no driver internals: {}", s.message());
    let l = app.post("/api/auth/login", None, json!({"identifier": "a", "password": "b"})).await;
    assert_eq!(l.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn the_membership_invoice_is_served_as_a_pdf_attachment() {
    let app = spawn_app().await;
    let a = app.get("/api/documents/membership-invoice", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "application/pdf");
    assert!(a.bytes.starts_with(b"%PDF-"));
    assert_eq!(a.headers["content-disposition"], "attachment; filename=\"Kleine-Welt-Mitgliedsbeitrag.pdf\"");
}

#[tokio::test]
async fn a_configured_but_missing_invoice_key_answers_404() {
    let app = spawn_app_with(Storage::Local, &[("MEMBERSHIP_INVOICE_S3_KEY", "documents/fehlt.pdf")]).await;
    let a = app.get("/api/documents/membership-invoice", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.message(), "Die Quittung ist derzeit nicht verfügbar.");
}

#[tokio::test]
async fn errors_turned_into_json_still_carry_the_cors_headers_of_an_allowed_origin() {
    let app =
        spawn_app_with(Storage::Local, &[("HTTP_BODY_LIMIT_BYTES", "200000"), ("FILE_UPLOAD_MAX_BYTES", "100000")])
            .await;
    let origin = "https://www.wimmel-welt.de";
    let too_large = app
        .request(Method::POST, "/api/parents")
        .header("Origin", origin)
        .json(&json!({"profileImage": "A".repeat(300_000)}))
        .send()
        .await
        .unwrap();
    let malformed = app
        .request(Method::POST, "/api/auth/login")
        .header("Origin", origin)
        .header("content-type", "application/json")
        .body("{\"identifier\": ")
        .send()
        .await
        .unwrap();
    let unknown = app.request(Method::GET, "/api/does-not-exist").header("Origin", origin).send().await.unwrap();
    let wrong_method = app.request(Method::GET, "/api/auth/login").header("Origin", origin).send().await.unwrap();
    for (res, status) in [
        (too_large, StatusCode::PAYLOAD_TOO_LARGE),
        (malformed, StatusCode::BAD_REQUEST),
        (unknown, StatusCode::NOT_FOUND),
        (wrong_method, StatusCode::NOT_FOUND),
    ] {
        assert_eq!(res.status(), status);
        assert_eq!(res.headers()["access-control-allow-origin"], origin, "{status}");
        assert_eq!(res.headers()["content-type"], "application/json; charset=utf-8", "{status}");
        assert!(res.headers().get("allow").is_none(), "{status}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["message"].is_string(), "{status}");
    }
}

#[tokio::test]
async fn cors_preflight_advertises_only_the_methods_the_api_uses() {
    let app = spawn_app().await;
    let preflight = app
        .request(Method::OPTIONS, "/api/caregivers/1")
        .header("Origin", "https://www.wimmel-welt.de")
        .header("Access-Control-Request-Method", "PATCH")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let methods = preflight.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
    let mut advertised: Vec<&str> = methods.split(',').map(str::trim).collect();
    advertised.sort_unstable();
    assert_eq!(advertised, ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]);
    let trace = app
        .request(Method::OPTIONS, "/api/caregivers")
        .header("Origin", "https://www.wimmel-welt.de")
        .header("Access-Control-Request-Method", "TRACE")
        .send()
        .await
        .unwrap();
    assert!(trace.status().is_client_error(), "{}", trace.status());
    assert!(trace.headers().get("access-control-allow-origin").is_none());
    let body: serde_json::Value = trace.json().await.unwrap();
    assert_eq!(body["code"], "preflight_refused", "a refused preflight says so, not 'invalid JSON': {body}");
}

#[tokio::test]
async fn health_answers_any_origin_and_origin_refusals_vary_by_origin() {
    let app = spawn_app().await;
    for path in ["/health", "/readiness", "/api/health"] {
        let r = app.request(Method::GET, path).header("Origin", "https://evil.example").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let refused = app.request(Method::GET, "/api/caregivers").header("Origin", "https://evil.example").send().await;
    let refused = refused.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers().get("vary").and_then(|v| v.to_str().ok()), Some("Origin"));
}

#[tokio::test]
async fn cors_refuses_localhost_origins_whose_port_cannot_exist() {
    let app = spawn_app().await;
    for origin in ["http://localhost:99999", "http://127.0.0.1:65536", "http://localhost:0"] {
        let res = app.request(Method::GET, "/api/caregivers/locations").header("Origin", origin).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{origin}");
        assert!(res.headers().get("access-control-allow-origin").is_none(), "{origin}");
    }
    let fine = app
        .request(Method::GET, "/api/caregivers/locations")
        .header("Origin", "http://localhost:65535")
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
}

#[tokio::test]
async fn head_works_wherever_get_does_and_unknown_routes_stay_404_json() {
    let app = spawn_app().await;
    for path in ["/health", "/readiness", "/api/health", "/api/caregivers", "/api/caregivers/locations"] {
        let get = app.get(path, None).await;
        assert_eq!(get.status, StatusCode::OK, "{path}");
        let head = app.request(Method::HEAD, path).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK, "{path}");
        assert_eq!(head.headers()["content-type"], "application/json; charset=utf-8", "{path}");
        if path != "/api/health" {
            // (the health answer holds latencies, so its length may differ between two calls)
            assert_eq!(head.headers()["content-length"], get.bytes.len().to_string().as_str(), "{path}");
        }
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
    for path in ["/api/does-not-exist", "/nope", "/api/auth/login"] {
        let head = app.request(Method::HEAD, path).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(head.headers()["content-type"], "application/json; charset=utf-8", "{path}");
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
}
