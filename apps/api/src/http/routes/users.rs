//! `/api/users/:id`: any account by id (chat screens show name and photo).

use actix_web::{HttpResponse, get, web};

use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, USER};
use crate::http::state::AppState;
use crate::http::views::Renderer;
use application::Visibility;

/// The account with its role; others than the owner see the public part only.
#[get("/users/{id}")]
async fn user(state: web::Data<AppState>, caller: AuthUser, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (account, visibility) =
        state.accounts.user(&caller.caller(), &id).await.map_err(|e| ApiError::profile(e, USER))?;
    // For other users only the public part, even of a caregiver's contact data.
    let visibility = if visibility == Visibility::Owner { Visibility::Owner } else { Visibility::Public };
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    Ok(HttpResponse::Ok().json(r.account(&account, visibility)))
}

/// `/users/*` inside `/api`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(user);
}
