//! File storage (S3 bucket or local directory).

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use domain::{FileKey, StorageMode};
use futures::Stream;

/// A file's content, streamed.
pub type BlobBody = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// What storage knows about a stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub content_type: String,
    /// Size of the whole file in bytes.
    pub size: u64,
    /// A strong validator for caching, quoted as in HTTP (`"…"`).
    pub etag: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// A byte range as requested by HTTP `Range: bytes=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `a-b`, inclusive.
    FromTo(u64, u64),
    /// `a-`.
    From(u64),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The inclusive `(first, last)` byte positions within a file of `size` bytes, or `None` if
    /// the range cannot be satisfied.
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        if size == 0 {
            return None;
        }
        let (first, last) = match self {
            ByteRange::FromTo(a, b) if a <= b => (a, b.min(size - 1)),
            ByteRange::FromTo(..) => return None,
            ByteRange::From(a) => (a, size - 1),
            ByteRange::Suffix(0) => return None,
            ByteRange::Suffix(n) => (size.saturating_sub(n), size - 1),
        };
        (first < size).then_some((first, last))
    }
}

/// A file being read: its metadata, the part being sent (inclusive range, `None` = all) and the
/// content of that part.
pub struct Blob {
    pub meta: BlobMeta,
    pub range: Option<(u64, u64)>,
    pub body: BlobBody,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob").field("meta", &self.meta).field("range", &self.range).finish_non_exhaustive()
    }
}

/// Failure of a storage call.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No file under that key.
    #[error("file not found")]
    NotFound,
    /// The requested range lies outside the file.
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    /// Storage could not be reached.
    #[error("storage unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Stores files under [`FileKey`]s. Both adapters (S3, local directory) behave the same; the
/// shared contract tests in each adapter's test suite hold them to it.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Which kind of storage this is (decides the URL form of new file references).
    fn mode(&self) -> StorageMode;
    /// Stores `data` under `key`, replacing any previous content.
    async fn put(&self, key: &FileKey, data: Bytes, content_type: &str) -> Result<(), BlobError>;
    /// Streams the file, or the requested range of it. `NotFound` if absent,
    /// `RangeNotSatisfiable` if the range lies outside it.
    async fn get(&self, key: &FileKey, range: Option<ByteRange>) -> Result<Blob, BlobError>;
    /// The file's metadata, `None` if absent.
    async fn head(&self, key: &FileKey) -> Result<Option<BlobMeta>, BlobError>;
    /// Deletes the file; deleting an absent file is not an error.
    async fn delete(&self, key: &FileKey) -> Result<(), BlobError>;
    /// A cheap round trip proving storage is usable (bucket reachable / directory writable).
    async fn health(&self) -> Result<(), BlobError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_against_the_file_size() {
        assert_eq!(ByteRange::FromTo(0, 9).resolve(100), Some((0, 9)));
        assert_eq!(ByteRange::FromTo(90, 200).resolve(100), Some((90, 99)));
        assert_eq!(ByteRange::From(95).resolve(100), Some((95, 99)));
        assert_eq!(ByteRange::Suffix(10).resolve(100), Some((90, 99)));
        assert_eq!(ByteRange::Suffix(500).resolve(100), Some((0, 99)));
        assert_eq!(ByteRange::From(100).resolve(100), None);
        assert_eq!(ByteRange::FromTo(5, 2).resolve(100), None);
        assert_eq!(ByteRange::Suffix(0).resolve(100), None);
        assert_eq!(ByteRange::From(0).resolve(0), None);
        assert_eq!(ByteRange::FromTo(0, u64::MAX).resolve(70), Some((0, 69)));
        assert_eq!(ByteRange::Suffix(u64::MAX).resolve(70), Some((0, 69)));
        assert_eq!(ByteRange::From(u64::MAX).resolve(70), None);
    }
}
