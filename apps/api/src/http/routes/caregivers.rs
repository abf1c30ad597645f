//! `/api/caregivers`.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use application::{CaregiverFileChanges, FileChange, SearchQuery, Visibility};
use domain::{CaregiverChanges, CaregiverDetailsInput, CaregiverRegistration, Patch};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::auth::{AuthUser, MaybeUser};
use crate::http::error::{ApiError, CAREGIVER, msg};
use crate::http::lenient::{Form, check_scalar_fields};
use crate::http::routes::object;
use crate::http::state::AppState;
use crate::http::views::{Renderer, opaque};

/// Fields every caregiver profile holds: text or numbers only.
const REQUIRED_SCALARS: &[&str] = &["email", "phone", "address", "postalCode", "username"];

/// Reads a registration form.
pub fn registration(f: &Form<'_>) -> CaregiverRegistration {
    CaregiverRegistration {
        email: f.opt_text("email"),
        phone: f.opt_text("phone"),
        address: f.opt_text("address"),
        postal_code: f.opt_text("postalCode"),
        password: f.password("password"),
        username: f.opt_text("username"),
        details: CaregiverDetailsInput {
            first_name: f.opt_text("firstName"),
            last_name: f.opt_text("lastName"),
            name: f.opt_text("name"),
            city: f.opt_text("city"),
            daycare_name: f.opt_text("daycareName"),
            available_spots: f.int("availableSpots").into_set(),
            children_count: f.int("childrenCount").into_set(),
            birth_date: f.past_date("birthDate").into_set(),
            caregiver_since: f.past_date("caregiverSince").into_set(),
            max_child_age: f.int("maxChildAge").into_set(),
            has_availability: f.boolean("hasAvailability").into_set(),
            availability_timing: f.opt_text("availabilityTiming"),
            bio: f.opt_text("bio"),
            short_description: f.opt_text("shortDescription"),
            location: f.opaque("location").into_set(),
            care_times: f.time_slots("careTimes").into_set(),
            daily_schedule: f.time_slots("dailySchedule").into_set(),
            meal_plan: f.opt_text("mealPlan"),
            closed_days: f.strings("closedDays").into_set(),
            email_notifications_enabled: f.boolean("emailNotificationsEnabled").into_set(),
        },
    }
}

/// Reads a PATCH body.
pub fn changes(f: &Form<'_>) -> CaregiverChanges {
    CaregiverChanges {
        email: f.text("email"),
        phone: f.text("phone"),
        address: f.text("address"),
        postal_code: f.text("postalCode"),
        username: f.text("username"),
        first_name: f.text("firstName"),
        last_name: f.text("lastName"),
        name: f.text("name"),
        city: f.text("city"),
        daycare_name: f.text("daycareName"),
        available_spots: f.int("availableSpots"),
        children_count: f.int("childrenCount"),
        birth_date: f.past_date("birthDate"),
        caregiver_since: f.past_date("caregiverSince"),
        max_child_age: f.int("maxChildAge"),
        has_availability: f.boolean("hasAvailability"),
        availability_timing: f.text("availabilityTiming"),
        bio: f.text("bio"),
        short_description: f.text("shortDescription"),
        location: f.opaque("location"),
        care_times: f.time_slots("careTimes"),
        daily_schedule: f.time_slots("dailySchedule"),
        meal_plan: f.text("mealPlan"),
        closed_days: f.strings("closedDays"),
        email_notifications_enabled: match f.boolean("emailNotificationsEnabled") {
            Patch::Clear => Patch::Keep,
            other => other,
        },
    }
}

/// Reads the file fields.
pub fn file_changes(f: &Form<'_>) -> CaregiverFileChanges {
    CaregiverFileChanges {
        profile_image: f.file("profileImage", "profileImageName"),
        logo_image: f.file("logoImage", "logoImageName"),
        concept: f.file("conceptFile", "conceptFileName"),
        room_images: f.gallery("roomImages"),
        caregiver_images: f.gallery("caregiverImages"),
        contract_documents: f.contracts("contractDocuments"),
    }
}

/// Registration.
#[post("/caregivers")]
async fn register(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let m = object(&body)?;
    check_scalar_fields(&m, REQUIRED_SCALARS)?;
    let f = Form(&m);
    let mut files = file_changes(&f);
    // On registration "remove" means "none".
    for single in [&mut files.profile_image, &mut files.logo_image, &mut files.concept] {
        if *single == FileChange::Remove {
            *single = FileChange::Keep;
        }
    }
    let c = state.caregivers.register(registration(&f), files).await.map_err(|e| ApiError::register(e, CAREGIVER))?;
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    Ok(HttpResponse::Created().json(r.caregiver(&c, Visibility::Owner)))
}

