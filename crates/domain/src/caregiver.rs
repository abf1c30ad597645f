//! Caregivers (Tagespflegepersonen): licensed home childminders with public profiles.

use chrono::{DateTime, Utc};

use crate::account::PasswordHash;
use crate::file::FileRef;
use crate::ids::UserId;
use crate::opaque::Opaque;
use crate::parent::{
    FieldError, RegistrationError, check_credentials, full_name, missing, patched_email, patched_name,
    patched_username, refuse_blank,
};
use crate::patch::Patch;
use crate::slug::ProfilePath;

/// How many former profile paths stay resolvable; the oldest is dropped beyond that, so that one
/// caregiver cannot reserve any number of clean URLs by renaming again and again.
pub const MAX_LEGACY_PROFILE_PATHS: usize = 10;

/// Default `availabilityTiming`.
pub const DEFAULT_AVAILABILITY_TIMING: &str = "aktuell";

/// One entry of a caregiver's care times or daily schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeSlot {
    pub start_time: String,
    pub end_time: String,
    pub activity: String,
}

impl TimeSlot {
    /// A complete entry; incomplete ones (any part empty) are dropped (`None`).
    pub fn new(start: Option<String>, end: Option<String>, activity: Option<String>) -> Option<Self> {
        let clean = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Some(Self { start_time: clean(start)?, end_time: clean(end)?, activity: clean(activity)? })
    }
}

/// A named contract document (private file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractDocument {
    pub name: String,
    pub file: FileRef,
}

/// The descriptive part of a caregiver profile, shared by registration, storage and updates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaregiverDetails {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
    pub city: Option<String>,
    pub daycare_name: Option<String>,
    pub available_spots: i64,
    pub children_count: Option<i64>,
    pub birth_date: Option<DateTime<Utc>>,
    pub caregiver_since: Option<DateTime<Utc>>,
    pub max_child_age: Option<i64>,
    pub has_availability: bool,
    pub availability_timing: String,
    pub bio: Option<String>,
    pub short_description: Option<String>,
    pub location: Option<Opaque>,
    pub care_times: Vec<TimeSlot>,
    pub daily_schedule: Vec<TimeSlot>,
    pub meal_plan: Option<String>,
    pub closed_days: Vec<String>,
    pub email_notifications_enabled: bool,
}

/// The files of a caregiver profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaregiverFiles {
    pub profile_image: Option<FileRef>,
    pub logo_image: Option<FileRef>,
    pub concept: Option<FileRef>,
    pub room_images: Vec<FileRef>,
    pub caregiver_images: Vec<FileRef>,
    pub contract_documents: Vec<ContractDocument>,
}

impl CaregiverFiles {
    /// Every file reference, for clean-up when the profile is deleted.
    pub fn all(&self) -> Vec<&FileRef> {
        let mut out: Vec<&FileRef> =
            [&self.profile_image, &self.logo_image, &self.concept].into_iter().flatten().collect();
        out.extend(self.room_images.iter());
        out.extend(self.caregiver_images.iter());
        out.extend(self.contract_documents.iter().map(|d| &d.file));
        out
    }
}

/// A stored caregiver account and profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Caregiver {
    pub id: UserId,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub postal_code: String,
    pub username: String,
    pub password: PasswordHash,
    pub details: CaregiverDetails,
    pub files: CaregiverFiles,
    pub city_slug: Option<String>,
    pub daycare_slug: Option<String>,
    pub profile_path: Option<String>,
    pub legacy_profile_paths: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency token: how many times the service has updated this document; 0 for
    /// documents never updated by this service (legacy).
    pub revision: u64,
}

impl Caregiver {
    /// The profile path this caregiver's names call for, before uniqueness suffixes.
    pub fn wanted_profile_path(&self) -> ProfilePath {
        ProfilePath::for_caregiver(
            self.details.city.as_deref(),
            self.details.daycare_name.as_deref(),
            self.details.name.as_deref(),
        )
    }

