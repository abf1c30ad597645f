//! The local-directory store against the shared `BlobStore` contract, plus what only a
//! directory can get wrong: legacy files without a sidecar and symlinks leading out of the root.
#![allow(clippy::unwrap_used)]

use adapter_local_fs::LocalFsBlobStore;
use bytes::Bytes;
use domain::{FileKey, StorageMode};
use futures::TryStreamExt;
use ports::{BlobError, BlobStore, ByteRange};

fn key(raw: &str) -> FileKey {
    FileKey::parse(raw).unwrap()
}

async fn body_of(store: &LocalFsBlobStore, key: &FileKey, range: Option<ByteRange>) -> Vec<u8> {
    let blob = store.get(key, range).await.unwrap();
    let chunks: Vec<Bytes> = blob.body.try_collect().await.unwrap();
    chunks.concat()
}

#[tokio::test]
async fn local_store_fulfils_the_blob_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsBlobStore::new(dir.path().join("uploads")).await.unwrap();
    assert_eq!(store.mode(), StorageMode::Local);
    ports::contract::blob_store_contract(&store).await;
    // Twice against the same directory: leftovers of one run must not disturb the next.
    ports::contract::blob_store_contract(&store).await;
}

#[tokio::test]
async fn legacy_files_without_sidecar_are_served_with_a_guessed_content_type() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsBlobStore::new(dir.path()).await.unwrap();
    // As copied from the old backend's uploads/ directory.
    std::fs::create_dir_all(dir.path().join("caregivers/logos")).unwrap();
    std::fs::write(dir.path().join("caregivers/logos/old.PNG"), b"legacy png bytes").unwrap();
    std::fs::write(dir.path().join("caregivers/contract.docx"), b"legacy docx").unwrap();
    std::fs::write(dir.path().join("caregivers/notes.unknown"), b"???").unwrap();

    let png = key("caregivers/logos/old.PNG");
    let meta = store.head(&png).await.unwrap().unwrap();
    assert_eq!(meta.content_type, "image/png");
    assert_eq!(meta.size, 16);
    assert!(meta.etag.as_deref().is_some_and(|e| e.starts_with('"') && e.ends_with('"')));
    assert_eq!(body_of(&store, &png, None).await, b"legacy png bytes");
    assert_eq!(body_of(&store, &png, Some(ByteRange::Suffix(5))).await, b"bytes");

    let docx = store.head(&key("caregivers/contract.docx")).await.unwrap().unwrap();
    assert_eq!(docx.content_type, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    let unknown = store.head(&key("caregivers/notes.unknown")).await.unwrap().unwrap();
    assert_eq!(unknown.content_type, "application/octet-stream");

    // Deleting a legacy file works although it has no sidecar.
    store.delete(&png).await.unwrap();
    assert!(store.head(&png).await.unwrap().is_none());
}

#[tokio::test]
async fn the_stores_own_bookkeeping_is_never_served_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsBlobStore::new(dir.path()).await.unwrap();
    let k = key("a/b.png");
    store.put(&k, Bytes::from_static(b"picture"), "image/png").await.unwrap();

    // The sidecar exists somewhere under the root, but no key reaches it.
    for reserved in [".blobstore/meta/a/b.png", ".blobstore/tmp"] {
        let reserved = key(reserved);
        assert!(store.head(&reserved).await.unwrap().is_none());
        assert!(matches!(store.get(&reserved, None).await, Err(BlobError::NotFound)));
        assert!(store.put(&reserved, Bytes::from_static(b"x"), "text/plain").await.is_err());
    }
    assert!(store.head(&key("a/b.png.json")).await.unwrap().is_none());
    assert_eq!(body_of(&store, &k, None).await, b"picture");

    // A directory is not a file.
    assert!(matches!(store.get(&key("a"), None).await, Err(BlobError::NotFound)));
    assert!(store.head(&key("a")).await.unwrap().is_none());
}

#[tokio::test]
async fn keys_are_plain_files_under_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsBlobStore::new(dir.path()).await.unwrap();
    let k = key("parents/profile-images/x.webp");
    store.put(&k, Bytes::from_static(b"webp"), "image/webp").await.unwrap();
    // The old Node backend (and /uploads/<key> serving) expect the raw bytes at <root>/<key>.
    assert_eq!(std::fs::read(dir.path().join("parents/profile-images/x.webp")).unwrap(), b"webp");
    // No temp files are left behind.
    assert_eq!(std::fs::read_dir(dir.path().join(".blobstore/tmp")).unwrap().count(), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_leading_out_of_the_root_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), b"TOP SECRET").unwrap();
    std::fs::create_dir(outside.path().join("dir")).unwrap();
    std::fs::write(outside.path().join("dir/inner.txt"), b"ALSO SECRET").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsBlobStore::new(dir.path()).await.unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("link.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("dir"), dir.path().join("linkdir")).unwrap();

    for k in [key("link.txt"), key("linkdir/inner.txt")] {
        match store.get(&k, None).await {
            Err(BlobError::NotFound | BlobError::Other(_)) => {}
            Err(e) => panic!("{k}: unexpected error {e:?}"),
            Ok(blob) => {
                let chunks: Vec<Bytes> = blob.body.try_collect().await.unwrap();
                panic!("{k}: served a file outside the root: {:?}", chunks.concat());
            }
        }
        assert!(matches!(
            store.get(&k, Some(ByteRange::From(0))).await,
            Err(BlobError::NotFound | BlobError::Other(_))
        ));
        assert!(store.head(&k).await.map(|m| m.is_none()).unwrap_or(true), "{k}: head must not describe it");
    }

    // Writing through a symlinked directory must not create files outside the root.
    let through = key("linkdir/planted.txt");
    assert!(store.put(&through, Bytes::from_static(b"planted"), "text/plain").await.is_err());
    assert!(!outside.path().join("dir/planted.txt").exists());
    let deeper = key("linkdir/new/sub/planted.txt");
    assert!(store.put(&deeper, Bytes::from_static(b"planted"), "text/plain").await.is_err());
    assert!(!outside.path().join("dir/new").exists());

    // Deleting through it leaves the outside file alone.
    store.delete(&key("linkdir/inner.txt")).await.unwrap();
    assert!(outside.path().join("dir/inner.txt").exists());
    store.delete(&key("link.txt")).await.unwrap();
    assert_eq!(std::fs::read(outside.path().join("secret.txt")).unwrap(), b"TOP SECRET");

    // A symlink that stays inside the root is fine.
    std::fs::write(dir.path().join("real.txt"), b"inside").unwrap();
    std::os::unix::fs::symlink(dir.path().join("real.txt"), dir.path().join("alias.txt")).unwrap();
    assert_eq!(body_of(&store, &key("alias.txt"), None).await, b"inside");
}

#[tokio::test]
async fn health_fails_when_the_root_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFsBlobStore::new(dir.path().join("root")).await.unwrap();
    store.health().await.unwrap();
    std::fs::remove_dir_all(dir.path().join("root")).unwrap();
    assert!(matches!(store.health().await, Err(BlobError::Unavailable(_))));
}
