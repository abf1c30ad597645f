//! File storage in an S3 bucket (or an S3-compatible server such as MinIO or moto), implementing
//! [`ports::BlobStore`] with `aws-sdk-s3`.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use domain::{FileKey, StorageMode};
use futures::TryStreamExt;
use ports::{Blob, BlobBody, BlobError, BlobMeta, BlobStore, ByteRange};

/// How long establishing a connection may take before the call counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one whole call (all retries, up to the response headers) may take.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// The content type of objects stored without one.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Where the bucket is and how to reach it.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// Bucket name.
    pub bucket: String,
    /// AWS region, e.g. `eu-central-1` (any value for most S3-compatible servers).
    pub region: String,
    /// Endpoint of an S3-compatible server (`http://127.0.0.1:9000`); `None` for AWS itself.
    pub endpoint: Option<String>,
    /// Static access key id; with `secret_access_key` it replaces the default credential chain.
    /// A deployment secret like the key itself, so never printed by `Debug` either.
    pub access_key_id: Option<String>,
    /// Static secret access key. Never printed by `Debug`.
    pub secret_access_key: Option<String>,
    /// Address buckets as `<endpoint>/<bucket>` instead of `<bucket>.<endpoint>` (needed by
    /// most S3-compatible servers).
    pub force_path_style: bool,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id.as_ref().map(|_| "[redacted]"))
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "[redacted]"))
            .field("force_path_style", &self.force_path_style)
            .finish()
    }
}

/// A [`BlobStore`] keeping files as objects in one S3 bucket, under their [`FileKey`].
#[derive(Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    region: String,
}

