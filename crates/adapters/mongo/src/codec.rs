//! Hand-written mapping between legacy MongoDB documents and domain types.
//!
//! Reading is forgiving on purpose: the legacy backend stored numbers and booleans as strings,
//! file references as objects or bare URL strings, and left fields out. Nothing here fails on a
//! malformed field; it falls back to the field's default instead. Writing produces documents the
//! legacy backend can still read (BSON dates, id strings in references, file refs as objects).

use std::collections::BTreeMap;

use bson::oid::ObjectId;
use bson::{Bson, Document, doc};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use domain::dates::whole_years;
use domain::{
    Caregiver, CaregiverDetails, CaregiverFiles, Child, ContractDocument, FileRef, Gender, Match, Opaque, Parent,
    PasswordHash, TimeSlot, UserId,
};
use ports::file_urls::{api_files_url as url_for_key, key_from_url};

/// Default `availabilityTiming` of documents without one.
const DEFAULT_TIMING: &str = domain::caregiver::DEFAULT_AVAILABILITY_TIMING;

// ---------------------------------------------------------------------------------------------
// ids

/// The `_id` filter value of an id.
pub(crate) fn oid(id: &UserId) -> anyhow::Result<ObjectId> {
    ObjectId::parse_str(id.as_str()).map_err(|e| anyhow::anyhow!("id {id} is not an ObjectId: {e}"))
}

/// The id of a stored document (`_id` as ObjectId, or a legacy 24-hex string).
pub(crate) fn doc_id(doc: &Document) -> Option<UserId> {
    match doc.get("_id")? {
        Bson::ObjectId(o) => UserId::parse(&o.to_hex()).ok(),
        Bson::String(s) => UserId::parse(s).ok(),
        _ => None,
    }
}

/// An id-like reference (`parentId`, `caregiverId`): a string, or an ObjectId written by mistake.
fn reference(doc: &Document, key: &str) -> String {
    match doc.get(key) {
        Some(Bson::String(s)) => s.clone(),
        Some(Bson::ObjectId(o)) => o.to_hex(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// scalar readers

/// A string field; numbers are rendered as text, empty / blank strings and other types are `None`.
pub(crate) fn opt_str(doc: &Document, key: &str) -> Option<String> {
    bson_str(doc.get(key)?)
}

fn bson_str(value: &Bson) -> Option<String> {
    let s = match value {
        Bson::String(s) => s.clone(),
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Double(d) if d.is_finite() => d.to_string(),
        _ => return None,
    };
    (!s.trim().is_empty()).then_some(s)
}

/// A required string field; missing reads as `""`.
fn req_str(doc: &Document, key: &str) -> String {
    opt_str(doc, key).unwrap_or_default()
}

/// An integer stored as Int32, Int64, Double or a numeric string.
pub(crate) fn opt_int(doc: &Document, key: &str) -> Option<i64> {
    bson_int(doc.get(key)?)
}

fn bson_int(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Int64(i) => Some(*i),
        Bson::Double(d) => float_to_int(*d),
        Bson::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| s.replace(',', ".").parse::<f64>().ok().and_then(float_to_int))
        }
        _ => None,
    }
}

#[allow(clippy::cast_possible_truncation)]
fn float_to_int(d: f64) -> Option<i64> {
    // Truncation is intended: "2.0" spots are 2; the range check keeps the cast exact.
    (d.is_finite() && d.abs() < 9.0e15).then(|| d.trunc() as i64)
}