/// Query string of the search; unreadable numbers are ignored.
#[derive(Debug, Default)]
struct SearchParams {
    postal_code: Option<String>,
    city: Option<String>,
    city_slug: Option<String>,
    search: Option<String>,
    page: Option<String>,
    limit: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Reads the query; a parameter given twice counts once (the first), and an unreadable query
/// string counts as no filters only where no parameter could be read at all.
fn query_params(req: &actix_web::HttpRequest) -> SearchParams {
    let pairs =
        web::Query::<Vec<(String, String)>>::from_query(req.query_string()).map(|q| q.into_inner()).unwrap_or_default();
    let first = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    SearchParams {
        postal_code: first("postalCode"),
        city: first("city"),
        city_slug: first("citySlug"),
        search: first("search"),
        page: first("page"),
        limit: first("limit"),
    }
}

/// Public search.
#[get("/caregivers")]
async fn search(
    state: web::Data<AppState>,
    caller: MaybeUser,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = query_params(&req);
    let q = SearchQuery {
        postal_code: non_empty(p.postal_code),
        city: non_empty(p.city),
        city_slug: non_empty(p.city_slug).map(|s| s.to_lowercase()),
        search: non_empty(p.search),
        page: p.page.and_then(|s| s.trim().parse().ok()),
        limit: p.limit.and_then(|s| s.trim().parse().ok()),
    };
    let (list, visibility) =
        state.caregivers.search(&caller.0, q).await.map_err(|e| ApiError::query(e, msg::CAREGIVER_NOT_FOUND))?;
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    // A caregiver finding their own profile in a search sees it as its owner.
    let view = |c: &domain::Caregiver| if caller.0.is(&c.id) { Visibility::Owner } else { visibility };
    Ok(HttpResponse::Ok().json(Value::Array(list.iter().map(|c| r.caregiver(c, view(c))).collect())))
}

#[derive(Debug, Deserialize, Default)]
struct LocationParams {
    q: Option<String>,
}

/// Location suggestions.
#[get("/caregivers/locations")]
async fn locations(state: web::Data<AppState>, req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = web::Query::<LocationParams>::from_query(req.query_string()).map(|q| q.into_inner()).unwrap_or_default();
    let list =
        state.caregivers.locations(non_empty(q.q)).await.map_err(|e| ApiError::query(e, msg::CAREGIVER_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(
        list.iter()
            .map(|l| {
                json!({
                    "postalCode": l.postal_code,
                    "city": l.city,
                    "daycareName": l.daycare_name,
                    "location": l.location.as_ref().map_or(Value::Null, opaque),
                })
            })
            .collect::<Vec<_>>(),
    ))
}

/// The city for a postal code.
#[get("/caregivers/postal-code/{postal_code}/city")]
async fn city(state: web::Data<AppState>, postal_code: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let c = state
        .caregivers
        .city_for_postal_code(&postal_code)
        .await
        .map_err(|e| ApiError::query(e, msg::POSTAL_CODE_UNKNOWN))?;
    Ok(HttpResponse::Ok().json(json!({"city": c.city, "citySlug": c.city_slug, "postalCode": c.postal_code})))
}

/// A profile by current or legacy path.
#[get("/caregivers/profile/{city_slug}/{daycare_slug}")]
async fn by_path(
    state: web::Data<AppState>,
    caller: MaybeUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (city_slug, daycare_slug) = path.into_inner();
    let found = state
        .caregivers
        .by_profile_path(&caller.0, &city_slug, &daycare_slug)
        .await
        .map_err(|e| ApiError::query(e, msg::CAREGIVER_NOT_FOUND))?;
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    let mut body = r.caregiver(&found.caregiver, found.visibility);
    if let Some(o) = body.as_object_mut() {
        o.insert("canonicalProfilePath".into(), json!(found.caregiver.profile_path));
        o.insert("requestedProfilePath".into(), json!(found.requested_path));
        o.insert("isLegacyPath".into(), json!(found.is_legacy_path));
    }
    Ok(HttpResponse::Ok().json(body))
}

/// One profile.
#[get("/caregivers/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    caller: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (c, visibility) =
        state.caregivers.get(&caller.0, &id).await.map_err(|e| ApiError::query(e, msg::CAREGIVER_NOT_FOUND))?;
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    Ok(HttpResponse::Ok().json(r.caregiver(&c, visibility)))
}

/// Partial update by the owner.
#[patch("/caregivers/{id}")]
async fn update(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let m = object(&body)?;
    check_scalar_fields(&m, REQUIRED_SCALARS)?;
    let f = Form(&m);
    let c = state
        .caregivers
        .update(&caller.caller(), &id, changes(&f), file_changes(&f), f.password("password"))
        .await
        .map_err(|e| ApiError::profile(e, CAREGIVER))?;
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    Ok(HttpResponse::Ok().json(r.caregiver(&c, Visibility::Owner)))
}

/// Deletion by the owner.
#[delete("/caregivers/{id}")]
async fn remove(state: web::Data<AppState>, caller: AuthUser, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    state.caregivers.delete(&caller.caller(), &id).await.map_err(|e| ApiError::profile(e, CAREGIVER))?;
    Ok(HttpResponse::NoContent().finish())
}

/// `/caregivers*` inside `/api`. Fixed paths are registered before `/{id}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(register)
        .service(search)
        .service(locations)
        .service(city)
        .service(by_path)
        .service(get_one)
        .service(update)
        .service(remove);
}
