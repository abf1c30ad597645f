//! `/api/auth/login` and `/api/auth/me`.

use actix_web::{HttpResponse, get, post, web};
use serde_json::{Value, json};

use crate::http::auth::TokenUser;
use crate::http::error::{ApiError, USER, msg};
use crate::http::lenient::Form;
use crate::http::routes::object;
use crate::http::state::AppState;
use crate::http::views::Renderer;
use application::{ProfileError, Visibility};

fn with_role_and_token(mut profile: Value, role: &str, token: String) -> Value {
    if let Some(o) = profile.as_object_mut() {
        o.insert("role".into(), json!(role));
        o.insert("token".into(), json!(token));
    }
    profile
}

/// Logs in with `{identifier, password}` (email or username).
#[post("/auth/login")]
async fn login(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let m = object(&body)?;
    let f = Form(&m);
    let identifier = f.opt_text("identifier").or_else(|| f.opt_text("email")).or_else(|| f.opt_text("username"));
    let password = f.password("password");
    let (Some(identifier), Some(password)) = (identifier, password) else {
        return Err(ApiError::bad_request("missing_credentials", msg::LOGIN_MISSING));
    };
    let (account, token) = state.accounts.login(&identifier, &password).await?;
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    let profile = r.account(&account, Visibility::Owner);
    Ok(HttpResponse::Ok().json(with_role_and_token(profile, account.role().as_str(), token)))
}

/// The caller's own profile, role and a fresh token.
#[get("/auth/me")]
async fn me(state: web::Data<AppState>, user: TokenUser) -> Result<HttpResponse, ApiError> {
    let (account, token) = state.accounts.me(&domain::Caller::User(user.0)).await.map_err(|e| match e {
        ProfileError::NotFound => ApiError::not_found(msg::ME_NOT_FOUND),
        other => ApiError::profile(other, USER),
    })?;
    let r = Renderer { files: &state.files, now: chrono::Utc::now() };
    let profile = r.account(&account, Visibility::Owner);
    Ok(HttpResponse::Ok().json(with_role_and_token(profile, account.role().as_str(), token)))
}

/// `/auth/*` inside `/api`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login).service(me);
}
