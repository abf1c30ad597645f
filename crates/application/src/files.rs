//! Storing uploads, turning file references into URLs, serving files, and signing URLs of
//! private files.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{FileKey, FileKeyError, FileRef, StorageMode, UploadPolicy};
use hmac::{Hmac, Mac};
use ports::file_urls::{api_files_url, uploads_url};
use ports::{Blob, BlobError, BlobStore, ByteRange};

/// The storage key behind a stored URL (see [`ports::file_urls::key_from_url`]).
pub use ports::file_urls::key_from_url;
use sha2::{Digest, Sha256};

use crate::errors::FileError;
use crate::uploads::{DecodedUpload, UploadData, UploadKind, decode};

/// Key prefixes of private files: served only with a valid signature.
pub const PRIVATE_PREFIXES: &[&str] = &["caregivers/contracts/", "messages/attachments/"];

/// How long a signed URL of a private file stays valid.
pub const SIGNED_URL_TTL_SECONDS: i64 = 3600;

/// `true` if the key names a private file (contract documents, message attachments).
pub fn is_private(key: &str) -> bool {
    PRIVATE_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Signs and checks expiring URLs of private files with a key derived from the auth secret, so
/// every instance behind the load balancer accepts every other instance's URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(<redacted>)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl UrlSigner {
    /// A signer whose key is derived from `secret` (domain-separated from token signing).
    pub fn new(secret: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"wimmelwelt/file-url/v1\0");
        h.update(secret);
        Self { key: h.finalize().into() }
    }

    fn mac(&self, key: &str, expires: i64) -> HmacSha256 {
        // Hmac accepts keys of any length; 32 bytes can never be refused.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// `(expires, signature)` for `key`, valid until `now + ttl`.
    pub fn sign(&self, key: &str, now: DateTime<Utc>) -> (i64, String) {
        let expires = now.timestamp() + SIGNED_URL_TTL_SECONDS;
        (expires, hex::encode(self.mac(key, expires).finalize().into_bytes()))
    }

    /// `true` if `signature` was made for `key` and `expires` and has not expired.
    pub fn verify(&self, key: &str, expires: i64, signature: &str, now: DateTime<Utc>) -> bool {
        if expires < now.timestamp() {
            return false;
        }
        let Ok(sig) = hex::decode(signature) else { return false };
        self.mac(key, expires).verify_slice(&sig).is_ok()
    }
}

/// Proof of access to a private file, as sent in the URL's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAccess {
    pub expires: i64,
    pub signature: String,
}

/// Uploads, URLs and reads of stored files.
#[derive(Clone)]
pub struct FileService {
    store: Arc<dyn BlobStore>,
    policy: UploadPolicy,
    signer: UrlSigner,
    membership_invoice_key: Option<String>,
}

