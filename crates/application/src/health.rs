//! Health of the service's dependencies, for `/readiness` and `/api/health`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::StorageMode;
use ports::{BlobStore, ParentRepository};

/// Result of one dependency check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub ok: bool,
    pub latency_ms: u64,
    /// A short, non-sensitive reason when not ok.
    pub error: Option<String>,
}

/// Database and storage status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    pub database: CheckResult,
    pub storage: Option<(StorageMode, CheckResult)>,
}

impl HealthReport {
    /// `true` if every performed check succeeded.
    pub fn ok(&self) -> bool {
        self.database.ok && self.storage.as_ref().is_none_or(|(_, s)| s.ok)
    }
}

/// Checks database and storage within a time limit each.
#[derive(Clone)]
pub struct HealthService {
    db: Arc<dyn ParentRepository>,
    store: Arc<dyn BlobStore>,
    timeout: Duration,
}

impl std::fmt::Debug for HealthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthService").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

async fn timed<F, E>(timeout: Duration, f: F) -> CheckResult
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let start = Instant::now();
    let outcome = tokio::time::timeout(timeout, f).await;
    let latency_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(Ok(())) => CheckResult { ok: true, latency_ms, error: None },
        Ok(Err(e)) => CheckResult { ok: false, latency_ms, error: Some(e.to_string()) },
        Err(_) => CheckResult { ok: false, latency_ms, error: Some("timeout".into()) },
    }
}

impl HealthService {
    /// Checks with `timeout` per dependency.
    pub fn new(db: Arc<dyn ParentRepository>, store: Arc<dyn BlobStore>, timeout: Duration) -> Self {
        Self { db, store, timeout }
    }

    /// Only the database (readiness).
    pub async fn database(&self) -> CheckResult {
        timed(self.timeout, self.db.ping()).await
    }

    /// Database and storage, concurrently.
    pub async fn full(&self) -> HealthReport {
        let (database, storage) = futures::join!(self.database(), timed(self.timeout, self.store.health()));
        HealthReport { database, storage: Some((self.store.mode(), storage)) }
    }
}
