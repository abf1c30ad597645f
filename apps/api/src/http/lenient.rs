//! Reading the apps' whole-form JSON bodies liberally: `""`, `null` and missing all mean "not
//! set", numbers may come as strings, booleans as `"true"`, dates as `YYYY-MM-DD` or ISO strings,
//! unknown fields are ignored. Only required fields, upload rules and security rules reject.

use application::{ContractItem, FileChange, GalleryItem, UploadData};
use chrono::{DateTime, NaiveDate, Utc};
use domain::{Child, Gender, Opaque, Patch, TimeSlot};
use serde_json::{Map, Value};

/// Longest text accepted in any field other than uploads (a bio, notes, a meal plan, …).
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Fields (top-level or inside list items) that carry base64 uploads and may be long.
const UPLOAD_KEYS: &[&str] = &["profileImage", "logoImage", "conceptFile", "dataUrl", "data", "base64", "file"];

/// The most keys an object (e.g. `location`) may have, and the longest key.
const MAX_OBJECT_KEYS: usize = 100;
const MAX_KEY_CHARS: usize = 100;
/// Largest opaque value (`location`), as JSON text.
const MAX_OPAQUE_JSON_CHARS: usize = MAX_TEXT_CHARS;
/// Fields stored as given (opaque JSON): bounded as a whole.
const OPAQUE_FIELDS: &[&str] = &["location"];
/// Largest count (spots, children, ages) taken as meant; larger values count as "not set".
pub const MAX_COUNT: i64 = 10_000;

/// The most entries a list field may have; other lists 100.
fn max_items(field: &str) -> usize {
    match field {
        "roomImages" | "caregiverImages" => 30,
        "contractDocuments" | "children" => 20,
        "careTimes" | "dailySchedule" => 50,
        "closedDays" => 400,
        _ => 100,
    }
}

/// Refuses bodies whose fields are absurdly long (texts over 10,000 characters, lists over their
/// limits, deep structures), before anything is parsed further or stored: such values cannot be
/// meant, and would otherwise reach the database's document size limit as a 500.
pub fn check_limits(body: &Map<String, Value>) -> Result<(), crate::http::error::ApiError> {
    use crate::http::error::ApiError;
    fn too_long(field: &str) -> ApiError {
        ApiError::bad_request("field_too_long", format!("Das Feld „{field}“ ist zu lang."))
            .with_details(serde_json::json!({ "field": field }))
    }
    fn check(field: &str, key: &str, v: &Value, depth: usize) -> Result<(), ApiError> {
        if depth > 6 {
            return Err(too_long(field));
        }
        match v {
            Value::String(s) if !UPLOAD_KEYS.contains(&key) && s.chars().count() > MAX_TEXT_CHARS => {
                Err(too_long(field))
            }
            // Lists and objects may also arrive as JSON text (form libraries send them so), and
            // are read as such further on: they are held to the same limits. Text that does not
            // parse stays text.
            Value::String(s) if depth == 0 && s.trim_start().starts_with(['[', '{']) => {
                match serde_json::from_str::<Value>(s) {
                    Ok(inner) => check(field, key, &inner, depth),
                    Err(_) => Ok(()),
                }
            }
            Value::Array(items) => {
                if items.len() > max_items(field) {
                    return Err(ApiError::bad_request(
                        "too_many_items",
                        format!("Das Feld „{field}“ hat zu viele Einträge."),
                    )
                    .with_details(serde_json::json!({ "field": field, "max": max_items(field) })));
                }
                items.iter().try_for_each(|i| check(field, key, i, depth + 1))
            }
            Value::Object(o) => {
                if o.len() > MAX_OBJECT_KEYS || o.keys().any(|k| k.chars().count() > MAX_KEY_CHARS) {
                    return Err(too_long(field));
                }
                o.iter().try_for_each(|(k, v)| check(field, k, v, depth + 1))
            }
            _ => Ok(()),
        }
    }
    body.iter().try_for_each(|(k, v)| {
        check(k, k, v, 0)?;
        if OPAQUE_FIELDS.contains(&k.as_str()) && v.to_string().chars().count() > MAX_OPAQUE_JSON_CHARS {
            return Err(too_long(k));
        }
        Ok(())
    })
}

