//! File storage in a local directory (`FILE_STORAGE_MODE=local`), implementing
//! [`ports::BlobStore`].
//!
//! Layout under the root directory:
//!
//! ```text
//! <root>/<key>                      the file's bytes, exactly as uploaded
//! <root>/.blobstore/meta/<key>      sidecar JSON: content type and a content hash
//! <root>/.blobstore/tmp/<uuid>      files being written (renamed into place when complete)
//! ```
//!
//! The sidecar tree mirrors the key tree exactly, so two keys collide in it only if they collide
//! as files too. Keys whose first segment is `.blobstore` are reserved and never served. Files
//! copied over from the old backend's `uploads/` directory have no sidecar; their content type
//! is guessed from the extension.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use domain::{FileKey, StorageMode};
use ports::{Blob, BlobError, BlobMeta, BlobStore, ByteRange};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

/// The first key segment reserved for the store's own bookkeeping.
const RESERVED_DIR: &str = ".blobstore";
/// Read buffer size for streaming files out.
const CHUNK: usize = 64 * 1024;

/// A [`BlobStore`] keeping files in a directory on the local filesystem.
#[derive(Debug, Clone)]
pub struct LocalFsBlobStore {
    /// Canonical (symlink-free, absolute) root directory.
    root: PathBuf,
    /// Canonical `<root>/.blobstore/meta`.
    meta_root: PathBuf,
    /// Canonical `<root>/.blobstore/tmp`.
    tmp_dir: PathBuf,
}

/// What the sidecar remembers about a file.
#[derive(Debug, Serialize, Deserialize)]
struct Sidecar {
    content_type: String,
    /// Hex SHA-256 of the content.
    sha256: String,
    /// Size and modification time of the data file this sidecar was written for; the hash is
    /// only trusted while the data file still matches them.
    size: u64,
    mtime_ns: u128,
}

