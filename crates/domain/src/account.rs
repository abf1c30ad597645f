//! Accounts: who is calling, in which role, and how their password is stored.

use std::fmt;

use crate::ids::UserId;

/// The two kinds of account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Parent,
    Caregiver,
}

impl Role {
    /// The role's name as the apps and tokens spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Parent => "parent",
            Role::Caregiver => "caregiver",
        }
    }

    /// Parses `parent` / `caregiver`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "parent" => Some(Role::Parent),
            "caregiver" => Some(Role::Caregiver),
            _ => None,
        }
    }
}

/// What a valid access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthClaims {
    pub user_id: UserId,
    pub role: Role,
    pub email: String,
}

/// Who is making a request: nobody, or the account in a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    User(AuthClaims),
}

impl Caller {
    /// The caller's id, if authenticated.
    pub fn user_id(&self) -> Option<&UserId> {
        match self {
            Caller::Anonymous => None,
            Caller::User(c) => Some(&c.user_id),
        }
    }

    /// `true` if the caller is the account `id`.
    pub fn is(&self, id: &UserId) -> bool {
        self.user_id() == Some(id)
    }

    /// `true` if a valid token came with the request.
    pub fn is_authenticated(&self) -> bool {
        matches!(self, Caller::User(_))
    }
}

/// A stored password: a bcrypt hash, or a plain-text password left by the legacy backend that is
/// replaced by a hash at the next successful login.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordHash {
    Bcrypt(String),
    LegacyPlain(String),
}

impl PasswordHash {
    /// Classifies a stored password value.
    pub fn from_stored(stored: String) -> Self {
        let is_bcrypt = ["$2a$", "$2b$", "$2x$", "$2y$"].iter().any(|p| stored.starts_with(p)) && stored.len() == 60;
        if is_bcrypt { PasswordHash::Bcrypt(stored) } else { PasswordHash::LegacyPlain(stored) }
    }

    /// The value to store.
    pub fn stored(&self) -> &str {
        match self {
            PasswordHash::Bcrypt(s) | PasswordHash::LegacyPlain(s) => s,
        }
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordHash::Bcrypt(_) => f.write_str("PasswordHash::Bcrypt(<redacted>)"),
            PasswordHash::LegacyPlain(_) => f.write_str("PasswordHash::LegacyPlain(<redacted>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_hashes_are_recognised_and_plain_text_is_legacy() {
        let h = "$2b$10$YxWCELtuJEAub0lROkpk9.dHe/tlmTEtl.oqlnhqyAz.amGQHFZxe".to_owned();
        assert!(matches!(PasswordHash::from_stored(h), PasswordHash::Bcrypt(_)));
        assert!(matches!(PasswordHash::from_stored("klartext-passwort-1".into()), PasswordHash::LegacyPlain(_)));
        assert!(matches!(PasswordHash::from_stored("$2b$short".into()), PasswordHash::LegacyPlain(_)));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = PasswordHash::from_stored("klartext-passwort-1".into());
        assert!(!format!("{p:?}").contains("klartext"));
    }
}
