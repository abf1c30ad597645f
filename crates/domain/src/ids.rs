//! Identifiers. Accounts are identified by MongoDB-compatible ObjectIds (24 hex digits), since the
//! existing apps and documents already use them.

use std::fmt;

use chrono::{DateTime, Utc};

/// The id of a parent, caregiver or any other stored record: 24 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

/// The given text is not a 24-digit hex id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct InvalidId;

impl UserId {
    /// Parses a 24-digit hex id (any case; stored lower-case).
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        let raw = raw.trim();
        if raw.len() == 24 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(InvalidId)
        }
    }

    /// A fresh id laid out like a MongoDB ObjectId: 4 bytes of seconds since the epoch, then 8
    /// random bytes, so new ids sort roughly by creation time.
    pub fn generate(now: DateTime<Utc>) -> Self {
        let secs = u32::try_from(now.timestamp().max(0)).unwrap_or(u32::MAX);
        let random = uuid::Uuid::new_v4();
        let mut out = String::with_capacity(24);
        for b in secs.to_be_bytes().iter().chain(random.as_bytes()[..8].iter()) {
            out.push_str(&format!("{b:02x}"));
        }
        Self(out)
    }

    /// The id as 24 lower-case hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_24_hex_digits_and_lowercases() {
        let id = UserId::parse("65A1B2C3D4E5F60718293A01").expect("valid");
        assert_eq!(id.as_str(), "65a1b2c3d4e5f60718293a01");
    }

    #[test]
    fn parse_rejects_other_text() {
        for bad in ["", "abc", "65a1b2c3d4e5f60718293a0g", "65a1b2c3d4e5f60718293a011", "../etc/passwd"] {
            assert_eq!(UserId::parse(bad), Err(InvalidId), "{bad}");
        }
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let now = Utc::now();
        let a = UserId::generate(now);
        let b = UserId::generate(now);
        assert_ne!(a, b);
        assert_eq!(UserId::parse(a.as_str()), Ok(a.clone()));
        assert_eq!(&a.as_str()[..8], &format!("{:08x}", now.timestamp()));
    }
}
