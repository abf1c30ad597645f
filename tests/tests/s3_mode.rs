//! The whole upload path with FILE_STORAGE_MODE=s3 against a real S3-compatible server.
#![allow(clippy::unwrap_used)]

use e2e_tests::{Storage, png_bytes, png_data_url, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn in_s3_mode_uploads_land_in_the_bucket_and_are_served_from_api_files() {
    let app = spawn_app_with(Storage::S3, &[]).await;
    let health = app.get("/api/health", None).await;
    assert_eq!(health.body["checks"]["storage"]["mode"], "s3");
    assert_eq!(health.body["checks"]["storage"]["status"], "ok");

    let (id, token) = app.register_parent("s3@example.org", "passwort-123").await;
    let me = app.get(&format!("/api/parents/{id}"), Some(&token)).await;
    let file = &me.body["profileImageUrl"];
    let key = file["key"].as_str().unwrap().to_owned();
    let url = file["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/api/files/{}", key.replace('/', "%2F")));
    assert!(app.file_exists(&key).await, "object in bucket {:?}", app.bucket);

    let got = app.get(&url, None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.bytes, png_bytes());
    assert_eq!(got.content_type(), "image/png");
    let unencoded = app.get(&format!("/api/files/{key}"), None).await;
    assert_eq!(unencoded.status, StatusCode::OK, "keys work with plain slashes too");
    let part = app.request(reqwest::Method::GET, &url).header("Range", "bytes=-4").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &png_bytes()[png_bytes().len() - 4..]);

    let patched = app.patch(&format!("/api/parents/{id}"), Some(&token), json!({"profileImage": png_data_url()})).await;
    let new_key = patched.body["profileImageUrl"]["key"].as_str().unwrap().to_owned();
    assert!(app.file_exists(&new_key).await);
    assert!(!app.file_exists(&key).await, "replaced object deleted from the bucket");
    assert_eq!(app.delete(&format!("/api/parents/{id}"), Some(&token)).await.status, StatusCode::NO_CONTENT);
    assert!(!app.file_exists(&new_key).await);
}

#[tokio::test]
async fn with_the_bucket_unreachable_health_reports_storage_error() {
    let app = spawn_app_with(Storage::S3, &[("AWS_S3_ENDPOINT", "http://127.0.0.1:1")]).await;
    let health = app.get("/api/health", None).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.body["checks"]["storage"]["status"], "error");
    assert_eq!(health.body["checks"]["database"]["status"], "ok");
    assert!(!health.bytes.windows(5).any(|w| w == b"ww-e2"), "no bucket name in the answer");
}
