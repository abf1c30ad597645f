//! The behaviour every [`BlobStore`] adapter must show, as one reusable test.
//!
//! Adapters run [`blob_store_contract`] from their own test suites against the real thing they
//! talk to (a temporary directory, a fresh bucket), so the S3 and local-directory stores — and any
//! fake — stay interchangeable. Compiled only with the `contract-tests` feature.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use domain::FileKey;
use futures::TryStreamExt;

use crate::files::{Blob, BlobError, BlobMeta, BlobStore, ByteRange};

/// Runs every check of the [`BlobStore`] contract against `store`, panicking on the first
/// deviation. Uses fresh keys under `contract/<run id>/…` on every call, so it can run repeatedly
/// and concurrently against the same storage; it deletes what it writes.
pub async fn blob_store_contract(store: &dyn BlobStore) {
    let run = run_id();
    let key = |name: &str| -> FileKey {
        FileKey::parse(&format!("contract/{run}/{name}")).unwrap_or_else(|e| panic!("contract key {name:?}: {e}"))
    };

    health_is_ok(store).await;
    put_then_get_round_trips(store, &key("round-trip.txt")).await;
    absent_files_are_reported_as_absent(store, &key("never-written.bin")).await;
    ranges_return_exactly_the_requested_bytes(store, &key("ranges.bin")).await;
    put_replaces_content_and_changes_the_etag(store, &key("replaced.txt")).await;
    delete_removes_and_is_idempotent(store, &key("deleted.txt")).await;
    nested_folders_work(store, &key("deeply/nested/folders/image.png")).await;
    large_bodies_stream_back_intact(store, &key("large.bin")).await;
    health_is_ok(store).await;
}

/// A process-unique, time-based identifier for one contract run.
fn run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{nanos:x}-{:x}-{n}", std::process::id())
}

/// Collects a blob's body, panicking on a stream error.
async fn read_all(blob: Blob, what: &str) -> (BlobMeta, Option<(u64, u64)>, Vec<u8>) {
    let Blob { meta, range, body } = blob;
    let chunks: Vec<Bytes> =
        body.try_collect().await.unwrap_or_else(|e| panic!("{what}: reading the body failed: {e}"));
    (meta, range, chunks.concat())
}

async fn put(store: &dyn BlobStore, key: &FileKey, data: impl Into<Bytes>, content_type: &str) {
    store.put(key, data.into(), content_type).await.unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

async fn get(
    store: &dyn BlobStore,
    key: &FileKey,
    range: Option<ByteRange>,
) -> (BlobMeta, Option<(u64, u64)>, Vec<u8>) {
    let blob = store.get(key, range).await.unwrap_or_else(|e| panic!("get {key} {range:?}: {e:?}"));
    read_all(blob, &format!("get {key} {range:?}")).await
}

async fn head(store: &dyn BlobStore, key: &FileKey) -> Option<BlobMeta> {
    store.head(key).await.unwrap_or_else(|e| panic!("head {key}: {e:?}"))
}

fn assert_strong_etag(meta: &BlobMeta, what: &str) -> String {
    let etag = meta.etag.clone().unwrap_or_else(|| panic!("{what}: no etag"));
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "{what}: etag {etag:?} is not a quoted strong validator"
    );
    etag
}

async fn health_is_ok(store: &dyn BlobStore) {
    store.health().await.unwrap_or_else(|e| panic!("health: {e:?}"));
}

async fn put_then_get_round_trips(store: &dyn BlobStore, key: &FileKey) {
    let data = b"Hallo Wimmelwelt!\n".to_vec();
    put(store, key, data.clone(), "text/plain").await;

    let (meta, range, body) = get(store, key, None).await;
    assert_eq!(body, data, "get returns the stored bytes");
    assert_eq!(meta.content_type, "text/plain", "get returns the stored content type");
    assert_eq!(meta.size, data.len() as u64, "get returns the stored size");
    assert_eq!(range, None, "a get without range sends the whole file");
    let etag = assert_strong_etag(&meta, "get");

    let meta = head(store, key).await.unwrap_or_else(|| panic!("head {key}: None right after put"));
    assert_eq!(meta.content_type, "text/plain", "head returns the stored content type");
    assert_eq!(meta.size, data.len() as u64, "head returns the stored size");
    assert_eq!(assert_strong_etag(&meta, "head"), etag, "head and get agree on the etag");
    assert!(meta.last_modified.is_some(), "head returns last_modified");

    store.delete(key).await.unwrap_or_else(|e| panic!("delete {key}: {e:?}"));
}

async fn absent_files_are_reported_as_absent(store: &dyn BlobStore, key: &FileKey) {
    assert_eq!(head(store, key).await, None, "head of an absent file is None");
    match store.get(key, None).await {
        Err(BlobError::NotFound) => {}
        other => panic!("get of an absent file: expected NotFound, got {other:?}"),
    }
    match store.get(key, Some(ByteRange::FromTo(0, 9))).await {
        Err(BlobError::NotFound) => {}
        other => panic!("ranged get of an absent file: expected NotFound, got {other:?}"),
    }
}

