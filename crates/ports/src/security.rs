//! Access tokens and password hashing.

use async_trait::async_trait;
use domain::{AuthClaims, PasswordHash};

/// Why a token was refused. Callers answer every variant with 401.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid")]
    Invalid,
}

/// Issues and verifies signed access tokens.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait TokenService: Send + Sync {
    /// A signed token for these claims, valid for the configured lifetime.
    fn issue(&self, claims: &AuthClaims) -> anyhow::Result<String>;
    /// The claims of a valid token. `Expired` past its `exp`; `Invalid` for anything forged,
    /// malformed, unsigned (`alg: none`) or signed with another algorithm.
    fn verify(&self, token: &str) -> Result<AuthClaims, TokenError>;
}

/// Hashes and checks passwords. Implementations must not block the async executor.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new hash of `plain` (bcrypt, cost ≥ 10).
    async fn hash(&self, plain: &str) -> anyhow::Result<PasswordHash>;
    /// `true` if `plain` matches `stored`. A legacy plain-text value matches by constant-time
    /// comparison.
    async fn verify(&self, plain: &str, stored: &PasswordHash) -> anyhow::Result<bool>;
}
