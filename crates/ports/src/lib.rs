//! Ports: what the use cases need from the outside world, as object-safe async traits held as
//! `Arc<dyn …>`. Adapters (MongoDB, S3, the local filesystem, JWT, bcrypt) implement them; the
//! use cases never name an adapter.

pub mod accounts;
#[cfg(feature = "contract-tests")]
pub mod contract;
pub mod file_urls;
pub mod files;
pub mod security;

pub use accounts::{
    CaregiverFilter, CaregiverRepository, IdentifierRegistry, MatchRepository, ParentRepository, RepoError,
};
pub use files::{Blob, BlobBody, BlobError, BlobMeta, BlobStore, ByteRange};
pub use security::{PasswordHasher, TokenError, TokenService};

#[cfg(feature = "mocks")]
pub use accounts::{MockCaregiverRepository, MockIdentifierRegistry, MockMatchRepository, MockParentRepository};
#[cfg(feature = "mocks")]
pub use files::MockBlobStore;
#[cfg(feature = "mocks")]
pub use security::{MockPasswordHasher, MockTokenService};
