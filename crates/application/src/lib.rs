//! Wimmelwelt's use cases. Each service holds the ports it needs as `Arc<dyn …>` and turns
//! repository, storage and token failures into per-operation errors that the HTTP layer maps to
//! statuses and German messages.

pub mod accounts;
pub mod caregivers;
pub mod content_type;
pub mod errors;
pub mod files;
pub mod health;
pub mod parents;
pub mod uploads;

pub use accounts::{Account, AccountService, Visibility};
pub use caregivers::{
    CaregiverFileChanges, CaregiverService, CityForPostalCode, ContractItem, GalleryItem, LocationSuggestion,
    ProfileByPath, SearchQuery,
};
pub use errors::{FileError, LoginError, ProfileError, QueryError, RegisterError};
pub use files::{FileService, UrlSigner};
pub use health::{HealthReport, HealthService};
pub use parents::ParentService;
pub use uploads::{DecodedUpload, FileChange, UploadData, UploadKind};
