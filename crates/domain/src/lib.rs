//! Wimmelwelt's business vocabulary: accounts (parents, caregivers), their profiles, slugs, file
//! references and upload rules. Nothing in here knows about HTTP, MongoDB or S3.

pub mod account;
pub mod caregiver;
pub mod dates;
pub mod file;
pub mod ids;
pub mod matching;
pub mod opaque;
pub mod parent;
pub mod patch;
pub mod slug;
pub mod upload;

pub use account::{AuthClaims, Caller, PasswordHash, Role};
pub use caregiver::{
    Caregiver, CaregiverChanges, CaregiverDetails, CaregiverDetailsInput, CaregiverFiles, CaregiverRegistration,
    ContractDocument, NewCaregiver, TimeSlot,
};
pub use file::{FileKey, FileKeyError, FileRef, StorageMode};
pub use ids::{InvalidId, UserId};
pub use matching::Match;
pub use opaque::Opaque;
pub use parent::{Child, FieldError, Gender, NewParent, Parent, ParentChanges, ParentRegistration, RegistrationError};
pub use patch::Patch;
pub use slug::{ProfilePath, slugify};
pub use upload::{AcceptedType, DetectedType, UploadError, UploadPolicy};
