//! Preparing the database for the service: indexes and backfills, retried until done.
//!
//! Every instance runs this at start-up; every step is idempotent, so instances running it at
//! the same time do no harm.

use std::fmt;

use bson::Document;
use futures::TryStreamExt as _;
use mongodb::{Collection, IndexModel};

use crate::connection::DbHandle;
use crate::error::{describe, is_unavailable};
use crate::{CAREGIVERS, MongoStore, command_code, describe_chain, index_models, is_unavailable_chain, same_keys};

/// Server error codes of transient conditions (failover, shutdown, network): worth retrying.
const TRANSIENT_CODES: [i32; 13] = [
    6,     // HostUnreachable
    7,     // HostNotFound
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    12586, // BackgroundOperationInProgressForDatabase
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// A backfill that fails for a reason other than an unreachable server is given up after this
/// many attempts.
const MAX_BACKFILL_FAILURES: u32 = 5;

/// The index of [`index_models`] that the profile-path backfill relies on to detect two
/// instances giving out the same path.
const PROFILE_PATH_INDEX: (&str, &str) = (CAREGIVERS, "profilePath_unique");

/// An index that could not be created. Holds no server message text: a duplicate-key message
/// quotes the duplicate value (e.g. an email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexProblem {
    /// The collection.
    pub collection: &'static str,
    /// The index name.
    pub index: String,
    /// The server's error code, if the server answered (e.g. 11000: legacy duplicates prevent a
    /// unique index).
    pub code: Option<i32>,
    /// The error kind and code (never the server's message).
    pub error: String,
    /// `true` if the server was unreachable or in a transient state: trying again later may
    /// succeed. `false` for permanent reasons such as duplicates.
    pub retryable: bool,
}

impl fmt::Display for IndexProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}: {}", self.collection, self.index, self.error)
    }
}

fn index_name(model: &IndexModel) -> String {
    model.options.as_ref().and_then(|o| o.name.clone()).unwrap_or_default()
}

fn problem(collection: &'static str, index: &str, e: &mongodb::error::Error) -> IndexProblem {
    let code = command_code(e);
    let retryable = is_unavailable(e)
        || e.contains_label("RetryableWriteError")
        || code.is_some_and(|c| TRANSIENT_CODES.contains(&c));
    IndexProblem { collection, index: index.to_owned(), code, error: describe(e), retryable }
}

/// Creates one index unless an index with the same name or the same keys already exists.
async fn ensure_index(
    coll: &Collection<Document>,
    collection: &'static str,
    model: IndexModel,
) -> Result<(), IndexProblem> {
    let name = index_name(&model);
    let existing: Vec<IndexModel> = match coll.list_indexes().await {
        Ok(cursor) => cursor.try_collect().await.map_err(|e| problem(collection, &name, &e))?,
        // The collection does not exist yet (NamespaceNotFound): nothing to compare with.
        Err(e) if command_code(&e) == Some(26) => Vec::new(),
        Err(e) => return Err(problem(collection, &name, &e)),
    };
    for index in &existing {
        let existing_name = index.options.as_ref().and_then(|o| o.name.as_deref()).unwrap_or_default();
        if existing_name == name {
            return Ok(());
        }
        if same_keys(&index.keys, &model.keys) {
            tracing::info!(collection, index = name, existing = existing_name, "index exists under another name");
            return Ok(());
        }
    }
    coll.create_index(model).await.map(|_| ()).map_err(|e| problem(collection, &name, &e))
}