/// A boolean stored as a boolean, `"true"`/`"false"` (also `"1"`/`"0"`, `"yes"`/`"no"`) or a number.
pub(crate) fn opt_bool(doc: &Document, key: &str) -> Option<bool> {
    match doc.get(key)? {
        Bson::Boolean(b) => Some(*b),
        Bson::Int32(i) => Some(*i != 0),
        Bson::Int64(i) => Some(*i != 0),
        Bson::Double(d) => Some(*d != 0.0),
        Bson::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "ja" | "on" => Some(true),
            "false" | "0" | "no" | "nein" | "off" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A date stored as a BSON date, an ISO 8601 string or a `YYYY-MM-DD` string.
pub(crate) fn opt_date(doc: &Document, key: &str) -> Option<DateTime<Utc>> {
    bson_date(doc.get(key)?)
}

fn bson_date(value: &Bson) -> Option<DateTime<Utc>> {
    match value {
        Bson::DateTime(d) => Some(d.to_chrono()),
        Bson::String(s) => parse_date_text(s.trim()),
        _ => None,
    }
}

fn parse_date_text(s: &str) -> Option<DateTime<Utc>> {
    if s.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
}

/// A list of strings; a single string counts as a one-element list, non-strings are skipped.
fn string_list(doc: &Document, key: &str) -> Vec<String> {
    match doc.get(key) {
        Some(Bson::Array(items)) => items.iter().filter_map(bson_str).collect(),
        Some(other) => bson_str(other).into_iter().collect(),
        None => Vec::new(),
    }
}

fn array<'a>(doc: &'a Document, key: &str) -> &'a [Bson] {
    match doc.get(key) {
        Some(Bson::Array(items)) => items,
        _ => &[],
    }
}

// ---------------------------------------------------------------------------------------------
// file references

/// A file reference stored as an object or a bare URL string; empty / null → `None`.
pub(crate) fn file_ref(value: &Bson) -> Option<FileRef> {
    match value {
        Bson::String(s) => {
            let url = s.trim();
            if url.is_empty() || url == "null" {
                return None;
            }
            Some(FileRef {
                key: key_from_url(url),
                url: url.to_owned(),
                file_name: None,
                mime_type: None,
                size: None,
                uploaded_at: None,
            })
        }
        Bson::Document(d) => {
            let url = opt_str(d, "url").map(|u| u.trim().to_owned());
            let key = opt_str(d, "key").or_else(|| url.as_deref().and_then(key_from_url));
            let url = match (url, &key) {
                (Some(u), _) => u,
                (None, Some(k)) => url_for_key(k),
                (None, None) => return None,
            };
            Some(FileRef {
                key,
                url,
                file_name: opt_str(d, "fileName"),
                mime_type: opt_str(d, "mimeType"),
                size: opt_int(d, "size").and_then(|s| u64::try_from(s).ok()),
                uploaded_at: opt_date(d, "uploadedAt"),
            })
        }
        _ => None,
    }
}

fn opt_file(doc: &Document, key: &str) -> Option<FileRef> {
    doc.get(key).and_then(file_ref)
}