    /// `true` if the stored path is `wanted` itself or `wanted` with a `-n` suffix, i.e. the names
    /// that determine the path did not change.
    pub fn path_still_fits(&self, wanted: &ProfilePath) -> bool {
        let Some(current) = self.profile_path.as_deref() else { return false };
        let base = wanted.path();
        current == base
            || current
                .strip_prefix(&base)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 2))
    }

    /// Moves the profile to `path`, keeping the previous path resolvable as a legacy path.
    pub fn move_to(&mut self, path: ProfilePath) {
        let new = path.path();
        if let Some(old) = self.profile_path.take()
            && old != new
            && !self.legacy_profile_paths.contains(&old)
        {
            self.legacy_profile_paths.push(old);
        }
        self.legacy_profile_paths.retain(|p| *p != new);
        let excess = self.legacy_profile_paths.len().saturating_sub(MAX_LEGACY_PROFILE_PATHS);
        self.legacy_profile_paths.drain(..excess);
        self.city_slug = Some(path.city_slug);
        self.daycare_slug = Some(path.daycare_slug);
        self.profile_path = Some(new);
    }

    /// `true` if the caregiver has free places (used to put the featured caregiver first).
    pub fn has_free_spots(&self) -> bool {
        self.details.available_spots > 0
    }
}

/// A caregiver registration form as received (trimmed; empty values are `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaregiverRegistration {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub password: Option<String>,
    pub username: Option<String>,
    pub details: CaregiverDetailsInput,
}

/// Descriptive fields of a registration: like [`CaregiverDetails`] but everything optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaregiverDetailsInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
    pub city: Option<String>,
    pub daycare_name: Option<String>,
    pub available_spots: Option<i64>,
    pub children_count: Option<i64>,
    pub birth_date: Option<DateTime<Utc>>,
    pub caregiver_since: Option<DateTime<Utc>>,
    pub max_child_age: Option<i64>,
    pub has_availability: Option<bool>,
    pub availability_timing: Option<String>,
    pub bio: Option<String>,
    pub short_description: Option<String>,
    pub location: Option<Opaque>,
    pub care_times: Option<Vec<TimeSlot>>,
    pub daily_schedule: Option<Vec<TimeSlot>>,
    pub meal_plan: Option<String>,
    pub closed_days: Option<Vec<String>>,
    pub email_notifications_enabled: Option<bool>,
}

/// A caregiver registration with all required fields (password still plain text).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCaregiver {
    pub email: String,
    pub phone: String,
    pub address: String,
    pub postal_code: String,
    pub username: String,
    pub plain_password: String,
    pub details: CaregiverDetails,
}

impl CaregiverRegistration {
    /// Checks the required fields (`email`, `phone`, `address`, `postalCode`, `password`) and
    /// fills defaults (username = email, name = first + last, 0 spots, timing "aktuell").
    pub fn validate(self) -> Result<NewCaregiver, RegistrationError> {
        missing(&[
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
            ("address", self.address.is_some()),
            ("postalCode", self.postal_code.is_some()),
            ("password", self.password.is_some()),
        ])?;
        let (Some(email), Some(phone), Some(address), Some(postal_code), Some(plain_password)) =
            (self.email, self.phone, self.address, self.postal_code, self.password)
        else {
            return Err(RegistrationError::MissingFields(vec![]));
        };
        let (email, username) = check_credentials(&email, self.username, &plain_password)?;
        let d = self.details;
        let name = full_name(d.first_name.as_deref(), d.last_name.as_deref()).or(d.name);
        Ok(NewCaregiver {
            email,
            phone,
            address,
            postal_code,
            username,
            plain_password,
            details: CaregiverDetails {
                first_name: d.first_name,
                last_name: d.last_name,
                name,
                city: d.city,
                daycare_name: d.daycare_name,
                available_spots: d.available_spots.unwrap_or(0).max(0),
                children_count: d.children_count,
                birth_date: d.birth_date,
                caregiver_since: d.caregiver_since,
                max_child_age: d.max_child_age,
                has_availability: d.has_availability.unwrap_or(false),
                availability_timing: d.availability_timing.unwrap_or_else(|| DEFAULT_AVAILABILITY_TIMING.to_owned()),
                bio: d.bio,
                short_description: d.short_description,
                location: d.location,
                care_times: d.care_times.unwrap_or_default(),
                daily_schedule: d.daily_schedule.unwrap_or_default(),
                meal_plan: d.meal_plan,
                closed_days: d.closed_days.unwrap_or_default(),
                email_notifications_enabled: d.email_notifications_enabled.unwrap_or(true),
            },
        })
    }
}

/// A partial update of a caregiver profile (files and password are handled by the application).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaregiverChanges {
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub address: Patch<String>,
    pub postal_code: Patch<String>,
    pub username: Patch<String>,
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub name: Patch<String>,
    pub city: Patch<String>,
    pub daycare_name: Patch<String>,
    pub available_spots: Patch<i64>,
    pub children_count: Patch<i64>,
    pub birth_date: Patch<DateTime<Utc>>,
    pub caregiver_since: Patch<DateTime<Utc>>,
    pub max_child_age: Patch<i64>,
    pub has_availability: Patch<bool>,
    pub availability_timing: Patch<String>,
    pub bio: Patch<String>,
    pub short_description: Patch<String>,
    pub location: Patch<Opaque>,
    pub care_times: Patch<Vec<TimeSlot>>,
    pub daily_schedule: Patch<Vec<TimeSlot>>,
    pub meal_plan: Patch<String>,
    pub closed_days: Patch<Vec<String>>,
    pub email_notifications_enabled: Patch<bool>,
}