/// Refuses a value of the wrong kind in a field every profile must hold (`email`, `phone`, …):
/// text and numbers are fine (`"postalCode": 50667`), `true`, lists and objects cannot be meant
/// and get 400 naming the field, rather than being stored as `"true"` or silently ignored.
pub fn check_scalar_fields(body: &Map<String, Value>, fields: &[&str]) -> Result<(), crate::http::error::ApiError> {
    match fields.iter().find(|f| matches!(body.get(**f), Some(Value::Bool(_) | Value::Array(_) | Value::Object(_)))) {
        Some(f) => {
            Err(crate::http::error::ApiError::bad_request("invalid_field", format!("Das Feld „{f}“ ist ungültig."))
                .with_details(serde_json::json!({ "field": f })))
        }
        None => Ok(()),
    }
}

/// A JSON object body read field by field.
#[derive(Debug)]
pub struct Form<'a>(pub &'a Map<String, Value>);

fn trimmed(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Text of a scalar value (`null` and empty text are `None`); whole numbers sent as floats
/// (`50667.0`) read as whole numbers.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => trimmed(s),
        Value::Number(n) => Some(number_text(n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => n.to_string(),
    }
}

/// A count or age: whole, from 0 to [`MAX_COUNT`] (other values count as "not set").
fn int_of(v: &Value) -> Option<i64> {
    raw_int(v).filter(|n| (0..=MAX_COUNT).contains(n))
}

/// A child's age: a number becomes its whole number of years (0–30, else "not set"); other text
/// ("2 Jahre", "unter 1") is kept as the parent wrote it.
fn child_age(v: &Value) -> Option<String> {
    match raw_int(v) {
        Some(n) => (0..=30).contains(&n).then(|| n.to_string()),
        None if v.is_string() => scalar_text(v).filter(|t| t.parse::<f64>().is_err()),
        None => None,
    }
}

fn raw_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.trunc() as i64)),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| t.replace(',', ".").parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f.trunc() as i64))
        }
        _ => None,
    }
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "ja" => Some(true),
            "false" | "0" | "no" | "off" | "nein" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Parses `YYYY-MM-DD`, RFC 3339, or `YYYY-MM-DDTHH:MM[:SS]` without zone (as UTC). Dates before
/// 1900 or after 2100 are typing mistakes and count as "not set".
pub fn date_of(v: &Value) -> Option<DateTime<Utc>> {
    use chrono::Datelike as _;
    parse_date(v).filter(|d| (1900..=2100).contains(&d.year()))
}

/// Like [`date_of`], for dates that cannot lie in the future (a birth date, a start of work). A
/// day of slack: `YYYY-MM-DD` reads as midnight UTC, and German midnight comes an hour or two
/// earlier, so "today" must not count as the future.
pub fn past_date_of(v: &Value, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    date_of(v).filter(|d| *d <= now + chrono::TimeDelta::days(1))
}

fn parse_date(v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(dt.and_utc());
        }
    }
    None
}

/// A list sent as a JSON array or as a string holding a JSON array.
fn list_of(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) => Some(a.clone()),
        Value::String(s) if s.trim().starts_with('[') => serde_json::from_str::<Vec<Value>>(s).ok(),
        _ => None,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// Converts JSON to an opaque stored value.