fn file_list(doc: &Document, key: &str) -> Vec<FileRef> {
    match doc.get(key) {
        Some(Bson::Array(items)) => items.iter().filter_map(file_ref).collect(),
        // A single reference where a list belongs.
        Some(other) => file_ref(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A file reference as the legacy backend wrote it: `{key, url, fileName, mimeType, size, uploadedAt}`.
pub(crate) fn file_ref_doc(f: &FileRef) -> Document {
    let mut d = Document::new();
    if let Some(k) = &f.key {
        d.insert("key", k.clone());
    }
    d.insert("url", f.url.clone());
    if let Some(n) = &f.file_name {
        d.insert("fileName", n.clone());
    }
    if let Some(m) = &f.mime_type {
        d.insert("mimeType", m.clone());
    }
    if let Some(s) = f.size {
        d.insert("size", int(i64::try_from(s).unwrap_or(i64::MAX)));
    }
    if let Some(t) = f.uploaded_at {
        d.insert("uploadedAt", date(t));
    }
    d
}

// ---------------------------------------------------------------------------------------------
// writers

/// An integer as Int32 when it fits, else Int64.
pub(crate) fn int(i: i64) -> Bson {
    i32::try_from(i).map_or(Bson::Int64(i), Bson::Int32)
}

/// A revision as Int64 (saturating; a revision never gets anywhere near `i64::MAX`).
pub(crate) fn revision_bson(revision: u64) -> Bson {
    Bson::Int64(i64::try_from(revision).unwrap_or(i64::MAX))
}

/// A BSON date.
pub(crate) fn date(t: DateTime<Utc>) -> Bson {
    Bson::DateTime(bson::DateTime::from_chrono(t))
}

/// Opaque client value → BSON.
pub(crate) fn opaque_to_bson(v: &Opaque) -> Bson {
    match v {
        Opaque::Null => Bson::Null,
        Opaque::Bool(b) => Bson::Boolean(*b),
        Opaque::Int(i) => int(*i),
        Opaque::Float(f) => Bson::Double(*f),
        Opaque::String(s) => Bson::String(s.clone()),
        Opaque::Array(items) => Bson::Array(items.iter().map(opaque_to_bson).collect()),
        Opaque::Object(map) => {
            Bson::Document(map.iter().map(|(k, v)| (k.clone(), opaque_to_bson(v))).collect::<Document>())
        }
    }
}

/// Any BSON → opaque value (dates as RFC 3339 text, ObjectIds as hex, other exotic types as text).
pub(crate) fn bson_to_opaque(v: &Bson) -> Opaque {
    match v {
        Bson::Null | Bson::Undefined => Opaque::Null,
        Bson::Boolean(b) => Opaque::Bool(*b),
        Bson::Int32(i) => Opaque::Int(i64::from(*i)),
        Bson::Int64(i) => Opaque::Int(*i),
        Bson::Double(d) => Opaque::Float(*d),
        Bson::String(s) => Opaque::String(s.clone()),
        Bson::Array(items) => Opaque::Array(items.iter().map(bson_to_opaque).collect()),
        Bson::Document(d) => {
            Opaque::Object(d.iter().map(|(k, v)| (k.clone(), bson_to_opaque(v))).collect::<BTreeMap<_, _>>())
        }
        Bson::DateTime(d) => Opaque::String(d.to_chrono().to_rfc3339()),
        Bson::ObjectId(o) => Opaque::String(o.to_hex()),
        other => Opaque::String(other.to_string()),
    }
}

/// Collects `$set` and `$unset` parts of an update.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    set: Document,
    unset: Document,
}

impl Changes {
    fn set(&mut self, key: &str, value: impl Into<Bson>) {
        self.set.insert(key, value.into());
    }

    fn opt(&mut self, key: &str, value: Option<Bson>) {
        match value {
            Some(v) => {
                self.set.insert(key, v);
            }
            None => {
                self.unset.insert(key, "");
            }
        }
    }

    fn opt_str(&mut self, key: &str, value: &Option<String>) {
        self.opt(key, value.clone().map(Bson::String));
    }

    /// Sets `updatedAt`.
    pub(crate) fn set_updated_at(&mut self, now: DateTime<Utc>) {
        self.set("updatedAt", date(now));
    }

    /// Sets the stored revision.
    pub(crate) fn set_revision(&mut self, revision: u64) {
        self.set(REVISION, revision_bson(revision));
    }

    /// The document for `insert_one` (the `$unset` part is simply left out).
    pub(crate) fn into_insert(self, id: ObjectId) -> Document {
        let mut d = doc! { "_id": id };
        d.extend(self.set);
        d
    }

    /// The `{$set, $unset}` update (an empty `$unset` is left out: MongoDB rejects it).
    pub(crate) fn into_update(self) -> Document {
        let mut u = doc! { "$set": self.set };
        if !self.unset.is_empty() {
            u.insert("$unset", self.unset);
        }
        u
    }
}

fn time_slots(doc: &Document, key: &str) -> Vec<TimeSlot> {
    array(doc, key)
        .iter()
        .filter_map(|item| match item {
            Bson::Document(d) => TimeSlot::new(opt_str(d, "startTime"), opt_str(d, "endTime"), opt_str(d, "activity")),
            _ => None,
        })
        .collect()
}

fn time_slots_bson(slots: &[TimeSlot]) -> Bson {
    Bson::Array(
        slots
            .iter()
            .map(|s| {
                Bson::Document(doc! {
                    "startTime": s.start_time.clone(),
                    "endTime": s.end_time.clone(),
                    "activity": s.activity.clone(),
                })
            })
            .collect(),
    )
}

fn strings_bson(items: &[String]) -> Bson {
    Bson::Array(items.iter().cloned().map(Bson::String).collect())
}

fn files_bson(items: &[FileRef]) -> Bson {
    Bson::Array(items.iter().map(|f| Bson::Document(file_ref_doc(f))).collect())
}

// ---------------------------------------------------------------------------------------------
// revisions

/// Field of the optimistic-concurrency revision (see `Parent::revision`).
pub(crate) const REVISION: &str = "revision";

/// The stored revision, read leniently (Int32, Int64, Double or numeric string); missing,
/// negative or unreadable → 0 (documents never updated by this service).
pub(crate) fn revision(doc: &Document) -> u64 {
    opt_int(doc, REVISION).and_then(|r| u64::try_from(r).ok()).unwrap_or(0)
}

/// The filter of a conditional update: document `id` stored at revision `expected`. Revision 0
/// also matches a missing (or `null`) field: legacy documents. Numbers of any BSON type compare
/// equal; the string form is matched too because reading accepts it.
pub(crate) fn revision_filter(id: ObjectId, expected: u64) -> Document {
    let values = if expected == 0 {
        vec![Bson::Null, revision_bson(0), Bson::String("0".into())]
    } else {
        vec![revision_bson(expected), Bson::String(expected.to_string())]
    };
    doc! { "_id": id, REVISION: { "$in": values } }
}

// ---------------------------------------------------------------------------------------------
// parents

/// A parent document → `Parent`; `None` only if the document has no usable `_id`.
pub(crate) fn parent_from_doc(doc: &Document) -> Option<Parent> {
    let id = doc_id(doc)?;
    let email = req_str(doc, "email");
    let children = array(doc, "children")
        .iter()
        .filter_map(|c| match c {
            Bson::Document(c) => Child::new(
                opt_str(c, "name"),
                c.get("age").and_then(bson_str),
                opt_str(c, "gender").as_deref().and_then(Gender::parse),
                opt_str(c, "notes"),
            ),
            _ => None,
        })
        .collect();
    Some(Parent {
        id,
        phone: req_str(doc, "phone"),
        postal_code: req_str(doc, "postalCode"),
        username: opt_str(doc, "username").unwrap_or_else(|| email.clone()),
        email,
        password: PasswordHash::from_stored(opt_str(doc, "password").unwrap_or_default()),
        first_name: opt_str(doc, "firstName"),
        last_name: opt_str(doc, "lastName"),
        name: opt_str(doc, "name"),
        address: opt_str(doc, "address"),
        children_ages: opt_str(doc, "childrenAges"),
        notes: opt_str(doc, "notes"),
        number_of_children: opt_int(doc, "numberOfChildren"),
        children,
        profile_image: opt_file(doc, "profileImageUrl"),
        email_notifications_enabled: opt_bool(doc, "emailNotificationsEnabled").unwrap_or(true),
        created_at: opt_date(doc, "createdAt"),
        updated_at: opt_date(doc, "updatedAt"),
        revision: revision(doc),
    })
}

/// Every field of a parent the service knows, as `$set`/`$unset` parts. `createdAt` is only set
/// when known; `updatedAt` is the caller's business.
pub(crate) fn parent_changes(p: &Parent) -> Changes {
    let mut c = Changes::default();
    c.set("email", p.email.clone());
    c.set("phone", p.phone.clone());
    c.set("postalCode", p.postal_code.clone());
    c.set("username", p.username.clone());
    c.set("password", p.password.stored().to_owned());
    c.opt_str("firstName", &p.first_name);
    c.opt_str("lastName", &p.last_name);
    c.opt_str("name", &p.name);
    c.opt_str("address", &p.address);
    c.opt_str("childrenAges", &p.children_ages);
    c.opt_str("notes", &p.notes);
    c.opt("numberOfChildren", p.number_of_children.map(int));
    let children: Vec<Bson> = p
        .children
        .iter()
        .map(|ch| {
            Bson::Document(doc! {
                "name": ch.name.clone(),
                "age": ch.age.clone().map_or(Bson::Null, Bson::String),
                "gender": ch.gender.map_or(Bson::Null, |g| Bson::String(g.as_str().to_owned())),
                "notes": ch.notes.clone().map_or(Bson::Null, Bson::String),
            })
        })
        .collect();
    c.set("children", children);
    c.opt("profileImageUrl", p.profile_image.as_ref().map(|f| Bson::Document(file_ref_doc(f))));
    c.set("emailNotificationsEnabled", p.email_notifications_enabled);
    c.set("role", "parent");
    if let Some(t) = p.created_at {
        c.set("createdAt", date(t));
    }
    c
}

// ---------------------------------------------------------------------------------------------
// caregivers

/// A caregiver document → `Caregiver`; `None` only if the document has no usable `_id`.
pub(crate) fn caregiver_from_doc(doc: &Document) -> Option<Caregiver> {
    let id = doc_id(doc)?;
    let email = req_str(doc, "email");
    let details = CaregiverDetails {
        first_name: opt_str(doc, "firstName"),
        last_name: opt_str(doc, "lastName"),
        name: opt_str(doc, "name"),
        city: opt_str(doc, "city"),
        daycare_name: opt_str(doc, "daycareName"),
        available_spots: opt_int(doc, "availableSpots").unwrap_or(0).max(0),
        children_count: opt_int(doc, "childrenCount"),
        birth_date: opt_date(doc, "birthDate"),
        caregiver_since: opt_date(doc, "caregiverSince"),
        max_child_age: opt_int(doc, "maxChildAge"),
        has_availability: opt_bool(doc, "hasAvailability").unwrap_or(false),
        availability_timing: opt_str(doc, "availabilityTiming").unwrap_or_else(|| DEFAULT_TIMING.to_owned()),
        bio: opt_str(doc, "bio"),
        short_description: opt_str(doc, "shortDescription"),
        location: doc.get("location").filter(|l| !matches!(l, Bson::Null)).map(bson_to_opaque),
        care_times: time_slots(doc, "careTimes"),
        daily_schedule: time_slots(doc, "dailySchedule"),
        meal_plan: opt_str(doc, "mealPlan"),
        closed_days: string_list(doc, "closedDays"),
        email_notifications_enabled: opt_bool(doc, "emailNotificationsEnabled").unwrap_or(true),
    };
    let contract_documents = array(doc, "contractDocuments")
        .iter()
        .filter_map(|item| {
            let Bson::Document(d) = item else { return None };
            let file = d.get("file").and_then(file_ref)?;
            let name = opt_str(d, "name").or_else(|| file.file_name.clone()).unwrap_or_default();
            Some(ContractDocument { name, file })
        })
        .collect();
    let files = CaregiverFiles {
        profile_image: opt_file(doc, "profileImageUrl"),
        logo_image: opt_file(doc, "logoImageUrl"),
        concept: opt_file(doc, "conceptUrl"),
        room_images: file_list(doc, "roomImages"),
        caregiver_images: file_list(doc, "caregiverImages"),
        contract_documents,
    };
    Some(Caregiver {
        id,
        phone: req_str(doc, "phone"),
        address: req_str(doc, "address"),
        postal_code: req_str(doc, "postalCode"),
        username: opt_str(doc, "username").unwrap_or_else(|| email.clone()),
        email,
        password: PasswordHash::from_stored(opt_str(doc, "password").unwrap_or_default()),
        details,
        files,
        city_slug: opt_str(doc, "citySlug"),
        daycare_slug: opt_str(doc, "daycareSlug"),
        profile_path: opt_str(doc, "profilePath"),
        legacy_profile_paths: string_list(doc, "legacyProfilePaths"),
        created_at: opt_date(doc, "createdAt"),
        updated_at: opt_date(doc, "updatedAt"),
        revision: revision(doc),
    })
}

/// Every field of a caregiver the service knows, as `$set`/`$unset` parts. `age` (whole years
/// on `today`) is derived from `birthDate` for the legacy backend, which reads it instead of the
/// birth date; it is right as of the last write (a birthday since then is not reflected) and
/// removed without a birth date.
pub(crate) fn caregiver_changes(cg: &Caregiver, today: NaiveDate) -> Changes {
    let mut c = Changes::default();
    let d = &cg.details;
    let f = &cg.files;
    c.set("email", cg.email.clone());
    c.set("phone", cg.phone.clone());
    c.set("address", cg.address.clone());
    c.set("postalCode", cg.postal_code.clone());
    c.set("username", cg.username.clone());
    c.set("password", cg.password.stored().to_owned());
    c.opt_str("firstName", &d.first_name);
    c.opt_str("lastName", &d.last_name);
    c.opt_str("name", &d.name);
    c.opt_str("city", &d.city);
    c.opt_str("daycareName", &d.daycare_name);
    c.set("availableSpots", int(d.available_spots));
    c.opt("childrenCount", d.children_count.map(int));
    c.opt("birthDate", d.birth_date.map(date));
    c.opt("age", d.birth_date.map(|b| int(i64::from(whole_years(b.date_naive(), today)))));
    c.opt("caregiverSince", d.caregiver_since.map(date));
    c.opt("maxChildAge", d.max_child_age.map(int));
    c.set("hasAvailability", d.has_availability);
    c.set("availabilityTiming", d.availability_timing.clone());
    c.opt_str("bio", &d.bio);
    c.opt_str("shortDescription", &d.short_description);
    c.opt("location", d.location.as_ref().map(opaque_to_bson));
    c.set("careTimes", time_slots_bson(&d.care_times));
    c.set("dailySchedule", time_slots_bson(&d.daily_schedule));
    c.opt_str("mealPlan", &d.meal_plan);
    c.set("closedDays", strings_bson(&d.closed_days));
    c.set("emailNotificationsEnabled", d.email_notifications_enabled);
    c.opt("profileImageUrl", f.profile_image.as_ref().map(|x| Bson::Document(file_ref_doc(x))));
    c.opt("logoImageUrl", f.logo_image.as_ref().map(|x| Bson::Document(file_ref_doc(x))));
    c.opt("conceptUrl", f.concept.as_ref().map(|x| Bson::Document(file_ref_doc(x))));
    c.set("roomImages", files_bson(&f.room_images));
    c.set("caregiverImages", files_bson(&f.caregiver_images));
    c.set(
        "contractDocuments",
        Bson::Array(
            f.contract_documents
                .iter()
                .map(|cd| Bson::Document(doc! { "name": cd.name.clone(), "file": file_ref_doc(&cd.file) }))
                .collect(),
        ),
    );
    c.opt_str("citySlug", &cg.city_slug);
    c.opt_str("daycareSlug", &cg.daycare_slug);
    c.opt_str("profilePath", &cg.profile_path);
    c.set("legacyProfilePaths", strings_bson(&cg.legacy_profile_paths));
    c.set("role", "caregiver");
    if let Some(t) = cg.created_at {
        c.set("createdAt", date(t));
    }
    c
}

// ---------------------------------------------------------------------------------------------
// matches

/// A match document → `Match`; `None` only if the document has no usable `_id`.
pub(crate) fn match_from_doc(doc: &Document) -> Option<Match> {
    Some(Match {
        id: doc_id(doc)?,
        parent_id: reference(doc, "parentId"),
        caregiver_id: reference(doc, "caregiverId"),
        created_at: opt_date(doc, "createdAt"),
        updated_at: opt_date(doc, "updatedAt"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_derived_from_both_url_forms() {
        assert_eq!(key_from_url("/uploads/a/b.jpg").as_deref(), Some("a/b.jpg"));
        assert_eq!(key_from_url("/api/files/a%2Fb%20c.pdf").as_deref(), Some("a/b c.pdf"));
        assert_eq!(key_from_url("https://x.de/api/files/a%2Fb.pdf?sig=1").as_deref(), Some("a/b.pdf"));
        assert_eq!(key_from_url("/api/files/..%2Fetc%2Fpasswd"), None);
        assert_eq!(key_from_url("https://cdn.example.org/x.png"), None);
    }

    #[test]
    fn strings_numbers_and_booleans_are_read_leniently() {
        let d = doc! { "a": "0", "b": "4", "c": "false", "d": 2.0, "e": "true", "f": "x", "g": Bson::Null };
        assert_eq!(opt_int(&d, "a"), Some(0));
        assert_eq!(opt_int(&d, "b"), Some(4));
        assert_eq!(opt_int(&d, "d"), Some(2));
        assert_eq!(opt_int(&d, "f"), None);
        assert_eq!(opt_bool(&d, "c"), Some(false));
        assert_eq!(opt_bool(&d, "e"), Some(true));
        assert_eq!(opt_bool(&d, "g"), None);
        assert_eq!(opt_str(&d, "g"), None);
    }

    #[test]
    fn revisions_are_read_leniently_and_default_to_zero() {
        let d = doc! { "a": 3_i32, "b": 4_i64, "c": 5.0, "d": "6", "e": -1_i32, "f": "x", "g": Bson::Null };
        let read = |k: &str| {
            let mut one = Document::new();
            if let Some(v) = d.get(k) {
                one.insert(REVISION, v.clone());
            }
            revision(&one)
        };
        assert_eq!([read("a"), read("b"), read("c"), read("d")], [3, 4, 5, 6]);
        assert_eq!([read("e"), read("f"), read("g"), read("missing")], [0, 0, 0, 0]);
    }

    #[test]
    fn dates_are_read_from_dates_and_text() {
        let d = doc! { "a": "2025-11-02T09:15:00.000Z", "b": "1984-06-15", "c": "gestern", "d": 5 };
        assert_eq!(opt_date(&d, "a").map(|t| t.to_rfc3339()), Some("2025-11-02T09:15:00+00:00".into()));
        assert_eq!(opt_date(&d, "b").map(|t| t.to_rfc3339()), Some("1984-06-15T00:00:00+00:00".into()));
        assert_eq!(opt_date(&d, "c"), None);
        assert_eq!(opt_date(&d, "d"), None);
    }

    #[test]
    fn file_refs_round_trip_as_objects() {
        let f = file_ref(&Bson::String("/uploads/x/y.png".into())).expect("ref");
        assert_eq!(f.key.as_deref(), Some("x/y.png"));
        let back = file_ref(&Bson::Document(file_ref_doc(&f))).expect("ref");
        assert_eq!(back, f);
        assert_eq!(file_ref(&Bson::String(String::new())), None);
        assert_eq!(file_ref(&Bson::Null), None);
        let only_key = file_ref(&Bson::Document(doc! { "key": "a/b.png" })).expect("ref");
        assert_eq!(only_key.url, "/api/files/a%2Fb.png");
    }

    #[test]
    fn opaque_values_round_trip() {
        let v = Bson::Document(doc! { "latitude": 50.9, "longitude": 6.9, "tags": ["a", 1_i32], "n": Bson::Null });
        assert_eq!(opaque_to_bson(&bson_to_opaque(&v)), v);
    }
}
