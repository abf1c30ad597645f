//! What every handler can reach: the use cases and a few settings.

use std::sync::Arc;

use application::{AccountService, CaregiverService, FileService, HealthService, ParentService};
use ports::TokenService;

/// Shared, cheap-to-clone application state (no per-process business state: every instance
/// behind the load balancer answers alike).
#[derive(Clone)]
pub struct AppState {
    pub accounts: AccountService,
    pub parents: ParentService,
    pub caregivers: CaregiverService,
    pub files: FileService,
    pub health: HealthService,
    pub tokens: Arc<dyn TokenService>,
    pub info: ServiceInfo,
}

/// Facts about this deployment reported by `/api/health`.
#[derive(Clone, Debug)]
pub struct ServiceInfo {
    pub version: String,
    pub environment: String,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("info", &self.info).finish_non_exhaustive()
    }
}