impl LocalFsBlobStore {
    /// Opens (creating if needed) a store rooted at `root`.
    pub async fn new(root: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root).await.with_context(|| format!("creating storage root {}", root.display()))?;
        let root =
            fs::canonicalize(&root).await.with_context(|| format!("resolving storage root {}", root.display()))?;
        let meta_root = root.join(RESERVED_DIR).join("meta");
        let tmp_dir = root.join(RESERVED_DIR).join("tmp");
        for dir in [&meta_root, &tmp_dir] {
            fs::create_dir_all(dir).await.with_context(|| format!("creating {}", dir.display()))?;
        }
        let meta_root = fs::canonicalize(&meta_root).await.context("resolving the sidecar directory")?;
        let tmp_dir = fs::canonicalize(&tmp_dir).await.context("resolving the temp directory")?;
        for dir in [&meta_root, &tmp_dir] {
            if !dir.starts_with(&root) {
                return Err(anyhow!("{} points outside the storage root", dir.display()));
            }
        }
        Ok(Self { root, meta_root, tmp_dir })
    }

    /// The (canonical) root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `true` for keys naming the store's own bookkeeping files.
    fn is_reserved(key: &FileKey) -> bool {
        key.segments().next() == Some(RESERVED_DIR)
    }

    /// `<base>/<key>`, built segment by segment (not yet resolved against symlinks).
    fn join(base: &Path, key: &FileKey) -> PathBuf {
        key.segments().fold(base.to_path_buf(), |p, seg| p.join(seg))
    }

    /// Resolves an existing file `<base>/<key>` to its canonical path, refusing anything that
    /// leaves `base` (via symlinks) or is not a regular file. `None` if absent or refused.
    async fn resolve_existing(base: &Path, key: &FileKey) -> Result<Option<PathBuf>, BlobError> {
        let joined = Self::join(base, key);
        let real = match fs::canonicalize(&joined).await {
            Ok(p) => p,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(other(e, format!("resolving {}", joined.display()))),
        };
        if !real.starts_with(base) {
            tracing::warn!(key = %key, "refusing a file that resolves outside the storage root");
            return Ok(None);
        }
        match fs::metadata(&real).await {
            Ok(m) if m.is_file() => Ok(Some(real)),
            Ok(_) => Ok(None),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(other(e, format!("reading metadata of {}", real.display()))),
        }
    }

    /// The canonical directory that will hold `<base>/<key>`, created if needed, after checking
    /// that neither an existing ancestor nor the result leads outside `base`.
    async fn prepare_parent(base: &Path, key: &FileKey) -> Result<PathBuf, BlobError> {
        let target = Self::join(base, key);
        let parent = target.parent().ok_or_else(|| BlobError::Other(anyhow!("key {key} has no parent")))?;

        // Check the deepest existing ancestor first, so create_dir_all never follows a symlink
        // out of the root and creates directories elsewhere.
        let mut existing = parent.to_path_buf();
        while fs::symlink_metadata(&existing).await.is_err() {
            if !existing.pop() {
                break;
            }
        }
        let real =
            fs::canonicalize(&existing).await.map_err(|e| other(e, format!("resolving {}", existing.display())))?;
        if !real.starts_with(base) {
            return Err(BlobError::Other(anyhow!("key {key} leads outside the storage root")));
        }

        fs::create_dir_all(parent).await.map_err(|e| other(e, format!("creating {}", parent.display())))?;
        let real_parent =
            fs::canonicalize(parent).await.map_err(|e| other(e, format!("resolving {}", parent.display())))?;
        if !real_parent.starts_with(base) {
            return Err(BlobError::Other(anyhow!("key {key} leads outside the storage root")));
        }
        Ok(real_parent)
    }

    /// Writes `data` to a fresh temp file, flushed to disk; returns its path and metadata.
    async fn write_temp(&self, data: &[u8]) -> Result<(PathBuf, std::fs::Metadata), BlobError> {
        let tmp = self.tmp_dir.join(uuid::Uuid::new_v4().simple().to_string());
        let result = async {
            let mut file = fs::File::create(&tmp).await.with_context(|| format!("creating {}", tmp.display()))?;
            file.write_all(data).await.with_context(|| format!("writing {}", tmp.display()))?;
            file.sync_all().await.with_context(|| format!("syncing {}", tmp.display()))?;
            file.metadata().await.with_context(|| format!("reading metadata of {}", tmp.display()))
        }
        .await;
        match result {
            Ok(meta) => Ok((tmp, meta)),
            Err(e) => {
                let _ = fs::remove_file(&tmp).await;
                Err(BlobError::Other(e))
            }
        }
    }

    /// Moves a temp file into place, removing it if that fails.
    async fn commit(tmp: &Path, target: &Path) -> Result<(), BlobError> {
        if let Err(e) = fs::rename(tmp, target).await {
            let _ = fs::remove_file(tmp).await;
            return Err(other(e, format!("moving a new file into {}", target.display())));
        }
        Ok(())
    }

    /// Reads the sidecar of `key`, if there is a readable one.
    async fn read_sidecar(&self, key: &FileKey) -> Option<Sidecar> {
        let path = Self::resolve_existing(&self.meta_root, key).await.ok()??;
        let raw = fs::read(&path).await.ok()?;
        match serde_json::from_slice(&raw) {
            Ok(sidecar) => Some(sidecar),
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "ignoring an unreadable sidecar");
                None
            }
        }
    }

    /// Metadata of the data file `meta` (of `key`), combining the sidecar when it matches.
    async fn blob_meta(&self, key: &FileKey, meta: &std::fs::Metadata) -> BlobMeta {
        let size = meta.len();
        let mtime_ns = mtime_nanos(meta);
        let sidecar = self.read_sidecar(key).await;
        let content_type = sidecar
            .as_ref()
            .map(|s| s.content_type.clone())
            .unwrap_or_else(|| guess_content_type(key.as_str()).to_owned());
        let etag = match sidecar {
            Some(s) if s.size == size && s.mtime_ns == mtime_ns => {
                format!("\"{}\"", &s.sha256[..s.sha256.len().min(40)])
            }
            // Legacy file, or the file changed behind the store's back.
            _ => format!("\"{size:x}-{mtime_ns:x}\""),
        };
        BlobMeta {
            content_type,
            size,
            etag: Some(etag),
            last_modified: meta.modified().ok().map(DateTime::<Utc>::from),
        }
    }
}

