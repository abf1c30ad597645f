//! Errors of the use cases, one enum per kind of operation.

use domain::{FieldError, RegistrationError, UploadError};
use ports::{BlobError, RepoError};

/// Logging in.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Identifier or password missing.
    #[error("identifier or password missing")]
    MissingCredentials,
    /// No account with that identifier, or the wrong password (deliberately not distinguished).
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unknown(anyhow::Error),
}

/// Registering a parent or caregiver.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// Required fields missing (camelCase names).
    #[error("missing required fields: {0:?}")]
    MissingFields(Vec<&'static str>),
    /// Email or username already used by a parent or caregiver.
    #[error("credentials already registered")]
    Duplicate,
    /// The email address is not usable.
    #[error("invalid email address")]
    InvalidEmail,
    /// The password breaks the password rules.
    #[error("password too weak")]
    WeakPassword,
    /// The username breaks the username rules.
    #[error("invalid username")]
    InvalidUsername,
    /// An upload broke the upload rules.
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("database or storage unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unknown(anyhow::Error),
}

/// Reading, changing or deleting one profile.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No valid token, but the operation needs one.
    #[error("authentication required")]
    Unauthorized,
    /// The caller may not act on this account.
    #[error("not the owner")]
    Forbidden,
    /// No such account (or a malformed id).
    #[error("not found")]
    NotFound,
    /// The update would blank a required field.
    #[error("required field {0} must not be empty")]
    BlankRequired(&'static str),
    /// A field's new value is not usable (e.g. a malformed email).
    #[error("field {0} is not valid")]
    InvalidField(&'static str),
    /// A new password breaks the password rules.
    #[error("password too weak")]
    WeakPassword,
    /// The new email or username belongs to another account.
    #[error("credentials already registered")]
    Duplicate,
    /// The profile kept being changed concurrently; the update was given up after several attempts.
    #[error("the profile was changed concurrently")]
    Conflict,
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("database or storage unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unknown(anyhow::Error),
}

/// Searches and lookups that only read.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("not found")]
    NotFound,
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unknown(anyhow::Error),
}

/// Reading a stored file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The key is empty.
    #[error("empty file key")]
    EmptyKey,
    /// No such file, or a key that is not a safe relative path.
    #[error("file not found")]
    NotFound,
    /// A private file requested without a valid signature.
    #[error("access to a private file denied")]
    Forbidden,
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    #[error("storage unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unknown(anyhow::Error),
}

impl From<RepoError> for LoginError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Unavailable(e) => Self::Unavailable(e),
            RepoError::Duplicate { .. } => Self::Unknown(anyhow::anyhow!("unexpected duplicate on login")),
            RepoError::Conflict => Self::Unknown(anyhow::anyhow!("unexpected revision conflict on login")),
            RepoError::Other(e) => Self::Unknown(e),
        }
    }
}

impl From<RepoError> for RegisterError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Unavailable(e) => Self::Unavailable(e),
            RepoError::Duplicate { .. } => Self::Duplicate,
            RepoError::Conflict => Self::Unknown(anyhow::anyhow!("unexpected revision conflict on registration")),
            RepoError::Other(e) => Self::Unknown(e),
        }
    }
}

impl From<RepoError> for ProfileError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Unavailable(e) => Self::Unavailable(e),
            RepoError::Duplicate { .. } => Self::Duplicate,
            RepoError::Conflict => Self::Conflict,
            RepoError::Other(e) => Self::Unknown(e),
        }
    }
}

impl From<RepoError> for QueryError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Unavailable(e) => Self::Unavailable(e),
            RepoError::Duplicate { .. } => Self::Unknown(anyhow::anyhow!("unexpected duplicate on read")),
            RepoError::Conflict => Self::Unknown(anyhow::anyhow!("unexpected revision conflict on read")),
            RepoError::Other(e) => Self::Unknown(e),
        }
    }
}

impl From<BlobError> for RegisterError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::Unavailable(e) => Self::Unavailable(e),
            other => Self::Unknown(anyhow::Error::new(other).context("storing an upload")),
        }
    }
}

impl From<BlobError> for ProfileError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::Unavailable(e) => Self::Unavailable(e),
            other => Self::Unknown(anyhow::Error::new(other).context("storing an upload")),
        }
    }
}

impl From<BlobError> for FileError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::NotFound => Self::NotFound,
            BlobError::RangeNotSatisfiable { size } => Self::RangeNotSatisfiable { size },
            BlobError::Unavailable(e) => Self::Unavailable(e),
            BlobError::Other(e) => Self::Unknown(e),
        }
    }
}

impl From<RegistrationError> for RegisterError {
    fn from(e: RegistrationError) -> Self {
        match e {
            RegistrationError::MissingFields(f) => Self::MissingFields(f),
            RegistrationError::InvalidEmail => Self::InvalidEmail,
            RegistrationError::WeakPassword => Self::WeakPassword,
            RegistrationError::InvalidUsername => Self::InvalidUsername,
        }
    }
}

impl From<FieldError> for ProfileError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::Blank(f) => Self::BlankRequired(f),
            FieldError::Invalid(f) => Self::InvalidField(f),
        }
    }
}

impl From<ProfileError> for RegisterError {
    fn from(e: ProfileError) -> Self {
        match e {
            ProfileError::Upload(u) => Self::Upload(u),
            ProfileError::Duplicate => Self::Duplicate,
            ProfileError::Unavailable(e) => Self::Unavailable(e),
            ProfileError::Unknown(e) => Self::Unknown(e),
            other => Self::Unknown(anyhow::Error::new(other)),
        }
    }
}