impl std::fmt::Debug for FileService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileService")
            .field("mode", &self.store.mode())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl FileService {
    /// A file service over `store`.
    pub fn new(
        store: Arc<dyn BlobStore>,
        policy: UploadPolicy,
        signer: UrlSigner,
        membership_invoice_key: Option<String>,
    ) -> Self {
        Self { store, policy, signer, membership_invoice_key }
    }

    /// The storage adapter (for health checks).
    pub fn store(&self) -> &Arc<dyn BlobStore> {
        &self.store
    }

    /// Decodes and checks an upload against the policy in force.
    pub fn decode(&self, kind: UploadKind, upload: &UploadData) -> Result<DecodedUpload, domain::UploadError> {
        decode(&self.policy, kind, upload)
    }

    /// The stored URL of a new file: `/api/files/<encoded key>` (S3) or `/uploads/<key>` (local).
    pub fn stored_url(&self, key: &FileKey) -> String {
        match self.store.mode() {
            StorageMode::S3 => api_files_url(key.as_str()),
            StorageMode::Local => uploads_url(key.as_str()),
        }
    }

    /// The URL to hand to a viewer: the stored URL for public files; for private files a signed,
    /// expiring `/api/files/…?expires=…&signature=…` URL.
    pub fn viewer_url(&self, file: &FileRef, now: DateTime<Utc>) -> String {
        match file.key.as_deref() {
            Some(key) if is_private(key) => {
                let (expires, sig) = self.signer.sign(key, now);
                format!("{}?expires={expires}&signature={sig}", api_files_url(key))
            }
            _ => file.url.clone(),
        }
    }

    /// Stores a checked upload under `<folder>/<uuid>.<ext>` and returns its reference.
    #[tracing::instrument(skip_all, fields(folder = folder, size = upload.bytes.len()))]
    pub async fn store_upload(
        &self,
        folder: &str,
        upload: DecodedUpload,
        now: DateTime<Utc>,
    ) -> Result<FileRef, BlobError> {
        let key = FileKey::generate(folder, upload.accepted.extension);
        let size = upload.bytes.len() as u64;
        self.store.put(&key, upload.bytes, upload.accepted.mime_type).await?;
        Ok(FileRef {
            url: self.stored_url(&key),
            key: Some(key.as_str().to_owned()),
            file_name: upload.file_name,
            mime_type: Some(upload.accepted.mime_type.to_owned()),
            size: Some(size),
            uploaded_at: Some(now),
        })
    }

    /// Deletes the files behind these references; failures are logged, never returned (a left-over
    /// file is better than a failed request after the data change succeeded).
    pub async fn delete_quietly<'a>(&self, refs: impl IntoIterator<Item = &'a FileRef>) {
        for r in refs {
            let Some(key) = r.file_key() else { continue };
            if let Err(e) = self.store.delete(&key).await {
                tracing::warn!(key = %key, error = %e, "could not delete a stored file");
            }
        }
    }

    /// Opens a stored file for a request. Private files need a valid `access` signature.
    pub async fn open(
        &self,
        raw_key: &str,
        range: Option<ByteRange>,
        access: Option<&FileAccess>,
        now: DateTime<Utc>,
    ) -> Result<Blob, FileError> {
        let key = match FileKey::parse(raw_key) {
            Ok(k) => k,
            Err(FileKeyError::Empty) => return Err(FileError::EmptyKey),
            Err(FileKeyError::Unsafe) => return Err(FileError::NotFound),
        };
        if is_private(key.as_str()) {
            let ok = access.is_some_and(|a| self.signer.verify(key.as_str(), a.expires, &a.signature, now));
            if !ok {
                return Err(FileError::Forbidden);
            }
        }
        Ok(self.store.get(&key, range).await?)
    }

    /// The membership receipt from storage, if a key is configured; `None` if not configured.
    pub async fn membership_invoice(&self) -> Option<Result<Blob, FileError>> {
        let key = self.membership_invoice_key.as_deref()?;
        let key = match FileKey::parse(key) {
            Ok(k) => k,
            Err(_) => return Some(Err(FileError::NotFound)),
        };
        Some(self.store.get(&key, None).await.map_err(FileError::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_verify_once_and_expire() {
        let s = UrlSigner::new(b"secret-secret-secret-secret-secret");
        let now = Utc::now();
        let (exp, sig) = s.sign("caregivers/contracts/a.pdf", now);
        assert!(s.verify("caregivers/contracts/a.pdf", exp, &sig, now));
        assert!(!s.verify("caregivers/contracts/b.pdf", exp, &sig, now));
        assert!(!s.verify("caregivers/contracts/a.pdf", exp + 1, &sig, now));
        assert!(!s.verify(
            "caregivers/contracts/a.pdf",
            exp,
            &sig,
            now + chrono::Duration::seconds(SIGNED_URL_TTL_SECONDS + 1)
        ));
        let other = UrlSigner::new(b"another-secret-another-secret-xx");
        assert!(!other.verify("caregivers/contracts/a.pdf", exp, &sig, now));
        assert!(!s.verify("caregivers/contracts/a.pdf", exp, "zz", now));
    }

    #[test]
    fn private_prefixes() {
        assert!(is_private("caregivers/contracts/x.pdf"));
        assert!(is_private("messages/attachments/a--b/x.png"));
        assert!(!is_private("caregivers/logos/x.png"));
    }
}