#[async_trait]
impl BlobStore for LocalFsBlobStore {
    fn mode(&self) -> StorageMode {
        StorageMode::Local
    }

    #[tracing::instrument(skip(self, data), fields(key = %key, size = data.len()))]
    async fn put(&self, key: &FileKey, data: Bytes, content_type: &str) -> Result<(), BlobError> {
        if Self::is_reserved(key) {
            return Err(BlobError::Other(anyhow!("the key {key} is reserved")));
        }
        let sha256 = {
            let data = data.clone();
            tokio::task::spawn_blocking(move || hex::encode(Sha256::digest(&data)))
                .await
                .map_err(|e| BlobError::Other(anyhow!(e).context("hashing the file")))?
        };

        let data_parent = Self::prepare_parent(&self.root, key).await?;
        let meta_parent = Self::prepare_parent(&self.meta_root, key).await?;
        let file_name = key.segments().last().unwrap_or(key.as_str());
        let data_target = data_parent.join(file_name);
        let meta_target = meta_parent.join(file_name);

        let (data_tmp, data_meta) = self.write_temp(&data).await?;
        let sidecar = Sidecar {
            content_type: content_type.to_owned(),
            sha256,
            size: data_meta.len(),
            mtime_ns: mtime_nanos(&data_meta),
        };
        let sidecar_json = match serde_json::to_vec(&sidecar) {
            Ok(json) => json,
            Err(e) => {
                let _ = fs::remove_file(&data_tmp).await;
                return Err(BlobError::Other(anyhow!(e).context("encoding the sidecar")));
            }
        };
        let (meta_tmp, _) = match self.write_temp(&sidecar_json).await {
            Ok(written) => written,
            Err(e) => {
                let _ = fs::remove_file(&data_tmp).await;
                return Err(e);
            }
        };

        // Data first: a reader in between sees the new bytes with the old sidecar, whose
        // size/mtime no longer match, so it falls back to a size/mtime etag (never a stale hash).
        if let Err(e) = Self::commit(&data_tmp, &data_target).await {
            let _ = fs::remove_file(&meta_tmp).await;
            return Err(e);
        }
        Self::commit(&meta_tmp, &meta_target).await
    }

    #[tracing::instrument(skip(self), fields(key = %key))]
    async fn get(&self, key: &FileKey, range: Option<ByteRange>) -> Result<Blob, BlobError> {
        if Self::is_reserved(key) {
            return Err(BlobError::NotFound);
        }
        let path = Self::resolve_existing(&self.root, key).await?.ok_or(BlobError::NotFound)?;
        let mut file = match fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if is_absent(&e) => return Err(BlobError::NotFound),
            Err(e) => return Err(other(e, format!("opening {}", path.display()))),
        };
        // Metadata of the opened file, so size and content agree even if it is replaced meanwhile.
        let fs_meta = file.metadata().await.map_err(|e| other(e, format!("reading metadata of {}", path.display())))?;
        let meta = self.blob_meta(key, &fs_meta).await;

