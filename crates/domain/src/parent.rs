//! Parents: accounts looking for a childminder.

use chrono::{DateTime, Utc};

use crate::account::{PasswordHash, check_new_password, check_new_username, normalize_email};
use crate::file::FileRef;
use crate::ids::UserId;
use crate::patch::Patch;

/// A child's gender as the apps send it; anything else is stored as "not set".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Male,
    Female,
    Diverse,
}

impl Gender {
    /// Parses `male` / `female` / `diverse` (any case); anything else is `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            "diverse" => Some(Gender::Diverse),
            _ => None,
        }
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Diverse => "diverse",
        }
    }
}

/// One of a parent's children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    pub name: String,
    /// As entered ("3", "1,5"); the apps show it as text.
    pub age: Option<String>,
    pub gender: Option<Gender>,
    pub notes: Option<String>,
}

impl Child {
    /// A child entry; entries without a name are dropped (`None`).
    pub fn new(
        name: Option<String>,
        age: Option<String>,
        gender: Option<Gender>,
        notes: Option<String>,
    ) -> Option<Self> {
        let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty())?;
        Some(Self { name, age, gender, notes })
    }
}

/// A stored parent account.
#[derive(Debug, Clone, PartialEq)]
pub struct Parent {
    pub id: UserId,
    pub email: String,
    pub phone: String,
    pub postal_code: String,
    pub username: String,
    pub password: PasswordHash,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub children_ages: Option<String>,
    pub notes: Option<String>,
    pub number_of_children: Option<i64>,
    pub children: Vec<Child>,
    pub profile_image: Option<FileRef>,
    pub email_notifications_enabled: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency token: how many times the service has updated this document; 0 for
    /// documents never updated by this service (legacy).
    pub revision: u64,
}

/// A registration form as received (already trimmed; empty values are `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParentRegistration {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub postal_code: Option<String>,
    pub password: Option<String>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub children_ages: Option<String>,
    pub notes: Option<String>,
    pub number_of_children: Option<i64>,
    pub children: Option<Vec<Child>>,
    pub email_notifications_enabled: Option<bool>,
}

/// A registration that has all required fields. The password is still plain text here; the
/// application hashes it before anything is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewParent {
    pub email: String,
    pub phone: String,
    pub postal_code: String,
    pub username: String,
    pub plain_password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub children_ages: Option<String>,
    pub notes: Option<String>,
    pub number_of_children: Option<i64>,
    pub children: Vec<Child>,
    pub email_notifications_enabled: bool,
}

/// Registration rules shared by both roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// Required fields are missing (camelCase field names, in form order).
    #[error("missing required fields: {}", .0.join(", "))]
    MissingFields(Vec<&'static str>),
    /// The email address is not usable.
    #[error("invalid email address")]
    InvalidEmail,
    /// The password breaks the password rules.
    #[error("password too weak")]
    WeakPassword,
    /// The username breaks the username rules ([`crate::account::check_new_username`]).
    #[error("invalid username")]
    InvalidUsername,
}

/// Normalises the email, checks the password and settles the username (empty → the email) of a
/// registration; returns `(email, username)`.
pub(crate) fn check_credentials(
    email: &str,
    username: Option<String>,
    password: &str,
) -> Result<(String, String), RegistrationError> {
    let email = normalize_email(email).map_err(|_| RegistrationError::InvalidEmail)?;
    check_new_password(password).map_err(|_| RegistrationError::WeakPassword)?;
    let username = username.unwrap_or_else(|| email.clone());
    check_new_username(&username, &email).map_err(|_| RegistrationError::InvalidUsername)?;
    Ok((email, username))
}

/// Checks a username a PATCH sets: only a changed one is held to the rules for new usernames
/// (apps send the stored one back with every form, and legacy usernames may break them).
pub(crate) fn patched_username(p: &Patch<String>, current: &str, email: &str) -> Result<(), FieldError> {
    match p {
        Patch::Set(u) if u != current => check_new_username(u, email).map_err(|_| FieldError::Invalid("username")),
        _ => Ok(()),
    }
}

/// Joins first and last name ("Jana Beispiel"); `None` if both are empty.
pub fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let joined =
        [first, last].into_iter().flatten().map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    (!joined.is_empty()).then_some(joined)
}