fn set_required(patch: Patch<String>, target: &mut String) {
    if let Patch::Set(v) = patch {
        *target = v;
    }
}

fn set_list<T>(patch: Patch<Vec<T>>, target: &mut Vec<T>) {
    match patch {
        Patch::Keep => {}
        Patch::Clear => target.clear(),
        Patch::Set(v) => *target = v,
    }
}

impl Caregiver {
    /// Applies a partial update. Fails, changing nothing, if `email`, `phone`, `address`,
    /// `postalCode` or `username` would become empty. Slugs are not touched here: the application
    /// recomputes them (they need a uniqueness check).
    pub fn apply(&mut self, c: CaregiverChanges) -> Result<(), FieldError> {
        refuse_blank(&[
            ("email", c.email == Patch::Clear),
            ("phone", c.phone == Patch::Clear),
            ("address", c.address == Patch::Clear),
            ("postalCode", c.postal_code == Patch::Clear),
            ("username", c.username == Patch::Clear),
        ])?;
        let email = patched_email(c.email)?;
        patched_username(&c.username, &self.username, email.as_set().unwrap_or(&self.email))?;
        set_required(email, &mut self.email);
        set_required(c.phone, &mut self.phone);
        set_required(c.address, &mut self.address);
        set_required(c.postal_code, &mut self.postal_code);
        set_required(c.username, &mut self.username);
        let d = &mut self.details;
        let names_changed = c.first_name.is_present() || c.last_name.is_present();
        let before = (d.first_name.clone(), d.last_name.clone());
        c.first_name.apply_to(&mut d.first_name);
        c.last_name.apply_to(&mut d.last_name);
        patched_name(
            c.name,
            names_changed,
            (before.0.as_deref(), before.1.as_deref()),
            (d.first_name.as_deref(), d.last_name.as_deref()),
            &mut d.name,
        );
        c.city.apply_to(&mut d.city);
        c.daycare_name.apply_to(&mut d.daycare_name);
        match c.available_spots {
            Patch::Keep => {}
            Patch::Clear => d.available_spots = 0,
            Patch::Set(n) => d.available_spots = n.max(0),
        }
        c.children_count.apply_to(&mut d.children_count);
        c.birth_date.apply_to(&mut d.birth_date);
        c.caregiver_since.apply_to(&mut d.caregiver_since);
        c.max_child_age.apply_to(&mut d.max_child_age);
        match c.has_availability {
            Patch::Keep => {}
            Patch::Clear => d.has_availability = false,
            Patch::Set(b) => d.has_availability = b,
        }
        match c.availability_timing {
            Patch::Keep => {}
            Patch::Clear => d.availability_timing = DEFAULT_AVAILABILITY_TIMING.to_owned(),
            Patch::Set(t) => d.availability_timing = t,
        }
        c.bio.apply_to(&mut d.bio);
        c.short_description.apply_to(&mut d.short_description);
        c.location.apply_to(&mut d.location);
        set_list(c.care_times, &mut d.care_times);
        set_list(c.daily_schedule, &mut d.daily_schedule);
        c.meal_plan.apply_to(&mut d.meal_plan);
        set_list(c.closed_days, &mut d.closed_days);
        if let Patch::Set(v) = c.email_notifications_enabled {
            d.email_notifications_enabled = v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration() -> CaregiverRegistration {
        CaregiverRegistration {
            email: Some("S@Example.org".into()),
            phone: Some("0221".into()),
            address: Some("Lindenallee 7".into()),
            postal_code: Some("50667".into()),
            password: Some("geheim-123".into()),
            username: None,
            details: CaregiverDetailsInput {
                first_name: Some("Sabine".into()),
                last_name: Some("Muster".into()),
                city: Some("Köln".into()),
                daycare_name: Some("Kleine Strolche".into()),
                ..Default::default()
            },
        }
    }

    fn stored() -> Caregiver {
        let n = registration().validate().expect("valid");
        let mut c = Caregiver {
            id: UserId::parse("65a1b2c3d4e5f60718293b01").expect("id"),
            email: n.email,
            phone: n.phone,
            address: n.address,
            postal_code: n.postal_code,
            username: n.username,
            password: PasswordHash::from_stored("x".into()),
            details: n.details,
            files: CaregiverFiles::default(),
            city_slug: None,
            daycare_slug: None,
            profile_path: None,
            legacy_profile_paths: vec![],
            created_at: None,
            updated_at: None,
            revision: 0,
        };
        let p = c.wanted_profile_path();
        c.move_to(p);
        c
    }

    #[test]
    fn registration_requires_address_too() {
        let mut r = registration();
        r.address = None;
        r.password = None;
        assert_eq!(r.validate(), Err(RegistrationError::MissingFields(vec!["address", "password"])));
    }

    #[test]
    fn registration_fills_defaults() {
        let n = registration().validate().expect("valid");
        assert_eq!(n.username, "s@example.org");
        assert_eq!(n.details.name.as_deref(), Some("Sabine Muster"));
        assert_eq!(n.details.available_spots, 0);
        assert_eq!(n.details.availability_timing, "aktuell");
        assert!(!n.details.has_availability);
    }

    #[test]
    fn incomplete_time_slots_are_dropped() {
        assert!(TimeSlot::new(Some("07:00".into()), Some("".into()), Some("Bringzeit".into())).is_none());
        assert!(TimeSlot::new(Some("07:00".into()), Some("09:00".into()), Some("Bringzeit".into())).is_some());
    }

    #[test]
    fn moving_keeps_the_old_path_as_legacy() {
        let mut c = stored();
        assert_eq!(c.profile_path.as_deref(), Some("koeln/kleine-strolche"));
        c.apply(CaregiverChanges { city: Patch::Set("Bonn".into()), ..Default::default() }).expect("valid");
        let wanted = c.wanted_profile_path();
        assert!(!c.path_still_fits(&wanted));
        c.move_to(wanted);
        assert_eq!(c.profile_path.as_deref(), Some("bonn/kleine-strolche"));
        assert_eq!(c.legacy_profile_paths, vec!["koeln/kleine-strolche".to_owned()]);
        assert_eq!(c.city_slug.as_deref(), Some("bonn"));
    }

    #[test]
    fn only_the_newest_former_paths_stay_reserved() {
        let mut c = stored();
        for i in 0..(MAX_LEGACY_PROFILE_PATHS + 5) {
            c.move_to(ProfilePath::for_caregiver(Some("Köln"), Some(&format!("Sonnenschein {i}")), None));
        }
        assert_eq!(c.legacy_profile_paths.len(), MAX_LEGACY_PROFILE_PATHS);
        assert!(!c.legacy_profile_paths.contains(&"koeln/kleine-strolche".to_owned()));
        let newest_former = format!("koeln/sonnenschein-{}", MAX_LEGACY_PROFILE_PATHS + 3);
        assert_eq!(c.legacy_profile_paths.last(), Some(&newest_former));
    }

    #[test]
    fn a_patch_refuses_someone_elses_email_as_username() {
        let mut c = stored();
        let before = c.clone();
        let err = c.apply(CaregiverChanges { username: Patch::Set("victim@example.org".into()), ..Default::default() });
        assert_eq!(err, Err(FieldError::Invalid("username")));
        assert_eq!(c, before);
        c.apply(CaregiverChanges { username: Patch::Set(c.email.to_uppercase()), ..Default::default() })
            .expect("the own email is a fine username");
    }

    #[test]
    fn a_suffixed_path_still_fits_its_names() {
        let mut c = stored();
        let wanted = c.wanted_profile_path();
        c.move_to(wanted.with_suffix(3));
        assert!(c.path_still_fits(&wanted));
    }

    #[test]
    fn a_patch_never_blanks_the_address() {
        let mut c = stored();
        let before = c.clone();
        assert_eq!(
            c.apply(CaregiverChanges { address: Patch::Clear, ..Default::default() }),
            Err(FieldError::Blank("address"))
        );
        assert_eq!(c, before);
    }

    #[test]
    fn all_files_lists_every_reference() {
        let f = |k: &str| FileRef {
            key: Some(k.into()),
            url: k.into(),
            file_name: None,
            mime_type: None,
            size: None,
            uploaded_at: None,
        };
        let files = CaregiverFiles {
            profile_image: Some(f("a")),
            logo_image: None,
            concept: Some(f("b")),
            room_images: vec![f("c")],
            caregiver_images: vec![f("d")],
            contract_documents: vec![ContractDocument { name: "V".into(), file: f("e") }],
        };
        assert_eq!(files.all().len(), 5);
    }
}