impl fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// Builds the client. Makes no network call (use [`BlobStore::health`] or
    /// [`S3BlobStore::ensure_bucket`] for that).
    ///
    /// The region is always explicit. When both keys are given they are used as static
    /// credentials and the default credential chain (environment, profile, EC2 metadata…) is
    /// never consulted; otherwise the default chain applies (e.g. an IAM role in production).
    pub async fn new(cfg: S3Settings) -> anyhow::Result<Self> {
        if cfg.bucket.is_empty() {
            return Err(anyhow!("S3 bucket name is empty"));
        }
        if cfg.region.is_empty() {
            return Err(anyhow!("S3 region is empty"));
        }
        let timeouts =
            TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).operation_timeout(OPERATION_TIMEOUT).build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(cfg.region.clone()))
            .timeout_config(timeouts);
        match (&cfg.access_key_id, &cfg.secret_access_key) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                loader = loader.credentials_provider(Credentials::new(id, secret, None, None, "wimmelwelt-config"));
            }
            (None, None) => {}
            _ => tracing::warn!(
                "only one of the S3 access key id / secret access key is set; using the default credential chain"
            ),
        }
        if let Some(endpoint) = &cfg.endpoint {
            loader = loader.endpoint_url(endpoint);
            // S3-compatible servers often reject the SDK's default flexible checksums
            // (aws-chunked uploads, CRC trailers); only send/verify them where an operation requires it.
            loader = loader
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        let shared = loader.load().await;
        let s3_config = aws_sdk_s3::config::Builder::from(&shared).force_path_style(cfg.force_path_style).build();
        Ok(Self { client: Client::from_conf(s3_config), bucket: cfg.bucket, region: cfg.region })
    }

    /// The bucket this store writes to.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket if it does not exist yet (for development and tests; production
    /// buckets are provisioned elsewhere).
    pub async fn ensure_bucket(&self) -> anyhow::Result<()> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => return Ok(()),
            Err(e)
                if status_of(&e) == Some(404) || e.code() == Some("NoSuchBucket") || e.code() == Some("NotFound") => {}
            Err(e) => {
                return Err(anyhow!("{}", DisplayErrorContext(&e)).context(format!("checking bucket {}", self.bucket)));
            }
        }
        let mut create = self.client.create_bucket().bucket(&self.bucket);
        // us-east-1 is the default location and must not be named explicitly.
        if self.region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.code(), Some("BucketAlreadyOwnedByYou")) => Ok(()),
            Err(e) => {
                Err(anyhow!("{}", DisplayErrorContext(&e))).with_context(|| format!("creating bucket {}", self.bucket))
            }
        }
    }

    /// The object's size, for filling `RangeNotSatisfiable`.
    async fn size_of(&self, key: &FileKey) -> Result<u64, BlobError> {
        match self.head(key).await? {
            Some(meta) => Ok(meta.size),
            None => Err(BlobError::NotFound),
        }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn mode(&self) -> StorageMode {
        StorageMode::S3
    }

    #[tracing::instrument(skip(self, data), fields(bucket = %self.bucket, key = %key, size = data.len()))]
    async fn put(&self, key: &FileKey, data: Bytes, content_type: &str) -> Result<(), BlobError> {
        let len = i64::try_from(data.len()).map_err(|_| BlobError::Other(anyhow!("file too large")))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .content_length(len)
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| map_error(e, || format!("storing {key}")))?;
        Ok(())
    }

    #[tracing::instrument(skip(self), fields(bucket = %self.bucket, key = %key))]
    async fn get(&self, key: &FileKey, range: Option<ByteRange>) -> Result<Blob, BlobError> {
        let header = match range {
            None => None,
            Some(ByteRange::FromTo(a, b)) if a <= b => Some(format!("bytes={a}-{b}")),
            Some(ByteRange::From(a)) => Some(format!("bytes={a}-")),
            Some(ByteRange::Suffix(n)) if n > 0 => Some(format!("bytes=-{n}")),
            // Not expressible as a valid Range header (a server would ignore it and send
            // everything), yet never satisfiable.
            Some(_) => return Err(BlobError::RangeNotSatisfiable { size: self.size_of(key).await? }),
        };

        let out = match self.client.get_object().bucket(&self.bucket).key(key.as_str()).set_range(header).send().await {
            Ok(out) => out,
            Err(e) => {
                let size_hint = unsatisfied_size(&e);
                return match map_error(e, || format!("reading {key}")) {
                    BlobError::RangeNotSatisfiable { .. } => match size_hint {
                        Some(size) => Err(BlobError::RangeNotSatisfiable { size }),
                        None => Err(BlobError::RangeNotSatisfiable { size: self.size_of(key).await? }),
                    },
                    other => Err(other),
                };
            }
        };

        let content_type = out.content_type().unwrap_or(DEFAULT_CONTENT_TYPE).to_owned();
        let etag = out.e_tag().map(quote_etag);
        let last_modified = out.last_modified().and_then(to_chrono);
        let part_len = out.content_length().and_then(|l| u64::try_from(l).ok());
        let content_range = out.content_range().and_then(parse_content_range);
        let body = byte_stream_body(out.body);

        let (size, sent, body) = match (range, content_range) {
            (None, _) => {
                let size = part_len.ok_or_else(|| BlobError::Other(anyhow!("S3 sent no Content-Length for {key}")))?;
                (size, None, body)
            }
            (Some(_), Some((first, last, size))) => (size, Some((first, last)), body),
            // The server ignored the Range header and sent the whole object: cut the range out.
            (Some(requested), None) => {
                let size = part_len.ok_or_else(|| BlobError::Other(anyhow!("S3 sent no Content-Length for {key}")))?;
                let (first, last) = requested.resolve(size).ok_or(BlobError::RangeNotSatisfiable { size })?;
                (size, Some((first, last)), slice_body(body, first, last - first + 1))
            }
        };
        Ok(Blob { meta: BlobMeta { content_type, size, etag, last_modified }, range: sent, body })
    }

    #[tracing::instrument(skip(self), fields(bucket = %self.bucket, key = %key))]
    async fn head(&self, key: &FileKey) -> Result<Option<BlobMeta>, BlobError> {
        let out = match self.client.head_object().bucket(&self.bucket).key(key.as_str()).send().await {
            Ok(out) => out,
            Err(e) => {
                return match map_error(e, || format!("reading metadata of {key}")) {
                    BlobError::NotFound => Ok(None),
                    other => Err(other),
                };
            }
        };
        let size = out
            .content_length()
            .and_then(|l| u64::try_from(l).ok())
            .ok_or_else(|| BlobError::Other(anyhow!("S3 sent no Content-Length for {key}")))?;
        Ok(Some(BlobMeta {
            content_type: out.content_type().unwrap_or(DEFAULT_CONTENT_TYPE).to_owned(),
            size,
            etag: out.e_tag().map(quote_etag),
            last_modified: out.last_modified().and_then(to_chrono),
        }))
    }

    #[tracing::instrument(skip(self), fields(bucket = %self.bucket, key = %key))]
    async fn delete(&self, key: &FileKey) -> Result<(), BlobError> {
        // S3 answers 204 for absent keys too.
        match self.client.delete_object().bucket(&self.bucket).key(key.as_str()).send().await {
            Ok(_) => Ok(()),
            Err(e) => match map_error(e, || format!("deleting {key}")) {
                BlobError::NotFound => Ok(()),
                other => Err(other),
            },
        }
    }

    #[tracing::instrument(skip(self), fields(bucket = %self.bucket))]
    async fn health(&self) -> Result<(), BlobError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(match map_error(e, || format!("checking bucket {}", self.bucket)) {
                BlobError::NotFound => BlobError::Other(anyhow!("bucket {} does not exist", self.bucket)),
                other => other,
            }),
        }
    }
}