pub fn opaque_of(v: &Value) -> Opaque {
    match v {
        Value::Null => Opaque::Null,
        Value::Bool(b) => Opaque::Bool(*b),
        Value::Number(n) => n.as_i64().map(Opaque::Int).unwrap_or_else(|| Opaque::Float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => Opaque::String(s.clone()),
        Value::Array(a) => Opaque::Array(a.iter().map(opaque_of).collect()),
        Value::Object(o) => Opaque::Object(o.iter().map(|(k, v)| (k.clone(), opaque_of(v))).collect()),
    }
}

fn upload_from_object(o: &Map<String, Value>) -> Option<UploadData> {
    let data =
        ["dataUrl", "data", "base64"].iter().find_map(|k| o.get(*k).and_then(Value::as_str)).and_then(trimmed)?;
    let file_name = ["fileName", "name"].iter().find_map(|k| o.get(*k).and_then(Value::as_str)).and_then(trimmed);
    Some(UploadData { data, file_name })
}

fn looks_like_url(s: &str) -> bool {
    s.starts_with('/') || s.starts_with("http://") || s.starts_with("https://")
}

impl<'a> Form<'a> {
    fn get(&self, k: &str) -> Option<&'a Value> {
        self.0.get(k)
    }

    /// A text field for a PATCH.
    pub fn text(&self, k: &str) -> Patch<String> {
        match self.get(k) {
            None => Patch::Keep,
            Some(v) if is_empty(v) => Patch::Clear,
            Some(v) => scalar_text(v).map_or(Patch::Keep, Patch::Set),
        }
    }

    /// A text field for a registration.
    pub fn opt_text(&self, k: &str) -> Option<String> {
        self.get(k).and_then(scalar_text)
    }

    /// The raw password (not trimmed: spaces may be part of it); empty is `None`.
    pub fn password(&self, k: &str) -> Option<String> {
        match self.get(k)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A whole number; unreadable values count as "not set".
    pub fn int(&self, k: &str) -> Patch<i64> {
        match self.get(k) {
            None => Patch::Keep,
            Some(v) => int_of(v).map_or(Patch::Clear, Patch::Set),
        }
    }

    /// A boolean (`true`, `"true"`, `"1"`, …).
    pub fn boolean(&self, k: &str) -> Patch<bool> {
        match self.get(k) {
            None => Patch::Keep,
            Some(v) => bool_of(v).map_or(Patch::Clear, Patch::Set),
        }
    }

    /// A date (`YYYY-MM-DD` or ISO).
    pub fn date(&self, k: &str) -> Patch<DateTime<Utc>> {
        match self.get(k) {
            None => Patch::Keep,
            Some(v) => date_of(v).map_or(Patch::Clear, Patch::Set),
        }
    }

    /// A date that cannot lie in the future (`birthDate`, `caregiverSince`): later dates count as
    /// "not set".
    pub fn past_date(&self, k: &str) -> Patch<DateTime<Utc>> {
        match self.get(k) {
            None => Patch::Keep,
            Some(v) => past_date_of(v, Utc::now()).map_or(Patch::Clear, Patch::Set),
        }
    }

    /// An opaque value (e.g. `location`); an object sent as JSON text (as form libraries do) is
    /// stored as the object.
    pub fn opaque(&self, k: &str) -> Patch<Opaque> {
        match self.get(k) {
            None => Patch::Keep,
            Some(v) if is_empty(v) => Patch::Clear,
            Some(Value::String(s)) if s.trim_start().starts_with('{') => match serde_json::from_str::<Value>(s) {
                Ok(o @ Value::Object(_)) => Patch::Set(opaque_of(&o)),
                _ => Patch::Set(Opaque::String(s.clone())),
            },
            Some(v) => Patch::Set(opaque_of(v)),
        }
    }

    /// A list of texts (e.g. `closedDays`): a JSON array, a string holding one, or a plain text of
    /// comma-separated entries.
    pub fn strings(&self, k: &str) -> Patch<Vec<String>> {
        match self.get(k) {
            None => Patch::Keep,
            Some(v) if is_empty(v) => Patch::Clear,
            Some(v) => match list_of(v) {
                Some(l) => Patch::Set(l.iter().filter_map(scalar_text).collect()),
                None => match v {
                    Value::String(s) => Patch::Set(s.split(',').filter_map(trimmed).collect()),
                    _ => Patch::Clear,
                },
            },
        }
    }

    /// A free text that apps may also send as a list of values (`childrenAges: [3, 4]` → `"3, 4"`).
    pub fn text_or_list(&self, k: &str) -> Patch<String> {
        match self.get(k) {
            Some(Value::Array(items)) => {
                let parts: Vec<String> =
                    items.iter().filter(|i| i.is_string() || i.is_number()).filter_map(scalar_text).collect();
                if parts.is_empty() { Patch::Clear } else { Patch::Set(parts.join(", ")) }
            }
            _ => self.text(k),
        }
    }

    /// Care times or a daily schedule; incomplete entries are dropped.
    pub fn time_slots(&self, k: &str) -> Patch<Vec<TimeSlot>> {
        match self.get(k) {
            None => Patch::Keep,
            Some(v) if is_empty(v) => Patch::Clear,
            Some(v) => list_of(v).map_or(Patch::Clear, |l| {
                Patch::Set(
                    l.iter()
                        .filter_map(|e| {
                            let o = e.as_object()?;
                            TimeSlot::new(
                                o.get("startTime").and_then(scalar_text),
                                o.get("endTime").and_then(scalar_text),
                                o.get("activity").and_then(scalar_text),
                            )
                        })
                        .collect(),
                )
            }),
        }
    }

    /// A parent's children; entries without name are dropped, unknown genders become "not set".
    pub fn children(&self, k: &str) -> Patch<Vec<Child>> {
        match self.get(k) {
            None => Patch::Keep,
            Some(v) if is_empty(v) => Patch::Clear,
            Some(v) => list_of(v).map_or(Patch::Clear, |l| {
                Patch::Set(
                    l.iter()
                        .filter_map(|e| {
                            let o = e.as_object()?;
                            Child::new(
                                o.get("name").and_then(scalar_text),
                                o.get("age").and_then(child_age),
                                o.get("gender").and_then(Value::as_str).and_then(Gender::parse),
                                o.get("notes").and_then(scalar_text),
                            )
                        })
                        .collect(),
                )
            }),
        }
    }

    /// A single file field (`profileImage` + `profileImageName`): new content replaces, `null` /
    /// `"null"` removes, absent, `""` or the existing URL sent back keeps.
    pub fn file(&self, k: &str, name_key: &str) -> FileChange {
        let file_name = self.opt_text(name_key);
        match self.get(k) {
            None => FileChange::Keep,
            Some(Value::Null) => FileChange::Remove,
            Some(Value::String(s)) => {
                let t = s.trim();
                if t == "null" {
                    FileChange::Remove
                } else if t.is_empty() || looks_like_url(t) {
                    FileChange::Keep
                } else {
                    FileChange::Replace(UploadData { data: t.to_owned(), file_name })
                }
            }
            Some(Value::Object(o)) => match upload_from_object(o) {
                Some(mut u) => {
                    u.file_name = u.file_name.or(file_name);
                    FileChange::Replace(u)
                }
                None => FileChange::Keep,
            },
            Some(_) => FileChange::Keep,
        }
    }

    /// A gallery list: items are an existing reference/URL or `{dataUrl, fileName}`.
    pub fn gallery(&self, k: &str) -> Option<Vec<GalleryItem>> {
        let v = self.get(k)?;
        if is_empty(v) {
            return Some(vec![]);
        }
        let list = list_of(v)?;
        Some(list.iter().filter_map(gallery_item).collect())
    }

    /// Contract documents: `{name, file | dataUrl + fileName}`.
    pub fn contracts(&self, k: &str) -> Option<Vec<ContractItem>> {
        let v = self.get(k)?;
        if is_empty(v) {
            return Some(vec![]);
        }
        let list = list_of(v)?;
        Some(
            list.iter()
                .filter_map(|e| {
                    let o = e.as_object()?;
                    let name = o.get("name").and_then(scalar_text);
                    let file = match o.get("file") {
                        Some(f) if !is_empty(f) => gallery_item(f)?,
                        _ => GalleryItem::New(upload_from_object(o)?),
                    };
                    Some(ContractItem { name, file })
                })
                .collect(),
        )
    }
}

fn gallery_item(v: &Value) -> Option<GalleryItem> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                None
            } else if t.starts_with("data:") {
                Some(GalleryItem::New(UploadData { data: t.to_owned(), file_name: None }))
            } else {
                Some(GalleryItem::Existing { key: None, url: t.to_owned() })
            }
        }
        Value::Object(o) => {
            if let Some(u) = upload_from_object(o) {
                return Some(GalleryItem::New(u));
            }
            let key = o.get("key").and_then(Value::as_str).and_then(trimmed);
            let url = o.get("url").and_then(Value::as_str).and_then(trimmed).unwrap_or_default();
            (key.is_some() || !url.is_empty()).then_some(GalleryItem::Existing { key, url })
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn form(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn absurd_values_are_refused_but_uploads_may_be_long() {
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert!(check_limits(&form(json!({"notes": long}))).is_err());
        assert!(check_limits(&form(json!({"children": [{"notes": long}]}))).is_err());
        assert!(check_limits(&form(json!({"profileImage": long, "roomImages": [{"dataUrl": long}]}))).is_ok());
        let many: Vec<Value> = (0..31).map(|_| json!("/uploads/a.png")).collect();
        assert!(check_limits(&form(json!({"roomImages": many}))).is_err());
        assert!(check_limits(&form(json!({"bio": "kurz", "location": {"latitude": 50.9}}))).is_ok());
    }

    #[test]
    fn huge_or_wide_objects_are_refused_before_they_are_stored() {
        let wide: Map<String, Value> = (0..=MAX_OBJECT_KEYS).map(|i| (format!("k{i}"), json!(1))).collect();
        assert!(check_limits(&form(json!({"location": wide}))).is_err());
        assert!(check_limits(&form(json!({"location": {"k".repeat(MAX_KEY_CHARS + 1): 1}}))).is_err());
        let big: Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!("v".repeat(500)))).collect();
        let err = check_limits(&form(json!({"location": big}))).unwrap_err();
        assert_eq!((err.code, err.status.as_u16()), ("field_too_long", 400));
        assert!(check_limits(&form(json!({"location": {"latitude": 50.93, "longitude": 6.96}}))).is_ok());
    }

    #[test]
    fn lists_and_objects_sent_as_json_text_are_held_to_the_same_limits() {
        let deep = format!("{}1{}", "{\"a\":".repeat(120), "}".repeat(120));
        assert!(check_limits(&form(json!({"location": deep}))).is_err());
        let wide: Map<String, Value> = (0..150).map(|i| (format!("k{i}"), json!(1))).collect();
        assert!(check_limits(&form(json!({"location": Value::Object(wide).to_string()}))).is_err());
        let days = Value::Array((0..500).map(|_| json!("Mo")).collect()).to_string();
        let err = check_limits(&form(json!({"closedDays": days}))).unwrap_err();
        assert_eq!(err.code, "too_many_items");
        let slots = Value::Array((0..51).map(|_| json!({"startTime": "8", "endTime": "9"})).collect()).to_string();
        assert!(check_limits(&form(json!({"careTimes": slots}))).is_err());
        assert!(check_limits(&form(json!({"location": "{\"latitude\": 50.9}", "bio": "[nicht json"}))).is_ok());
    }

    #[test]
    fn required_fields_take_text_and_numbers_but_not_booleans_lists_or_objects() {
        let fields = ["email", "phone", "postalCode"];
        assert!(check_scalar_fields(&form(json!({"phone": "0221", "postalCode": 50667})), &fields).is_ok());
        for bad in [json!({"phone": false}), json!({"email": []}), json!({"postalCode": {}})] {
            let err = check_scalar_fields(&form(bad.clone()), &fields).unwrap_err();
            assert_eq!(err.code, "invalid_field", "{bad}");
        }
        let m = form(json!({"postalCode": 50667.0, "x": 1.5}));
        assert_eq!(Form(&m).text("postalCode"), Patch::Set("50667".into()));
        assert_eq!(Form(&m).text("x"), Patch::Set("1.5".into()));
    }

    #[test]
    fn loose_shapes_are_normalised() {
        let m = form(json!({
            "closedDays": "Mo, Di",
            "location": "{\"latitude\": 1, \"longitude\": 2}",
            "childrenAges": [3, "4", null, true],
            "spots": 1e308,
            "bigSpots": "99999999999999999999",
            "birthDate": "2999-01-01",
            "children": [{"name": "A", "age": "x"}, {"name": "B", "age": -1}, {"name": "C", "age": 1e9}, {"name": "D", "age": "3"}]
        }));
        let f = Form(&m);
        assert_eq!(f.strings("closedDays"), Patch::Set(vec!["Mo".into(), "Di".into()]));
        assert!(matches!(f.opaque("location"), Patch::Set(Opaque::Object(o)) if o.len() == 2));
        assert_eq!(f.text_or_list("childrenAges"), Patch::Set("3, 4".into()));
        assert_eq!(f.int("spots"), Patch::Clear);
        assert_eq!(f.int("bigSpots"), Patch::Clear);
        assert_eq!(f.past_date("birthDate"), Patch::Clear);
        let Patch::Set(children) = f.children("children") else { panic!("children") };
        let ages: Vec<Option<&str>> = children.iter().map(|c| c.age.as_deref()).collect();
        assert_eq!(ages, [Some("x"), None, None, Some("3")]);
    }

    #[test]
    fn negative_counts_and_far_dates_count_as_not_set() {
        let m = form(json!({"n": -5, "d": "0000-01-01", "e": "2199-01-01", "f": "1984-06-15"}));
        let f = Form(&m);
        assert_eq!(f.int("n"), Patch::Clear);
        assert_eq!(f.date("d"), Patch::Clear);
        assert_eq!(f.date("e"), Patch::Clear);
        assert!(matches!(f.date("f"), Patch::Set(_)));
    }

    #[test]
    fn empty_null_and_missing_mean_not_set() {
        let m = form(json!({"a": "", "b": null, "c": "  x "}));
        let f = Form(&m);
        assert_eq!(f.text("a"), Patch::Clear);
        assert_eq!(f.text("b"), Patch::Clear);
        assert_eq!(f.text("c"), Patch::Set("x".into()));
        assert_eq!(f.text("d"), Patch::Keep);
        assert_eq!(f.opt_text("a"), None);
    }

    #[test]
    fn numbers_booleans_and_dates_arrive_as_strings() {
        let m = form(
            json!({"n": "3", "m": 2.0, "x": "drei", "b": "true", "c": "false", "d": "1984-06-15", "e": "2012-08-01T00:00:00.000Z", "f": ""}),
        );
        let f = Form(&m);
        assert_eq!(f.int("n"), Patch::Set(3));
        assert_eq!(f.int("m"), Patch::Set(2));
        assert_eq!(f.int("x"), Patch::Clear);
        assert_eq!(f.boolean("b"), Patch::Set(true));
        assert_eq!(f.boolean("c"), Patch::Set(false));
        assert_eq!(f.date("d").map(|d| d.to_rfc3339()), Patch::Set("1984-06-15T00:00:00+00:00".into()));
        assert!(matches!(f.date("e"), Patch::Set(_)));
        assert_eq!(f.date("f"), Patch::Clear);
    }

    #[test]
    fn children_come_as_arrays_or_json_strings() {
        let m = form(json!({
            "a": [{"name": "Mia", "age": 3, "gender": "", "notes": ""}, {"name": ""}],
            "b": "[{\"name\":\"Ben\",\"gender\":\"male\"}]"
        }));
        let f = Form(&m);
        let Patch::Set(a) = f.children("a") else { panic!("children") };
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].age.as_deref(), a[0].gender, a[0].notes.as_deref()), (Some("3"), None, None));
        let Patch::Set(b) = f.children("b") else { panic!("children") };
        assert_eq!(b[0].gender, Some(Gender::Male));
    }

    #[test]
    fn file_fields_keep_remove_or_replace() {
        let m = form(
            json!({"a": null, "b": "null", "c": "", "d": "/uploads/x.png", "e": "data:image/png;base64,AAAA", "eName": "x.png"}),
        );
        let f = Form(&m);
        assert_eq!(f.file("a", "aName"), FileChange::Remove);
        assert_eq!(f.file("b", "bName"), FileChange::Remove);
        assert_eq!(f.file("c", "cName"), FileChange::Keep);
        assert_eq!(f.file("d", "dName"), FileChange::Keep);
        assert_eq!(f.file("z", "zName"), FileChange::Keep);
        assert_eq!(
            f.file("e", "eName"),
            FileChange::Replace(UploadData {
                data: "data:image/png;base64,AAAA".into(),
                file_name: Some("x.png".into())
            })
        );
    }

    #[test]
    fn gallery_items_are_existing_or_new() {
        let m = form(
            json!({"g": ["/uploads/a.png", {"key": "b.png", "url": "/api/files/b.png"}, {"dataUrl": "data:image/png;base64,AAAA", "fileName": "c.png"}, 5]}),
        );
        let items = Form(&m).gallery("g").unwrap();
        assert_eq!(items.len(), 3);
        assert!(matches!(&items[2], GalleryItem::New(u) if u.file_name.as_deref() == Some("c.png")));
    }
}
