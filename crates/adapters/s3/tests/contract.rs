//! The S3 store against a real S3-compatible server (`make test` starts one and sets
//! `AWS_S3_ENDPOINT`). Each test uses a fresh bucket.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use adapter_s3::{S3BlobStore, S3Settings};
use bytes::Bytes;
use domain::{FileKey, StorageMode};
use futures::TryStreamExt;
use ports::{BlobError, BlobStore, ByteRange};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

fn settings(endpoint: String, bucket: String) -> S3Settings {
    S3Settings {
        bucket,
        region: env_or("AWS_REGION", "eu-central-1"),
        endpoint: Some(endpoint),
        access_key_id: Some(env_or("AWS_ACCESS_KEY_ID", "test")),
        secret_access_key: Some(env_or("AWS_SECRET_ACCESS_KEY", "test")),
        force_path_style: true,
    }
}

/// A store on a fresh bucket of the test server.
async fn fresh_store() -> S3BlobStore {
    let endpoint = std::env::var("AWS_S3_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("AWS_S3_ENDPOINT is not set: run `make test`, which starts a local S3 server"));
    let bucket = format!("ww-test-{}", uuid::Uuid::new_v4().simple());
    let store = S3BlobStore::new(settings(endpoint.clone(), bucket)).await.unwrap();
    store.ensure_bucket().await.unwrap_or_else(|e| panic!("creating a bucket on {endpoint}: {e:#}"));
    // Idempotent.
    store.ensure_bucket().await.unwrap();
    store
}

#[tokio::test]
async fn s3_store_fulfils_the_blob_store_contract() {
    let store = fresh_store().await;
    assert_eq!(store.mode(), StorageMode::S3);
    ports::contract::blob_store_contract(&store).await;
}

#[tokio::test]
async fn objects_without_content_type_or_with_empty_body_are_served() {
    let store = fresh_store().await;
    let key = FileKey::parse("empty/nothing.txt").unwrap();
    store.put(&key, Bytes::new(), "text/plain").await.unwrap();
    let blob = store.get(&key, None).await.unwrap();
    assert_eq!(blob.meta.size, 0);
    let body: Vec<Bytes> = blob.body.try_collect().await.unwrap();
    assert!(body.concat().is_empty());
    match store.get(&key, Some(ByteRange::From(0))).await {
        Err(BlobError::RangeNotSatisfiable { size: 0 }) => {}
        other => panic!("a range of an empty object: expected RangeNotSatisfiable, got {other:?}"),
    }
}

#[tokio::test]
async fn health_fails_for_a_missing_bucket() {
    let store = fresh_store().await;
    let endpoint = std::env::var("AWS_S3_ENDPOINT").unwrap();
    let missing = S3BlobStore::new(settings(endpoint, format!("{}-missing", store.bucket()))).await.unwrap();
    assert!(missing.health().await.is_err());
}

#[tokio::test]
async fn unreachable_endpoint_makes_health_unavailable_quickly() {
    let store =
        S3BlobStore::new(settings("http://127.0.0.1:1".to_owned(), "ww-test-unreachable".to_owned())).await.unwrap();
    let started = Instant::now();
    let result = store.health().await;
    let took = started.elapsed();
    assert!(matches!(result, Err(BlobError::Unavailable(_))), "expected Unavailable, got {result:?}");
    assert!(took < Duration::from_secs(10), "health took {took:?} against a dead endpoint");

    let key = FileKey::parse("a/b.png").unwrap();
    assert!(matches!(store.get(&key, None).await, Err(BlobError::Unavailable(_))));
    assert!(matches!(store.head(&key).await, Err(BlobError::Unavailable(_))));
}