/// Lists the required fields that are `None`, in the order given.
pub fn missing(fields: &[(&'static str, bool)]) -> Result<(), RegistrationError> {
    let missing: Vec<&'static str> = fields.iter().filter(|(_, present)| !present).map(|(n, _)| *n).collect();
    if missing.is_empty() { Ok(()) } else { Err(RegistrationError::MissingFields(missing)) }
}

impl ParentRegistration {
    /// Checks the required fields (`email`, `phone`, `postalCode`, `password`); an empty username
    /// becomes the email, `name` becomes first + last name when those are given.
    pub fn validate(self) -> Result<NewParent, RegistrationError> {
        missing(&[
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
            ("postalCode", self.postal_code.is_some()),
            ("password", self.password.is_some()),
        ])?;
        let (Some(email), Some(phone), Some(postal_code), Some(plain_password)) =
            (self.email, self.phone, self.postal_code, self.password)
        else {
            return Err(RegistrationError::MissingFields(vec![]));
        };
        let (email, username) = check_credentials(&email, self.username, &plain_password)?;
        let name = full_name(self.first_name.as_deref(), self.last_name.as_deref()).or(self.name);
        let children = self.children.unwrap_or_default();
        let number_of_children =
            if children.is_empty() { self.number_of_children } else { Some(children.len() as i64) };
        Ok(NewParent {
            email,
            phone,
            postal_code,
            username,
            plain_password,
            first_name: self.first_name,
            last_name: self.last_name,
            name,
            address: self.address,
            children_ages: self.children_ages,
            notes: self.notes,
            number_of_children,
            children,
            email_notifications_enabled: self.email_notifications_enabled.unwrap_or(true),
        })
    }
}

/// A partial update of a parent's profile (files and password are handled by the application).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParentChanges {
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub postal_code: Patch<String>,
    pub username: Patch<String>,
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub name: Patch<String>,
    pub address: Patch<String>,
    pub children_ages: Patch<String>,
    pub notes: Patch<String>,
    pub number_of_children: Patch<i64>,
    pub children: Patch<Vec<Child>>,
    pub email_notifications_enabled: Patch<bool>,
}

/// A PATCH field that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The update would blank a field every profile must keep.
    #[error("required field {0} must not be empty")]
    Blank(&'static str),
    /// The value is not usable (e.g. a malformed email address).
    #[error("field {0} is not valid")]
    Invalid(&'static str),
}

/// Refuses `Clear` on any of the named required fields (first offender named).
pub fn refuse_blank(fields: &[(&'static str, bool)]) -> Result<(), FieldError> {
    match fields.iter().find(|(_, cleared)| *cleared) {
        Some((name, _)) => Err(FieldError::Blank(name)),
        None => Ok(()),
    }
}

/// The `name` after a PATCH: an explicit `name` wins; otherwise, when first or last name were
/// sent, `name` follows them (first + last), and is cleared with them only if it was derived from
/// them before: a legacy display name the apps never split into first and last name survives
/// forms that send both empty.
pub(crate) fn patched_name(
    name: Patch<String>,
    names_changed: bool,
    before: (Option<&str>, Option<&str>),
    after: (Option<&str>, Option<&str>),
    target: &mut Option<String>,
) {
    match name {
        Patch::Keep if names_changed => match full_name(after.0, after.1) {
            Some(n) => *target = Some(n),
            None if target.is_some() && *target == full_name(before.0, before.1) => *target = None,
            None => {}
        },
        other => other.apply_to(target),
    }
}

/// Normalises a new email of a PATCH.
pub(crate) fn patched_email(p: Patch<String>) -> Result<Patch<String>, FieldError> {
    match p {
        Patch::Set(e) => normalize_email(&e).map(Patch::Set).map_err(|_| FieldError::Invalid("email")),
        other => Ok(other),
    }
}

fn set_required(patch: Patch<String>, target: &mut String) {
    if let Patch::Set(v) = patch {
        *target = v;
    }
}

impl Parent {
    /// Applies a partial update. Fails, changing nothing, if a required field (`email`, `phone`,
    /// `postalCode`, `username`) would become empty.
    pub fn apply(&mut self, c: ParentChanges) -> Result<(), FieldError> {
        refuse_blank(&[
            ("email", c.email == Patch::Clear),
            ("phone", c.phone == Patch::Clear),
            ("postalCode", c.postal_code == Patch::Clear),
            ("username", c.username == Patch::Clear),
        ])?;
        let email = patched_email(c.email)?;
        patched_username(&c.username, &self.username, email.as_set().unwrap_or(&self.email))?;
        set_required(email, &mut self.email);
        set_required(c.phone, &mut self.phone);
        set_required(c.postal_code, &mut self.postal_code);
        set_required(c.username, &mut self.username);
        let names_changed = c.first_name.is_present() || c.last_name.is_present();
        let before = (self.first_name.clone(), self.last_name.clone());
        c.first_name.apply_to(&mut self.first_name);
        c.last_name.apply_to(&mut self.last_name);
        patched_name(
            c.name,
            names_changed,
            (before.0.as_deref(), before.1.as_deref()),
            (self.first_name.as_deref(), self.last_name.as_deref()),
            &mut self.name,
        );
        c.address.apply_to(&mut self.address);
        c.children_ages.apply_to(&mut self.children_ages);
        c.notes.apply_to(&mut self.notes);
        c.number_of_children.apply_to(&mut self.number_of_children);
        match c.children {
            Patch::Keep => {}
            Patch::Clear => {
                self.children.clear();
                self.number_of_children = Some(0);
            }
            Patch::Set(children) => {
                self.number_of_children = Some(children.len() as i64);
                self.children = children;
            }
        }
        if let Patch::Set(v) = c.email_notifications_enabled {
            self.email_notifications_enabled = v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ParentRegistration {
        ParentRegistration {
            email: Some("Jana@Example.org".into()),
            phone: Some("0151".into()),
            postal_code: Some("50667".into()),
            password: Some("geheim-123".into()),
            first_name: Some("Jana".into()),
            last_name: Some("Beispiel".into()),
            ..Default::default()
        }
    }

    #[test]
    fn registration_lists_every_missing_required_field() {
        let err = ParentRegistration::default().validate().expect_err("must fail");
        assert_eq!(err, RegistrationError::MissingFields(vec!["email", "phone", "postalCode", "password"]));
    }

    #[test]
    fn registration_defaults_username_to_email_and_builds_the_name() {
        let p = form().validate().expect("valid");
        assert_eq!(p.email, "jana@example.org");
        assert_eq!(p.username, "jana@example.org");
        assert_eq!(p.name.as_deref(), Some("Jana Beispiel"));
        assert!(p.email_notifications_enabled);
    }

    #[test]
    fn children_without_name_are_dropped_and_counted() {
        let mut f = form();
        f.children = Some(
            [
                Child::new(Some("Mia".into()), Some("3".into()), Gender::parse(""), None),
                Child::new(Some("  ".into()), None, None, None),
            ]
            .into_iter()
            .flatten()
            .collect(),
        );
        let p = f.validate().expect("valid");
        assert_eq!(p.children.len(), 1);
        assert_eq!(p.children[0].gender, None);
        assert_eq!(p.number_of_children, Some(1));
    }

    fn stored() -> Parent {
        let n = form().validate().expect("valid");
        Parent {
            id: UserId::parse("65a1b2c3d4e5f60718293a01").expect("id"),
            email: n.email,
            phone: n.phone,
            postal_code: n.postal_code,
            username: n.username,
            password: PasswordHash::from_stored("x".into()),
            first_name: n.first_name,
            last_name: n.last_name,
            name: n.name,
            address: None,
            children_ages: None,
            notes: None,
            number_of_children: None,
            children: vec![],
            profile_image: None,
            email_notifications_enabled: true,
            created_at: None,
            updated_at: None,
            revision: 0,
        }
    }

    #[test]
    fn a_patch_never_blanks_a_required_field() {
        let mut p = stored();
        let before = p.clone();
        let err = p.apply(ParentChanges { notes: Patch::Set("x".into()), phone: Patch::Clear, ..Default::default() });
        assert_eq!(err, Err(FieldError::Blank("phone")));
        assert_eq!(p, before);
        let err = p.apply(ParentChanges { email: Patch::Set("kaputt".into()), ..Default::default() });
        assert_eq!(err, Err(FieldError::Invalid("email")));
        assert_eq!(p, before);
    }

    #[test]
    fn a_patch_changes_only_present_fields_and_renames() {
        let mut p = stored();
        p.apply(ParentChanges {
            last_name: Patch::Set("Neu".into()),
            notes: Patch::Set("hi".into()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(p.name.as_deref(), Some("Jana Neu"));
        assert_eq!(p.notes.as_deref(), Some("hi"));
        assert_eq!(p.phone, "0151");
    }

    #[test]
    fn clearing_first_and_last_name_clears_the_name_derived_from_them() {
        let mut p = stored();
        assert_eq!(p.name.as_deref(), Some("Jana Beispiel"));
        p.apply(ParentChanges { first_name: Patch::Clear, last_name: Patch::Clear, ..Default::default() })
            .expect("valid");
        assert_eq!((p.first_name.as_deref(), p.last_name.as_deref(), p.name.as_deref()), (None, None, None));
    }

    #[test]
    fn a_display_name_of_its_own_survives_empty_first_and_last_names() {
        let mut p = stored();
        p.first_name = None;
        p.last_name = None;
        p.name = Some("Familie Beispiel".into());
        p.apply(ParentChanges { first_name: Patch::Clear, last_name: Patch::Clear, ..Default::default() })
            .expect("valid");
        assert_eq!(p.name.as_deref(), Some("Familie Beispiel"));
    }

    #[test]
    fn registration_refuses_long_or_foreign_email_usernames() {
        let mut f = form();
        f.username = Some("someone.else@example.org".into());
        assert_eq!(f.validate(), Err(RegistrationError::InvalidUsername));
        let mut f = form();
        f.username = Some("u".repeat(crate::account::MAX_USERNAME_CHARS + 1));
        assert_eq!(f.validate(), Err(RegistrationError::InvalidUsername));
    }
}
