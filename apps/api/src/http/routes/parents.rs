//! `/api/parents`.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use domain::{ParentChanges, ParentRegistration, Patch};

use crate::http::auth::{AuthUser, MaybeUser};
use crate::http::error::{ApiError, PARENT, msg};
use crate::http::lenient::{Form, check_scalar_fields};
use crate::http::routes::object;
use crate::http::state::AppState;
use crate::http::views::Renderer;
use application::{FileChange, Visibility};

/// Fields every parent profile holds: text or numbers only.
const REQUIRED_SCALARS: &[&str] = &["email", "phone", "postalCode", "username"];

/// Reads a registration form.
pub fn registration(f: &Form<'_>) -> ParentRegistration {
    ParentRegistration {
        email: f.opt_text("email"),
        phone: f.opt_text("phone"),
        postal_code: f.opt_text("postalCode"),
        password: f.password("password"),
        username: f.opt_text("username"),
        first_name: f.opt_text("firstName"),
        last_name: f.opt_text("lastName"),
        name: f.opt_text("name"),
        address: f.opt_text("address"),
        children_ages: f.text_or_list("childrenAges").into_set(),
        notes: f.opt_text("notes"),
        number_of_children: f.int("numberOfChildren").into_set(),
        children: f.children("children").into_set(),
        email_notifications_enabled: f.boolean("emailNotificationsEnabled").into_set(),
    }
}

/// Reads a PATCH body.
pub fn changes(f: &Form<'_>) -> ParentChanges {
    ParentChanges {
        email: f.text("email"),
        phone: f.text("phone"),
        postal_code: f.text("postalCode"),
        username: f.text("username"),
        first_name: f.text("firstName"),
        last_name: f.text("lastName"),
        name: f.text("name"),
        address: f.text("address"),
        children_ages: f.text_or_list("childrenAges"),
        notes: f.text("notes"),
        number_of_children: f.int("numberOfChildren"),
        children: f.children("children"),
        email_notifications_enabled: match f.boolean("emailNotificationsEnabled") {
            Patch::Clear => Patch::Keep,
            other => other,
        },
    }
}

/// Registration.
#[post("/parents")]
async fn register(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let m = object(&body)?;
    check_scalar_fields(&m, REQUIRED_SCALARS)?;
    let f = Form(&m);
    let image = match f.file("profileImage", "profileImageName") {
        FileChange::Replace(u) => Some(u),
        _ => None,
    };
    let parent = state.parents.register(registration(&f), image).await.map_err(|e| ApiError::register(e, PARENT))?;
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    Ok(HttpResponse::Created().json(r.parent(&parent, Visibility::Owner)))
}

/// The legacy list of all parents with contact data is closed.
#[get("/parents")]
async fn list() -> Result<HttpResponse, ApiError> {
    Err(ApiError::forbidden(msg::PARENT_LIST_CLOSED))
}

/// One parent: full for the owner, public part for other users, 401 for anonymous callers.
#[get("/parents/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    caller: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (parent, visibility) = state.parents.get(&caller.0, &id).await.map_err(|e| ApiError::profile(e, PARENT))?;
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    Ok(HttpResponse::Ok().json(r.parent(&parent, visibility)))
}

/// Partial update by the owner.
#[patch("/parents/{id}")]
async fn update(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let m = object(&body)?;
    check_scalar_fields(&m, REQUIRED_SCALARS)?;
    let f = Form(&m);
    let parent = state
        .parents
        .update(&caller.caller(), &id, changes(&f), f.file("profileImage", "profileImageName"), f.password("password"))
        .await
        .map_err(|e| ApiError::profile(e, PARENT))?;
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    Ok(HttpResponse::Ok().json(r.parent(&parent, Visibility::Owner)))
}

/// Deletion by the owner.
#[delete("/parents/{id}")]
async fn remove(state: web::Data<AppState>, caller: AuthUser, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    state.parents.delete(&caller.caller(), &id).await.map_err(|e| ApiError::profile(e, PARENT))?;
    Ok(HttpResponse::NoContent().finish())
}

/// `/parents*` inside `/api`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(register).service(list).service(get_one).service(update).service(remove);
}