/// The HTTP status of a service error, if the server answered at all.
fn status_of<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// For a 416 answer carrying `Content-Range: bytes */<size>`, that size.
fn unsatisfied_size<E>(e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Option<u64> {
    let raw = e.raw_response()?;
    if raw.status().as_u16() != 416 {
        return None;
    }
    raw.headers().get("content-range")?.trim().strip_prefix("bytes */")?.trim().parse().ok()
}

/// Maps an SDK failure onto the port's error kinds:
/// 404/`NoSuchKey` → `NotFound`, 416/`InvalidRange` → `RangeNotSatisfiable` (size filled in by
/// the caller), no answer (connect/dispatch failure, timeout) or 5xx → `Unavailable`, the rest
/// `Other` with `context`.
fn map_error<E>(e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>, context: impl FnOnce() -> String) -> BlobError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = status_of(&e);
    let code = e.code().map(str::to_owned);
    let detail = || anyhow!("{}", DisplayErrorContext(&e)).context(context());
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => BlobError::Unavailable(detail()),
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => match (status, code.as_deref()) {
            (_, Some("NoSuchBucket")) => BlobError::Other(detail()),
            (Some(404), _) | (_, Some("NoSuchKey" | "NotFound")) => BlobError::NotFound,
            (Some(416), _) | (_, Some("InvalidRange")) => BlobError::RangeNotSatisfiable { size: 0 },
            (Some(s), _) if s >= 500 => BlobError::Unavailable(detail()),
            (None, _) => BlobError::Unavailable(detail()),
            _ => BlobError::Other(detail()),
        },
        _ => BlobError::Other(detail()),
    }
}

/// `Content-Range: bytes <first>-<last>/<size>` → `(first, last, size)`.
fn parse_content_range(raw: &str) -> Option<(u64, u64, u64)> {
    let rest = raw.trim().strip_prefix("bytes")?.trim_start();
    let (span, size) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let (first, last, size) = (first.trim().parse().ok()?, last.trim().parse().ok()?, size.trim().parse().ok()?);
    (first <= last && last < size).then_some((first, last, size))
}

/// ETags in HTTP are quoted; some S3-compatible servers drop the quotes.
fn quote_etag(raw: &str) -> String {
    if raw.starts_with('"') || raw.starts_with("W/") { raw.to_owned() } else { format!("\"{raw}\"") }
}

fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// The SDK's body as the port's byte stream, chunk by chunk as it arrives.
fn byte_stream_body(body: ByteStream) -> BlobBody {
    Box::pin(futures::stream::try_unfold(body, |mut body| async move {
        match body.try_next().await {
            Ok(Some(chunk)) => Ok(Some((chunk, body))),
            Ok(None) => Ok(None),
            Err(e) => Err(std::io::Error::other(e)),
        }
    }))
}

/// `len` bytes of `body` starting at byte `skip`.
fn slice_body(body: BlobBody, skip: u64, len: u64) -> BlobBody {
    Box::pin(futures::stream::try_unfold((body, skip, len), |(mut body, mut skip, mut left)| async move {
        while left > 0 {
            let Some(mut chunk) = body.try_next().await? else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "object body ended before the range",
                ));
            };
            let dropped = skip.min(chunk.len() as u64);
            skip -= dropped;
            let mut chunk = chunk.split_off(dropped as usize);
            let kept = left.min(chunk.len() as u64);
            chunk.truncate(kept as usize);
            left -= kept;
            if !chunk.is_empty() {
                return Ok(Some((chunk, (body, skip, left))));
            }
        }
        Ok(None)
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn content_ranges_are_parsed() {
        assert_eq!(parse_content_range("bytes 10-19/100"), Some((10, 19, 100)));
        assert_eq!(parse_content_range("bytes 0-0/1"), Some((0, 0, 1)));
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("bytes 5-2/100"), None);
        assert_eq!(parse_content_range("bytes 0-100/100"), None);
    }

    #[test]
    fn etags_are_quoted() {
        assert_eq!(quote_etag("abc"), "\"abc\"");
        assert_eq!(quote_etag("\"abc\""), "\"abc\"");
    }

    #[test]
    fn debug_prints_neither_the_access_key_id_nor_the_secret_key() {
        let s = S3Settings {
            bucket: "b".into(),
            region: "eu-central-1".into(),
            access_key_id: Some("AKIAEXAMPLE".into()),
            secret_access_key: Some("super-secret-value".into()),
            ..S3Settings::default()
        };
        let printed = format!("{s:?}");
        assert!(!printed.contains("AKIAEXAMPLE"), "{printed}");
        assert!(!printed.contains("super-secret-value"), "{printed}");
        assert!(printed.contains(r#"access_key_id: Some("[redacted]")"#), "{printed}");
        assert!(printed.contains(r#"secret_access_key: Some("[redacted]")"#), "{printed}");
        assert!(printed.contains("eu-central-1"), "non-secret settings are still shown: {printed}");
    }

    #[tokio::test]
    async fn a_body_that_ignored_the_range_is_cut_to_it() {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            vec![Ok(Bytes::from_static(b"0123")), Ok(Bytes::from_static(b"4567")), Ok(Bytes::from_static(b"89"))];
        let body: BlobBody = Box::pin(futures::stream::iter(chunks));
        let out: Vec<Bytes> = slice_body(body, 3, 4).try_collect().await.unwrap();
        assert_eq!(out.concat(), b"3456");

        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from_static(b"0123456789"))];
        let out: Vec<Bytes> = slice_body(Box::pin(futures::stream::iter(chunks)), 8, 2).try_collect().await.unwrap();
        assert_eq!(out.concat(), b"89");
    }
}
