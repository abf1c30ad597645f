//! JSON shapes of profiles, per visibility. Never `_id`, `password` or reset data.

use application::{Account, FileService, Visibility};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::dates::whole_years;
use domain::{Caregiver, Child, FileRef, Opaque, Parent, TimeSlot};
use serde_json::{Map, Value, json};

/// RFC 3339 with milliseconds and `Z`, like the legacy backend's `toISOString()`.
pub fn iso(d: &DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn opt_iso(d: &Option<DateTime<Utc>>) -> Value {
    d.as_ref().map_or(Value::Null, |d| Value::String(iso(d)))
}

/// Renders file references; private files get signed URLs.
#[derive(Debug, Clone, Copy)]
pub struct Renderer<'a> {
    pub files: &'a FileService,
    pub now: DateTime<Utc>,
}

impl Renderer<'_> {
    fn file(&self, f: &FileRef) -> Value {
        json!({
            "key": f.key,
            "url": self.files.viewer_url(f, self.now),
            "fileName": f.file_name,
            "mimeType": f.mime_type,
            "size": f.size,
            "uploadedAt": opt_iso(&f.uploaded_at),
        })
    }

    fn opt_file(&self, f: &Option<FileRef>) -> Value {
        f.as_ref().map_or(Value::Null, |f| self.file(f))
    }

    fn files(&self, list: &[FileRef]) -> Value {
        Value::Array(list.iter().map(|f| self.file(f)).collect())
    }

    /// A parent as `visibility` allows.
    pub fn parent(&self, p: &Parent, visibility: Visibility) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!(p.id.as_str()));
        o.insert("role".into(), json!("parent"));
        o.insert("name".into(), json!(p.name));
        o.insert("firstName".into(), json!(p.first_name));
        o.insert("lastName".into(), json!(p.last_name));
        o.insert("profileImageUrl".into(), self.opt_file(&p.profile_image));
        o.insert("postalCode".into(), json!(p.postal_code));
        if visibility == Visibility::Owner {
            o.insert("email".into(), json!(p.email));
            o.insert("phone".into(), json!(p.phone));
            o.insert("address".into(), json!(p.address));
            o.insert("username".into(), json!(p.username));
            o.insert("childrenAges".into(), json!(p.children_ages));
            o.insert("notes".into(), json!(p.notes));
            o.insert("numberOfChildren".into(), json!(p.number_of_children));
            o.insert("children".into(), Value::Array(p.children.iter().map(child).collect()));
            o.insert("emailNotificationsEnabled".into(), json!(p.email_notifications_enabled));
            o.insert("createdAt".into(), opt_iso(&p.created_at));
            o.insert("updatedAt".into(), opt_iso(&p.updated_at));
        }
        Value::Object(o)
    }

    /// A caregiver as `visibility` allows: anonymous callers get no email, phone or street
    /// address; contract documents only go to the owner and to parents; only the owner sees
    /// username and notification settings.
    pub fn caregiver(&self, c: &Caregiver, visibility: Visibility) -> Value {
        let d = &c.details;
        let today = self.now.date_naive();
        let mut o = Map::new();
        o.insert("id".into(), json!(c.id.as_str()));
        o.insert("role".into(), json!("caregiver"));
        o.insert("firstName".into(), json!(d.first_name));
        o.insert("lastName".into(), json!(d.last_name));
        o.insert("name".into(), json!(d.name));
        o.insert("postalCode".into(), json!(c.postal_code));
        o.insert("city".into(), json!(d.city));
        o.insert("daycareName".into(), json!(d.daycare_name));
        o.insert("availableSpots".into(), json!(d.available_spots));
        o.insert("childrenCount".into(), json!(d.children_count));
        o.insert("birthDate".into(), opt_iso(&d.birth_date));
        o.insert("age".into(), json!(d.birth_date.map(|b| whole_years(b.date_naive(), today))));
        o.insert("caregiverSince".into(), opt_iso(&d.caregiver_since));
        o.insert("yearsOfExperience".into(), json!(d.caregiver_since.map(|s| whole_years(s.date_naive(), today))));
        o.insert("maxChildAge".into(), json!(d.max_child_age));
        o.insert("hasAvailability".into(), json!(d.has_availability));
        o.insert("availabilityTiming".into(), json!(d.availability_timing));
        o.insert("bio".into(), json!(d.bio));
        o.insert("shortDescription".into(), json!(d.short_description));
        o.insert("location".into(), d.location.as_ref().map_or(Value::Null, opaque));
        o.insert("careTimes".into(), slots(&d.care_times));
        o.insert("dailySchedule".into(), slots(&d.daily_schedule));
        o.insert("mealPlan".into(), json!(d.meal_plan));
        o.insert("closedDays".into(), json!(d.closed_days));
        o.insert("profileImageUrl".into(), self.opt_file(&c.files.profile_image));
        o.insert("logoImageUrl".into(), self.opt_file(&c.files.logo_image));
        o.insert("conceptUrl".into(), self.opt_file(&c.files.concept));
        o.insert("roomImages".into(), self.files(&c.files.room_images));
        o.insert("caregiverImages".into(), self.files(&c.files.caregiver_images));
        o.insert("citySlug".into(), json!(c.city_slug));
        o.insert("daycareSlug".into(), json!(c.daycare_slug));
        o.insert("profilePath".into(), json!(c.profile_path));
        o.insert("legacyProfilePaths".into(), json!(c.legacy_profile_paths));
        o.insert("createdAt".into(), opt_iso(&c.created_at));
        o.insert("updatedAt".into(), opt_iso(&c.updated_at));
        if visibility.is_authenticated() {
            o.insert("email".into(), json!(c.email));
            o.insert("phone".into(), json!(c.phone));
            o.insert("address".into(), json!(c.address));
        }
        // Contract documents are private: for the caregiver and for parents considering them.
        if matches!(visibility, Visibility::Owner | Visibility::Parent) {
            o.insert(
                "contractDocuments".into(),
                Value::Array(
                    c.files
                        .contract_documents
                        .iter()
                        .map(|doc| json!({"name": doc.name, "file": self.file(&doc.file)}))
                        .collect(),
                ),
            );
        }
        if visibility == Visibility::Owner {
            o.insert("username".into(), json!(c.username));
            o.insert("emailNotificationsEnabled".into(), json!(d.email_notifications_enabled));
        }
        Value::Object(o)
    }

    /// Either kind of account.
    pub fn account(&self, a: &Account, visibility: Visibility) -> Value {
        match a {
            Account::Parent(p) => self.parent(p, visibility),
            Account::Caregiver(c) => self.caregiver(c, visibility),
        }
    }
}

fn child(c: &Child) -> Value {
    json!({"name": c.name, "age": c.age, "gender": c.gender.map(|g| g.as_str()), "notes": c.notes})
}

fn slots(list: &[TimeSlot]) -> Value {
    Value::Array(
        list.iter()
            .map(|s| json!({"startTime": s.start_time, "endTime": s.end_time, "activity": s.activity}))
            .collect(),
    )
}

/// Opaque stored value back to JSON.
pub fn opaque(v: &Opaque) -> Value {
    match v {
        Opaque::Null => Value::Null,
        Opaque::Bool(b) => json!(b),
        Opaque::Int(i) => json!(i),
        Opaque::Float(f) => json!(f),
        Opaque::String(s) => json!(s),
        Opaque::Array(a) => Value::Array(a.iter().map(opaque).collect()),
        Opaque::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), opaque(v))).collect()),
    }
}
