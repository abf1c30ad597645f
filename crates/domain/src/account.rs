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

/// Longest accepted email address (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Shortest accepted new password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted username, in characters (an email-shaped username is limited like an email).
pub const MAX_USERNAME_CHARS: usize = 100;
/// Longest accepted new password, in bytes: bcrypt ignores everything after 72 bytes, so longer
/// passwords would silently be cut.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// The text is not a usable email address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct InvalidEmail;

/// Trims and lower-cases an email address and checks its shape: one `@`, a non-empty local part
/// of at most 64 characters, a domain with a dot and no empty labels, no white space, control or
/// invisible characters, at most 254 characters in all.
pub fn normalize_email(raw: &str) -> Result<String, InvalidEmail> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() || email.len() > MAX_EMAIL_LEN {
        return Err(InvalidEmail);
    }
    let invisible =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}' | '\u{feff}');
    if email.chars().any(invisible) {
        return Err(InvalidEmail);
    }
    let (local, domain) = email.rsplit_once('@').ok_or(InvalidEmail)?;
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return Err(InvalidEmail);
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Err(InvalidEmail);
    }
    Ok(email)
}

/// The login identifiers an account holds: its email and username, trimmed and lower-cased,
/// without empty values and duplicates (in that order). They must be unique across parents and
/// caregivers, ignoring case.
pub fn login_identifiers(email: &str, username: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(2);
    for raw in [email, username] {
        let id = raw.trim().to_lowercase();
        if !id.is_empty() && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// The username is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid username")]
pub struct InvalidUsername;

/// Checks a NEW username of an account whose (normalised) email is `email`: at most 100
/// characters (254 if it is the email itself), no control or invisible characters, and, since
/// usernames and emails share one namespace of login identifiers, an `@` only if the username is
/// the account's own email. Otherwise anybody could claim someone else's email as a username and
/// lock its owner out of registering. Existing (legacy) usernames are never checked.
pub fn check_new_username(username: &str, email: &str) -> Result<(), InvalidUsername> {
    let u = username.trim();
    if u.chars().any(|c| c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}' | '\u{feff}')) {
        return Err(InvalidUsername);
    }
    if u.contains('@') {
        return if u.to_lowercase() == email.trim().to_lowercase() { Ok(()) } else { Err(InvalidUsername) };
    }
    if u.is_empty() || u.chars().count() > MAX_USERNAME_CHARS {
        return Err(InvalidUsername);
    }
    Ok(())
}

/// Why a new password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the password must have 8 to 72 bytes, not only spaces and no control characters")]
pub struct WeakPassword;

/// Checks a NEW password (registration, change): at least 8 characters, at most 72 bytes, not
/// only white space, no control characters (bcrypt stops at a NUL byte, so `"\0\0\0\0\0\0\0\0"`
/// would accept any password starting with NUL). Existing (legacy) passwords are never checked at
/// login.
pub fn check_new_password(plain: &str) -> Result<(), WeakPassword> {
    if plain.chars().count() < MIN_PASSWORD_CHARS
        || plain.len() > MAX_PASSWORD_BYTES
        || plain.trim().is_empty()
        || plain.chars().any(char::is_control)
    {
        return Err(WeakPassword);
    }
    Ok(())
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
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Eva.Eltern@Example.ORG "), Ok("eva.eltern@example.org".to_owned()));
        for bad in [
            "",
            "12345",
            "a@b",
            "@example.org",
            "a@@example.org",
            "a b@example.org",
            "nul\u{0}@example.org",
            "a\u{200b}@example.org",
            "a@example..org",
        ] {
            assert_eq!(normalize_email(bad), Err(InvalidEmail), "{bad:?}");
        }
        assert_eq!(normalize_email(&format!("{}@example.org", "a".repeat(65))), Err(InvalidEmail));
    }

    #[test]
    fn login_identifiers_are_lower_cased_trimmed_and_distinct() {
        assert_eq!(login_identifiers(" Eva@Example.org ", "EVE"), ["eva@example.org", "eve"]);
        assert_eq!(login_identifiers("eva@example.org", "Eva@Example.ORG"), ["eva@example.org"]);
        assert_eq!(login_identifiers("eva@example.org", "  "), ["eva@example.org"]);
        assert!(login_identifiers("", "").is_empty());
    }

    #[test]
    fn new_passwords_need_8_to_72_bytes() {
        assert!(check_new_password("geheim12").is_ok());
        assert_eq!(check_new_password("kurz"), Err(WeakPassword));
        assert_eq!(check_new_password("        "), Err(WeakPassword));
        assert_eq!(check_new_password(&"p".repeat(73)), Err(WeakPassword));
        assert!(check_new_password(&"ü".repeat(36)).is_ok());
        assert_eq!(check_new_password("\0\0\0\0\0\0\0\0"), Err(WeakPassword));
        assert_eq!(check_new_password("geheim12\n"), Err(WeakPassword));
        assert!(check_new_password("mit leerzeichen").is_ok());
    }

    #[test]
    fn usernames_are_short_and_hold_an_at_sign_only_as_the_own_email() {
        assert!(check_new_username("tomalt", "tom@example.org").is_ok());
        assert!(check_new_username("Tom@Example.org", "tom@example.org").is_ok());
        assert_eq!(check_new_username("victim@example.org", "tom@example.org"), Err(InvalidUsername));
        assert_eq!(check_new_username(&"u".repeat(MAX_USERNAME_CHARS + 1), "tom@example.org"), Err(InvalidUsername));
        assert!(check_new_username(&"u".repeat(MAX_USERNAME_CHARS), "tom@example.org").is_ok());
        assert_eq!(check_new_username("tom\u{0}alt", "tom@example.org"), Err(InvalidUsername));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = PasswordHash::from_stored("klartext-passwort-1".into());
        assert!(!format!("{p:?}").contains("klartext"));
    }
}