        let Some(range) = range else {
            let body = ReaderStream::with_capacity(file, CHUNK);
            return Ok(Blob { meta, range: None, body: Box::pin(body) });
        };
        let (first, last) = range.resolve(meta.size).ok_or(BlobError::RangeNotSatisfiable { size: meta.size })?;
        file.seek(SeekFrom::Start(first)).await.map_err(|e| other(e, format!("seeking in {}", path.display())))?;
        let body = ReaderStream::with_capacity(file.take(last - first + 1), CHUNK);
        Ok(Blob { meta, range: Some((first, last)), body: Box::pin(body) })
    }

    #[tracing::instrument(skip(self), fields(key = %key))]
    async fn head(&self, key: &FileKey) -> Result<Option<BlobMeta>, BlobError> {
        if Self::is_reserved(key) {
            return Ok(None);
        }
        let Some(path) = Self::resolve_existing(&self.root, key).await? else {
            return Ok(None);
        };
        match fs::metadata(&path).await {
            Ok(m) => Ok(Some(self.blob_meta(key, &m).await)),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(other(e, format!("reading metadata of {}", path.display()))),
        }
    }

    #[tracing::instrument(skip(self), fields(key = %key))]
    async fn delete(&self, key: &FileKey) -> Result<(), BlobError> {
        if Self::is_reserved(key) {
            return Ok(());
        }
        for base in [&self.root, &self.meta_root] {
            remove_under(base, key).await?;
        }
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn health(&self) -> Result<(), BlobError> {
        let probe = b"wimmelwelt storage probe";
        let unavailable =
            |e: anyhow::Error| BlobError::Unavailable(e.context(format!("storage root {}", self.root.display())));
        let (tmp, _) = self.write_temp(probe).await.map_err(|e| unavailable(anyhow!(e)))?;
        let read = fs::read(&tmp).await;
        let removed = fs::remove_file(&tmp).await;
        let read = read.context("reading the probe file back").map_err(unavailable)?;
        removed.context("deleting the probe file").map_err(unavailable)?;
        if read != probe {
            return Err(unavailable(anyhow!("the probe file read back differs from what was written")));
        }
        Ok(())
    }
}

/// Removes `<base>/<key>` (the entry itself, never a symlink's target), if present and its
/// directory lies under `base`.
async fn remove_under(base: &Path, key: &FileKey) -> Result<(), BlobError> {
    let joined = LocalFsBlobStore::join(base, key);
    let (Some(parent), Some(name)) = (joined.parent(), joined.file_name()) else {
        return Ok(());
    };
    let real_parent = match fs::canonicalize(parent).await {
        Ok(p) => p,
        Err(e) if is_absent(&e) => return Ok(()),
        Err(e) => return Err(other(e, format!("resolving {}", parent.display()))),
    };
    if !real_parent.starts_with(base) {
        tracing::warn!(key = %key, "not deleting a file whose directory lies outside the storage root");
        return Ok(());
    }
    let path = real_parent.join(name);
    match fs::symlink_metadata(&path).await {
        Ok(m) if m.is_dir() => return Err(BlobError::Other(anyhow!("{key} is a directory, not a file"))),
        Ok(_) => {}
        Err(e) if is_absent(&e) => return Ok(()),
        Err(e) => return Err(other(e, format!("reading metadata of {}", path.display()))),
    }
    match fs::remove_file(&path).await {
        Ok(()) => Ok(()),
        Err(e) if is_absent(&e) => Ok(()),
        Err(e) => Err(other(e, format!("deleting {}", path.display()))),
    }
}

/// `true` for "no such file" (including "a path component is not a directory").
fn is_absent(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory)
}

fn other(e: std::io::Error, context: String) -> BlobError {
    BlobError::Other(anyhow::Error::new(e).context(context))
}

/// Modification time in nanoseconds since the epoch (0 if unknown).
fn mtime_nanos(meta: &std::fs::Metadata) -> u128 {
    meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())
}

/// The content type of a legacy file (stored without a sidecar), guessed from its extension.
pub fn guess_content_type(key: &str) -> &'static str {
    let name = key.rsplit('/').next().unwrap_or(key);
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return "application/octet-stream",
    };
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_guessed_from_the_extension() {
        assert_eq!(guess_content_type("a/b/photo.JPG"), "image/jpeg");
        assert_eq!(
            guess_content_type("x.pptx"),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        );
        assert_eq!(guess_content_type("docs/report.pdf"), "application/pdf");
        assert_eq!(guess_content_type("noext"), "application/octet-stream");
        assert_eq!(guess_content_type(".png"), "application/octet-stream");
        assert_eq!(guess_content_type("archive.tar.gz"), "application/octet-stream");
    }
}
