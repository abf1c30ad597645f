//! Repositories for accounts and matches.

use async_trait::async_trait;
use domain::{Caregiver, Match, Parent, PasswordHash, UserId};

/// Failure of a repository call.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A unique index refused the write; `field` names the indexed field when known
    /// (`email`, `username`, `profilePath`).
    #[error("duplicate value for {field:?}")]
    Duplicate { field: Option<String> },
    /// The database could not be reached in time (server selection or network failure).
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The stored revision differs from the entity's: someone else changed it since it was read.
    #[error("the document was changed concurrently")]
    Conflict,
    /// Anything else (bugs, unreadable documents, …).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Filters of the public caregiver search; all present filters must hold (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaregiverFilter {
    /// Exact postal code (also matching a legacy document that stores it as a number).
    pub postal_code: Option<String>,
    /// City, compared case-insensitively but otherwise exactly.
    pub city: Option<String>,
    /// Exact city slug.
    pub city_slug: Option<String>,
    /// Case-insensitive substring of postal code, city, daycare name or name. Taken literally:
    /// regex metacharacters match themselves.
    pub search: Option<String>,
    /// Rows to skip (after sorting newest first).
    pub skip: Option<u64>,
    /// At most this many rows.
    pub limit: Option<u64>,
}

/// Parents, stored in the legacy `parents` collection.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ParentRepository: Send + Sync {
    /// Stores a new parent (its id is already set). `Duplicate` if email or username is taken.
    async fn insert(&self, parent: &Parent) -> Result<(), RepoError>;
    /// The parent with this id, if any.
    async fn find_by_id(&self, id: &UserId) -> Result<Option<Parent>, RepoError>;
    /// The parent whose email or username equals `identifier`, ignoring case (an exact match wins).
    async fn find_by_login(&self, identifier: &str) -> Result<Option<Parent>, RepoError>;
    /// `true` if a parent other than `except` uses this email or username (both compared
    /// case-insensitively, each against email and username).
    async fn credentials_taken<'a>(
        &self,
        email: &str,
        username: &str,
        except: Option<&'a UserId>,
    ) -> Result<bool, RepoError>;
    /// Writes every field of `parent` (fields the service does not know are left untouched), but
    /// only if the stored revision equals `parent.revision` (a missing stored revision counts as 0);
    /// the stored revision becomes `parent.revision + 1`.
    /// Returns `Ok(false)` if the parent no longer exists and [`RepoError::Conflict`] if it exists
    /// with another revision (someone else changed it since it was read).
    async fn update(&self, parent: &Parent) -> Result<bool, RepoError>;
    /// Replaces only the stored password (used to upgrade legacy plain-text passwords) and
    /// increments the stored revision, so that an update based on the old state conflicts instead
    /// of writing the old hash back.
    async fn set_password(&self, id: &UserId, hash: &PasswordHash) -> Result<(), RepoError>;
    /// Deletes the parent; `false` if there was none.
    async fn delete(&self, id: &UserId) -> Result<bool, RepoError>;
    /// Round trip to the database, for health checks.
    async fn ping(&self) -> Result<(), RepoError>;
}

/// Caregivers, stored in the legacy `caregivers` collection.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait CaregiverRepository: Send + Sync {
    /// Stores a new caregiver (id and slugs already set). `Duplicate` if email, username or
    /// profile path is taken.
    async fn insert(&self, caregiver: &Caregiver) -> Result<(), RepoError>;
    /// The caregiver with this id, if any.
    async fn find_by_id(&self, id: &UserId) -> Result<Option<Caregiver>, RepoError>;
    /// The caregiver whose email or username equals `identifier`, ignoring case (an exact match wins).
    async fn find_by_login(&self, identifier: &str) -> Result<Option<Caregiver>, RepoError>;
    /// `true` if a caregiver other than `except` uses this email or username (both compared
    /// case-insensitively, each against email and username).
    async fn credentials_taken<'a>(
        &self,
        email: &str,
        username: &str,
        except: Option<&'a UserId>,
    ) -> Result<bool, RepoError>;
    /// Caregivers matching the filter, newest first.
    async fn search(&self, filter: &CaregiverFilter) -> Result<Vec<Caregiver>, RepoError>;
    /// The caregiver whose current or legacy profile path is `path`.
    async fn find_by_profile_path(&self, path: &str) -> Result<Option<Caregiver>, RepoError>;
    /// `true` if a caregiver other than `except` uses `path` as current or legacy profile path.
    async fn profile_path_taken<'a>(&self, path: &str, except: Option<&'a UserId>) -> Result<bool, RepoError>;
    /// The `city` values of caregivers with exactly this postal code (one entry per caregiver).
    async fn cities_for_postal_code(&self, postal_code: &str) -> Result<Vec<String>, RepoError>;
    /// Caregivers that have no stored profile path (legacy documents), for the slug backfill.
    async fn without_profile_path(&self) -> Result<Vec<Caregiver>, RepoError>;
    /// Writes every field of `caregiver` (fields the service does not know are left untouched), but
    /// only if the stored revision equals `caregiver.revision` (a missing stored revision counts as
    /// 0); the stored revision becomes `caregiver.revision + 1`.
    /// Returns `Ok(false)` if the caregiver no longer exists and [`RepoError::Conflict`] if it
    /// exists with another revision (someone else changed it since it was read).
    async fn update(&self, caregiver: &Caregiver) -> Result<bool, RepoError>;
    /// Replaces only the stored password and increments the stored revision, so that an update
    /// based on the old state conflicts instead of writing the old hash back.
    async fn set_password(&self, id: &UserId, hash: &PasswordHash) -> Result<(), RepoError>;
    /// Deletes the caregiver; `false` if there was none.
    async fn delete(&self, id: &UserId) -> Result<bool, RepoError>;
}

/// Login identifiers (lower-cased emails and usernames) held by accounts, unique across parents and
/// caregivers. Claiming an identifier before an account document is written closes the race between
/// two registrations (or updates) in different collections that pass the `credentials_taken` check
/// at the same time.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait IdentifierRegistry: Send + Sync {
    /// Reserves every identifier for `owner` (idempotent for identifiers `owner` already holds).
    /// `RepoError::Duplicate` if any is held by another account; then nothing stays reserved by
    /// this call. A claim whose holder has no account (a crash between claim and insert, or a
    /// failed release) is taken over once it is older than a grace period that covers a
    /// registration in progress.
    async fn claim(&self, owner: &UserId, identifiers: &[String]) -> Result<(), RepoError>;
    /// Releases the identifiers `owner` holds that are not in `keep` (`keep = []` releases all).
    async fn release_except(&self, owner: &UserId, keep: &[String]) -> Result<(), RepoError>;
}

/// Matches, stored in the legacy `matches` collection (references as id strings).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait MatchRepository: Send + Sync {
    /// Records the pair, or refreshes `updatedAt` of the existing one, and returns it.
    async fn upsert(&self, parent_id: &UserId, caregiver_id: &UserId) -> Result<Match, RepoError>;
    /// Every match the user takes part in (as parent or caregiver), newest first.
    async fn for_user(&self, user_id: &UserId) -> Result<Vec<Match>, RepoError>;
    /// Deletes every match the user takes part in; returns how many.
    async fn delete_for_user(&self, user_id: &UserId) -> Result<u64, RepoError>;
}