/// Tries every model; returns those that failed with their problem (each logged once here).
async fn ensure_models(
    handle: &DbHandle,
    models: Vec<(&'static str, IndexModel)>,
) -> Vec<((&'static str, IndexModel), IndexProblem)> {
    let mut failed = Vec::new();
    for (collection, model) in models {
        let name = index_name(&model);
        let result = match handle.coll(collection) {
            Ok(coll) => ensure_index(&coll, collection, model.clone()).await,
            Err(_) => Err(IndexProblem {
                collection,
                index: name.clone(),
                code: None,
                error: "not connected: the connection string is not resolved yet".to_owned(),
                retryable: true,
            }),
        };
        if let Err(p) = result {
            tracing::warn!(
                collection,
                index = %p.index,
                code = p.code,
                error = %p.error,
                retryable = p.retryable,
                "could not create index"
            );
            failed.push(((collection, model), p));
        }
    }
    failed
}

/// See [`MongoStore::ensure_indexes`].
pub(crate) async fn ensure_indexes(handle: &DbHandle, models: Vec<(&'static str, IndexModel)>) -> Vec<IndexProblem> {
    ensure_models(handle, models).await.into_iter().map(|(_, p)| p).collect()
}

/// A backfill still to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BackfillKind {
    ProfilePaths,
    Identifiers,
}

impl BackfillKind {
    fn name(self) -> &'static str {
        match self {
            Self::ProfilePaths => "profile paths",
            Self::Identifiers => "login identifiers",
        }
    }
}

#[derive(Debug)]
struct Backfill {
    kind: BackfillKind,
    failures: u32,
}

/// The database preparation (indexes, then the profile-path and login-identifier backfills) with
/// what is left of it. [`Preparation::run`] tries what is left; call it again (with a pause)
/// until it returns `true`. A step that failed because MongoDB was unreachable is retried; an
/// index that failed for a permanent reason (e.g. legacy duplicates prevent a unique index) is
/// logged once and not retried; a backfill that keeps failing for another reason is given up
/// after a few attempts.
#[derive(Debug)]
pub struct Preparation {
    store: MongoStore,
    indexes: Vec<(&'static str, IndexModel)>,
    backfills: Vec<Backfill>,
    given_up: Vec<IndexProblem>,
    last_error: Option<String>,
}

impl Preparation {
    /// Everything still to do.
    pub fn new(store: MongoStore) -> Self {
        Self {
            store,
            indexes: index_models(),
            backfills: vec![
                Backfill { kind: BackfillKind::ProfilePaths, failures: 0 },
                Backfill { kind: BackfillKind::Identifiers, failures: 0 },
            ],
            given_up: Vec::new(),
            last_error: None,
        }
    }

    /// One pass over what is left: nothing is tried unless MongoDB answers a ping. Returns `true`
    /// once nothing is left to retry.
    #[tracing::instrument(skip_all)]
    pub async fn run(&mut self) -> bool {
        if let Err(e) = self.store.ping().await {
            self.last_error = Some(describe_chain(&anyhow::Error::new(e)));
            return self.is_done();
        }
        self.last_error = None;
        let pending = std::mem::take(&mut self.indexes);
        for (model, problem) in ensure_models(&self.store.handle, pending).await {
            if problem.retryable {
                self.last_error = Some(problem.to_string());
                self.indexes.push(model);
            } else {
                tracing::warn!(
                    collection = problem.collection,
                    index = %problem.index,
                    code = problem.code,
                    "index not created for a permanent reason (e.g. duplicates); not retried"
                );
                self.given_up.push(problem);
            }
        }
        let mut left = Vec::new();
        for mut backfill in std::mem::take(&mut self.backfills) {
            if backfill.kind == BackfillKind::ProfilePaths
                && self.given_up.iter().any(|p| (p.collection, p.index.as_str()) == PROFILE_PATH_INDEX)
            {
                tracing::error!("profile paths are not backfilled: their unique index could not be built");
                continue;
            }
            if backfill.kind == BackfillKind::ProfilePaths && self.index_pending(PROFILE_PATH_INDEX) {
                // Without the unique index two instances could give out the same path.
                left.push(backfill);
                continue;
            }
            let result = match backfill.kind {
                BackfillKind::ProfilePaths => self.store.backfill_profile_paths().await,
                BackfillKind::Identifiers => self.store.backfill_identifiers().await,
            };
            let Err(e) = result else { continue };
            let error = describe_chain(&e);
            if !is_unavailable_chain(&e) {
                backfill.failures += 1;
            }
            if backfill.failures >= MAX_BACKFILL_FAILURES {
                tracing::error!(backfill = backfill.kind.name(), error = %error, "backfill keeps failing; giving up");
            } else {
                tracing::warn!(backfill = backfill.kind.name(), error = %error, "backfill failed; will retry");
                self.last_error = Some(error);
                left.push(backfill);
            }
        }
        self.backfills = left;
        self.is_done()
    }

    fn index_pending(&self, (collection, name): (&str, &str)) -> bool {
        self.indexes.iter().any(|(c, m)| *c == collection && index_name(m) == name)
    }

    /// `true` once nothing is left to retry.
    pub fn is_done(&self) -> bool {
        self.indexes.is_empty() && self.backfills.is_empty()
    }

    /// The indexes still to create, as `collection.index`.
    pub fn pending_indexes(&self) -> Vec<String> {
        self.indexes.iter().map(|(c, m)| format!("{c}.{}", index_name(m))).collect()
    }

    /// The backfills still to run (`profile paths`, `login identifiers`).
    pub fn pending_backfills(&self) -> Vec<&'static str> {
        self.backfills.iter().map(|b| b.kind.name()).collect()
    }

    /// The indexes that failed for a permanent reason and are not retried.
    pub fn given_up(&self) -> &[IndexProblem] {
        &self.given_up
    }

    /// Why the last pass left something to do (safe to log), if it did.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
}
