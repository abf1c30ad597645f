//! The lazily connected database handle shared by every repository of one store.
//!
//! A `mongodb+srv://` URI needs DNS (SRV and TXT lookups) before a client can exist. If DNS or
//! the cluster's records are unreachable at start-up, the service must still start (and report
//! not-ready), so the lookups are retried in the background and every operation meanwhile fails
//! with [`RepoError::Unavailable`].

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use bson::Document;
use mongodb::error::ErrorKind;
use mongodb::options::{ClientOptions, ConnectionString};
use mongodb::{Client, Collection, Database};
use ports::RepoError;

use crate::error;

/// The application name the client reports to the server.
const APP_NAME: &str = "wimmelwelt-api";
/// Upper bound of the TCP/TLS connect timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// First and longest pause between two attempts to resolve the connection string.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// The database once a client exists; shared (cheaply cloned) by the store and its repositories.
#[derive(Debug, Clone)]
pub(crate) struct DbHandle {
    db: Arc<OnceLock<Database>>,
}

impl DbHandle {
    /// The database, or `Unavailable` while the connection string is not resolved yet.
    pub(crate) fn db(&self) -> Result<Database, RepoError> {
        self.db.get().cloned().ok_or_else(|| {
            RepoError::Unavailable(anyhow::anyhow!(
                "MongoDB is not connected yet: its connection string could not be resolved (DNS); retrying"
            ))
        })
    }

    /// A collection of the database, or `Unavailable` (see [`DbHandle::db`]).
    pub(crate) fn coll(&self, name: &str) -> Result<Collection<Document>, RepoError> {
        Ok(self.db()?.collection(name))
    }

    /// `true` once a client exists (it may still be unable to reach the server).
    pub(crate) fn is_resolved(&self) -> bool {
        self.db.get().is_some()
    }
}

/// Why no client could be built.
enum BuildError {
    /// The URI or its options are wrong: retrying cannot help.
    Invalid(anyhow::Error),
    /// The connection string could not be resolved (DNS): retrying may help.
    Unresolved(mongodb::error::Error),
}

/// Settings applied to every client.
#[derive(Debug, Clone)]
struct Settings {
    db_name: String,
    server_selection_timeout: Duration,
}

async fn build(uri: &str, settings: &Settings) -> Result<Database, BuildError> {
    // Syntax and options only, no DNS: whatever fails here is a malformed URI.
    let parsed = ConnectionString::parse(uri)
        .map_err(|e| BuildError::Invalid(anyhow::anyhow!("malformed MongoDB connection string: {e}")))?;
    let mut options = match ClientOptions::parse(parsed).await {
        Ok(options) => options,
        Err(e) if matches!(e.kind.as_ref(), ErrorKind::InvalidArgument { .. }) => {
            return Err(BuildError::Invalid(anyhow::anyhow!("invalid MongoDB connection string: {e}")));
        }
        Err(e) => return Err(BuildError::Unresolved(e)),
    };
    options.app_name = Some(APP_NAME.to_owned());
    options.server_selection_timeout = Some(settings.server_selection_timeout);
    options.connect_timeout = Some(settings.server_selection_timeout.min(MAX_CONNECT_TIMEOUT));
    let client = Client::with_options(options)
        .map_err(|e| BuildError::Invalid(anyhow::Error::new(e).context("creating the MongoDB client")))?;
    Ok(client.database(&settings.db_name))
}

/// Builds the handle for `uri`. A malformed URI is an error; a connection string that cannot be
/// resolved yet (or not within `server_selection_timeout`) gives a handle that is resolved in the
/// background, retrying with backoff for as long as the handle is in use.
pub(crate) async fn connect(uri: &str, db_name: &str, server_selection_timeout: Duration) -> anyhow::Result<DbHandle> {
    let settings = Settings { db_name: db_name.to_owned(), server_selection_timeout };
    let handle = DbHandle { db: Arc::new(OnceLock::new()) };
    match tokio::time::timeout(server_selection_timeout, build(uri, &settings)).await {
        Ok(Ok(db)) => {
            let _ = handle.db.set(db);
        }
        Ok(Err(BuildError::Invalid(e))) => return Err(e),
        Ok(Err(BuildError::Unresolved(e))) => {
            tracing::warn!(error = %error::describe(&e), "MongoDB connection string not resolvable yet; retrying in the background");
            spawn_resolution(uri.to_owned(), settings, Arc::downgrade(&handle.db));
        }
        Err(_elapsed) => {
            tracing::warn!("resolving the MongoDB connection string timed out; retrying in the background");
            spawn_resolution(uri.to_owned(), settings, Arc::downgrade(&handle.db));
        }
    }
    Ok(handle)
}

/// Retries [`build`] until it succeeds, fails for good, or the handle is no longer used.
fn spawn_resolution(uri: String, settings: Settings, cell: Weak<OnceLock<Database>>) {
    tokio::spawn(async move {
        let mut delay = FIRST_RETRY;
        loop {
            tokio::time::sleep(delay).await;
            let Some(cell) = cell.upgrade() else { return };
            let attempt =
                tokio::time::timeout(settings.server_selection_timeout.max(FIRST_RETRY), build(&uri, &settings));
            match attempt.await {
                Ok(Ok(db)) => {
                    let _ = cell.set(db);
                    tracing::info!("MongoDB connection string resolved");
                    return;
                }
                Ok(Err(BuildError::Invalid(e))) => {
                    // Only possible if the SRV/TXT records now carry invalid options.
                    tracing::error!(error = %format!("{e:#}"), "MongoDB connection string is invalid; giving up");
                    return;
                }
                Ok(Err(BuildError::Unresolved(e))) => {
                    tracing::warn!(error = %error::describe(&e), retry_in_s = delay.as_secs(), "MongoDB connection string still not resolvable");
                }
                Err(_elapsed) => {
                    tracing::warn!(retry_in_s = delay.as_secs(), "resolving the MongoDB connection string timed out");
                }
            }
            delay = (delay * 2).min(MAX_RETRY);
        }
    });
}
