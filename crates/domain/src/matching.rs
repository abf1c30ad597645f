//! Matches: a parent's recorded interest in a caregiver.

use chrono::{DateTime, Utc};

use crate::ids::UserId;

/// One recorded parent–caregiver pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub id: UserId,
    pub parent_id: String,
    pub caregiver_id: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}