async fn ranges_return_exactly_the_requested_bytes(store: &dyn BlobStore, key: &FileKey) {
    let data: Vec<u8> = (0..100u8).collect();
    put(store, key, data.clone(), "application/octet-stream").await;

    let cases = [
        (ByteRange::FromTo(10, 19), (10, 19)),
        (ByteRange::FromTo(0, 0), (0, 0)),
        (ByteRange::FromTo(90, 200), (90, 99)),
        (ByteRange::From(95), (95, 99)),
        (ByteRange::From(0), (0, 99)),
        (ByteRange::Suffix(10), (90, 99)),
        (ByteRange::Suffix(500), (0, 99)),
        (ByteRange::FromTo(0, u64::MAX), (0, 99)),
        (ByteRange::Suffix(u64::MAX), (0, 99)),
    ];
    for (requested, (first, last)) in cases {
        let (meta, range, body) = get(store, key, Some(requested)).await;
        assert_eq!(range, Some((first, last)), "{requested:?}: the range sent");
        assert_eq!(body, data[first as usize..=last as usize], "{requested:?}: exactly the requested bytes");
        assert_eq!(meta.size, 100, "{requested:?}: meta.size stays the size of the whole file");
        assert_eq!(meta.content_type, "application/octet-stream", "{requested:?}: content type");
    }

    for unsatisfiable in [
        ByteRange::From(100),
        ByteRange::FromTo(150, 160),
        ByteRange::FromTo(5, 2),
        ByteRange::Suffix(0),
        ByteRange::From(u64::MAX),
    ] {
        match store.get(key, Some(unsatisfiable)).await {
            Err(BlobError::RangeNotSatisfiable { size }) => {
                assert_eq!(size, 100, "{unsatisfiable:?}: RangeNotSatisfiable carries the file size");
            }
            other => panic!("{unsatisfiable:?}: expected RangeNotSatisfiable, got {other:?}"),
        }
    }

    store.delete(key).await.unwrap_or_else(|e| panic!("delete {key}: {e:?}"));
}

async fn put_replaces_content_and_changes_the_etag(store: &dyn BlobStore, key: &FileKey) {
    put(store, key, &b"first version"[..], "text/plain").await;
    let first = head(store, key).await.unwrap_or_else(|| panic!("head {key}: None after put"));
    let first_etag = assert_strong_etag(&first, "first version");

    // Same length as the first version: the etag must not depend on the size alone.
    put(store, key, &b"other version"[..], "application/json").await;
    let (meta, _, body) = get(store, key, None).await;
    assert_eq!(body, b"other version", "put replaces the content");
    assert_eq!(meta.content_type, "application/json", "put replaces the content type");
    let second_etag = assert_strong_etag(&meta, "second version");
    assert_ne!(first_etag, second_etag, "the etag changes when the content changes");

    put(store, key, &b"a third, longer version"[..], "text/plain").await;
    let (meta, _, body) = get(store, key, None).await;
    assert_eq!(body, b"a third, longer version", "put replaces the content again");
    assert_eq!(meta.size, 23, "the size follows the content");
    let third_etag = assert_strong_etag(&meta, "third version");
    assert_ne!(second_etag, third_etag, "the etag changes when the content changes");

    store.delete(key).await.unwrap_or_else(|e| panic!("delete {key}: {e:?}"));
}

async fn delete_removes_and_is_idempotent(store: &dyn BlobStore, key: &FileKey) {
    put(store, key, &b"short-lived"[..], "text/plain").await;
    assert!(head(store, key).await.is_some(), "the file exists before delete");

    store.delete(key).await.unwrap_or_else(|e| panic!("delete {key}: {e:?}"));
    assert_eq!(head(store, key).await, None, "head after delete is None");
    match store.get(key, None).await {
        Err(BlobError::NotFound) => {}
        other => panic!("get after delete: expected NotFound, got {other:?}"),
    }
    store.delete(key).await.unwrap_or_else(|e| panic!("deleting an absent file must be Ok, got {e:?}"));
}

async fn nested_folders_work(store: &dyn BlobStore, key: &FileKey) {
    let data = b"\x89PNG\r\n\x1a\nnot really a picture".to_vec();
    put(store, key, data.clone(), "image/png").await;
    let (meta, _, body) = get(store, key, None).await;
    assert_eq!(body, data, "nested keys round-trip");
    assert_eq!(meta.content_type, "image/png");
    store.delete(key).await.unwrap_or_else(|e| panic!("delete {key}: {e:?}"));
    assert_eq!(head(store, key).await, None, "nested key deleted");
}

async fn large_bodies_stream_back_intact(store: &dyn BlobStore, key: &FileKey) {
    const SIZE: usize = 3 * 1024 * 1024;
    // A pattern that does not repeat at power-of-two offsets, so a lost or repeated chunk shows.
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8 ^ ((i / 4099) % 256) as u8).collect();
    put(store, key, data.clone(), "application/pdf").await;

    let (meta, range, body) = get(store, key, None).await;
    assert_eq!(meta.size, SIZE as u64, "large file: size");
    assert_eq!(range, None);
    assert_eq!(body.len(), SIZE, "large file: every byte streams back");
    assert!(body == data, "large file: the content streams back intact");

    let (first, last) = (1_000_000u64, 2_500_000u64);
    let (meta, range, body) = get(store, key, Some(ByteRange::FromTo(first, last))).await;
    assert_eq!(meta.size, SIZE as u64, "large file range: meta.size is the whole size");
    assert_eq!(range, Some((first, last)));
    assert!(body == data[first as usize..=last as usize], "large file: a middle range streams back intact");

    store.delete(key).await.unwrap_or_else(|e| panic!("delete {key}: {e:?}"));
}
