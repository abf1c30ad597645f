//! The real `api` binary: refuses bad configuration with the variable named, drains in-flight
//! requests on SIGTERM, and recovers when MongoDB comes back.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| {
        panic!("MONGODB_URI is not set: run `make test`, which starts a local MongoDB-wire server, or point it at a real MongoDB")
    })
}

fn api(vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_api"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CONFIG_DIR", "/nonexistent-config-dir")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

async fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/health")).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the API did not become healthy on port {port}");
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
}

#[test]
fn bad_values_stop_the_start_and_name_every_variable() {
    let out = api(&[("PORT", "abc"), ("FILE_STORAGE_MODE", "ftp")]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PORT") && err.contains("FILE_STORAGE_MODE"), "{err}");
}

#[test]
fn production_refuses_a_weak_secret_local_storage_and_no_bucket_all_named() {
    let out =
        api(&[("APP_ENV", "production"), ("AUTH_SECRET", "short"), ("FILE_STORAGE_MODE", "local")]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AUTH_SECRET"), "{err}");
    assert!(err.contains("FILE_STORAGE_MODE"), "{err}");
    assert!(!err.contains("short"), "the secret itself is never printed: {err}");
    let out = api(&[("APP_ENV", "production"), ("AUTH_SECRET", &"x".repeat(40))]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_S3_BUCKET"));
}

#[test]
fn check_config_lists_every_missing_production_variable_and_masks_secrets() {
    // Every variable appears in the printed configuration, so look for the `missing:` lines.
    let out = api(&[]).env_remove("LOG_LEVEL").args(["check-config", "--env", "production"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let missing: Vec<&str> = err.lines().filter_map(|l| l.strip_prefix("missing: ")?.split(' ').next()).collect();
    assert_eq!(
        missing,
        [
            "MONGODB_URI",
            "AUTH_SECRET",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "FILE_STORAGE_MODE",
            "AWS_S3_BUCKET",
            "AWS_REGION",
            "LOG_LEVEL",
            "LOG_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ],
        "{err}"
    );
    let secret = "s3cr3t-value-that-must-not-leak-0123456789";
    let full = [
        ("MONGODB_URI", "mongodb+srv://app:pa55word@prod-cluster.example/wimmelwelt_prod"),
        ("AUTH_SECRET", secret),
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_S3_BUCKET", "wimmelwelt-prod"),
        ("FILE_STORAGE_MODE", "s3"),
        ("AWS_REGION", "eu-central-1"),
        ("LOG_LEVEL", "info"),
        ("LOG_ENDPOINT", "https://logs.wimmelwelt.de/_bulk"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel.wimmelwelt.de"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer token-value-secret"),
    ];
    let out = api(&full).args(["check-config", "--env", "production"]).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{all}");
    assert!(!all.contains(secret) && !all.contains("pa55word") && !all.contains("token-value-secret"), "{all}");
    assert!(!all.contains("AKIAEXAMPLE"), "the access key id is a secret too: {all}");

    // Staging may store files locally, without S3 credentials or a bucket.
    let staging: Vec<(&str, &str)> =
        full.iter().copied().filter(|(k, _)| !k.starts_with("AWS_") || *k == "AWS_REGION").collect();
    let out =
        api(&staging).env("FILE_STORAGE_MODE", "local").args(["check-config", "--env", "staging"]).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{all}");
    let out = api(&staging).args(["check-config", "--env", "staging"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "staging with s3 needs credentials and a bucket: {err}");
    for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_BUCKET"] {
        assert!(err.lines().any(|l| l.starts_with(&format!("missing: {var} "))), "{var} not reported:\n{err}");
    }
}

#[test]
fn a_malformed_mongodb_uri_stops_the_start_with_a_clear_error() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let out = api(&[
        ("FILE_STORAGE_MODE", "local"),
        ("LOCAL_UPLOAD_DIR", dir.path().to_str().unwrap()),
        ("MONGODB_URI", "mongodb://app:pa55word@db.example:notaport/"),
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("connection string"), "{err}");
    assert!(!err.contains("pa55word"), "the password is never printed: {err}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn an_unresolvable_srv_uri_does_not_stop_the_start_and_data_routes_answer_503_quickly() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let child = api(&[
        ("PORT", &port.to_string()),
        ("HOST", "127.0.0.1"),
        ("FILE_STORAGE_MODE", "local"),
        ("LOCAL_UPLOAD_DIR", dir.path().to_str().unwrap()),
        ("MONGODB_URI", "mongodb+srv://cluster.invalid/"),
        ("MONGODB_DB_NAME", "wimmelwelt_test_srv"),
        ("MONGODB_SERVER_SELECTION_TIMEOUT_MS", "500"),
    ])
    .spawn()
    .unwrap();
    let _running = Running(child);
    wait_healthy(port).await;
    let readiness = reqwest::get(format!("http://127.0.0.1:{port}/readiness")).await.unwrap();
    assert_eq!(readiness.status().as_u16(), 503);
    let started = Instant::now();
    let data = reqwest::get(format!("http://127.0.0.1:{port}/api/caregivers")).await.unwrap();
    assert_eq!(data.status().as_u16(), 503);
    let body: serde_json::Value = data.json().await.unwrap();
    assert!(body["message"].is_string(), "{body}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_and_then_stops() {
    // A database that never answers makes /readiness take the whole server-selection timeout:
    // an in-flight request to interrupt.
    let blackhole = TcpListener::bind("127.0.0.1:0").unwrap();
    let db_port = blackhole.local_addr().unwrap().port();
    let port = free_port();
    let child = api(&[
        ("PORT", &port.to_string()),
        ("HOST", "127.0.0.1"),
        ("FILE_STORAGE_MODE", "local"),
        ("LOCAL_UPLOAD_DIR", tempfile::tempdir().unwrap().path().to_str().unwrap()),
        ("MONGODB_URI", &format!("mongodb://127.0.0.1:{db_port}/?directConnection=true")),
        ("MONGODB_SERVER_SELECTION_TIMEOUT_MS", "2000"),
    ])
    .spawn()
    .unwrap();
    let mut running = Running(child);
    wait_healthy(port).await;
    let in_flight = tokio::spawn(reqwest::get(format!("http://127.0.0.1:{port}/readiness")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&running.0);
    let answer = in_flight.await.unwrap().expect("the in-flight request is answered, not cut off");
    assert_eq!(answer.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = running.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
    drop(blackhole);
}

/// `host:port` of a plain `mongodb://` URI.
fn mongo_host_port(uri: &str) -> String {
    let rest = uri
        .strip_prefix("mongodb://")
        .unwrap_or_else(|| panic!("this fault test needs a mongodb:// URI, got another scheme"));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let hosts = rest.split(['/', '?']).next().unwrap();
    let first = hosts.split(',').next().unwrap();
    if first.contains(':') { first.to_owned() } else { format!("{first}:27017") }
}

/// Forwards connections to `target` until `stop` is set; returns when stopped (closing all links).
async fn proxy(listener: tokio::net::TcpListener, target: String, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut links = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((mut inbound, _)) = accepted else { break };
                let target = target.clone();
                links.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                    let _ = inbound.shutdown().await;
                });
            }
        }
    }
    links.abort_all();
}

#[tokio::test]
async fn readiness_recovers_when_mongodb_comes_back() {
    let target = mongo_host_port(&mongodb_uri());
    let proxy_port = free_port();
    let uri = format!("mongodb://{}/?directConnection=true", format_args!("127.0.0.1:{proxy_port}"));
    let uri = match mongodb_uri().split_once('@') {
        // Keep credentials of a real MongoDB.
        Some((creds, _)) => format!("{creds}@127.0.0.1:{proxy_port}/?directConnection=true&authSource=admin"),
        None => uri,
    };
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let db_name = format!("wimmelwelt_test_{}", uuid::Uuid::new_v4().simple());
    let child = api(&[
        ("PORT", &port.to_string()),
        ("HOST", "127.0.0.1"),
        ("FILE_STORAGE_MODE", "local"),
        ("LOCAL_UPLOAD_DIR", dir.path().to_str().unwrap()),
        ("MONGODB_URI", &uri),
        ("MONGODB_DB_NAME", &db_name),
        ("MONGODB_SERVER_SELECTION_TIMEOUT_MS", "500"),
    ])
    .spawn()
    .unwrap();
    let _running = Running(child);
    wait_healthy(port).await;
    let readiness =
        || async move { reqwest::get(format!("http://127.0.0.1:{port}/readiness")).await.unwrap().status().as_u16() };

    // MongoDB "down": nothing listens on the proxy port yet.
    assert_eq!(readiness().await, 503);

    // MongoDB "back": the proxy starts forwarding; readiness recovers without a restart.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", proxy_port)).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let proxy_task = tokio::spawn(proxy(listener, target, stop_rx));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if readiness().await == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "readiness did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let data = reqwest::get(format!("http://127.0.0.1:{port}/api/caregivers")).await.unwrap();
    assert_eq!(data.status().as_u16(), 200);

    // Down again: answered 503 JSON quickly, never a hang.
    stop_tx.send(true).unwrap();
    proxy_task.await.unwrap();
    let started = Instant::now();
    let mut saw_503 = false;
    while started.elapsed() < Duration::from_secs(20) {
        let r = reqwest::get(format!("http://127.0.0.1:{port}/api/caregivers")).await.unwrap();
        if r.status().as_u16() == 503 {
            let body: serde_json::Value = r.json().await.unwrap();
            assert!(body["message"].is_string());
            saw_503 = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(saw_503, "data routes did not answer 503 after MongoDB went away");
}

#[tokio::test]
async fn every_request_is_logged_as_json_without_query_strings_passwords_or_tokens() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let db_name = format!("wimmelwelt_test_{}", uuid::Uuid::new_v4().simple());
    let mut child = api(&[
        ("PORT", &port.to_string()),
        ("HOST", "127.0.0.1"),
        ("FILE_STORAGE_MODE", "local"),
        ("LOCAL_UPLOAD_DIR", dir.path().to_str().unwrap()),
        ("MONGODB_URI", &mongodb_uri()),
        ("MONGODB_DB_NAME", &db_name),
        ("LOG_LEVEL", "info"),
        ("LOG_FORMAT", "json"),
        ("AUTH_SECRET", "binary-test-secret-with-more-than-32-bytes"),
    ])
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut running = Running(child);
    wait_healthy(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let secret_password = "Passwort-SECRET-4711";
    let r = client
        .post(format!("{base}/api/parents"))
        .json(&serde_json::json!({"email": "log@example.org", "phone": "1", "postalCode": "50667", "password": secret_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let login: serde_json::Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"identifier": "log@example.org", "password": secret_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let me = client.get(format!("{base}/api/auth/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let signed = client
        .get(format!("{base}/api/files/caregivers%2Fcontracts%2Fx.pdf?expires=1&signature=SIGNATURE-SECRET-0815"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status().as_u16(), 403);
    sigterm(&running.0);
    let _ = running.0.wait();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut { stdout }, &mut out).unwrap();
    let lines: Vec<serde_json::Value> = out.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty(), "JSON log lines expected, got: {out}");
    let completed: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["fields"]["message"].as_str().is_some_and(|m| m.starts_with("request"))).collect();
    assert!(completed.len() >= 4, "one line per request: {out}");
    assert!(completed.iter().all(|l| l["service"] == "wimmelwelt-api" && l["fields"]["status"].is_u64()), "{out}");
    assert!(out.contains("/api/auth/login") && out.contains("\"status\":403"), "{out}");
    for secret in
        [secret_password, token.as_str(), "SIGNATURE-SECRET-0815", "binary-test-secret-with-more-than-32-bytes"]
    {
        assert!(!out.contains(secret), "a secret reached the log: {secret}");
    }
}
