//! Who is calling: extractors over the `Authorization: Bearer <jwt>` header.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use domain::{AuthClaims, Caller};

use super::error::ApiError;
use super::state::AppState;

/// The caller of a route that needs a token: 401 `{"message":"Unauthorized"}` without a valid one.
#[derive(Debug, Clone)]
pub struct AuthUser(pub AuthClaims);

impl AuthUser {
    /// As a [`Caller`].
    pub fn caller(&self) -> Caller {
        Caller::User(self.0.clone())
    }
}

/// The caller of a public route: anonymous without a (valid) token. A broken token on a public
/// route is treated as no token, so an expired session still sees public data.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Caller);

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

fn verify(req: &HttpRequest) -> Option<AuthClaims> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let token = bearer(req)?;
    match state.tokens.verify(token) {
        Ok(claims) => Some(claims),
        Err(e) => {
            tracing::debug!(reason = %e, "token refused");
            None
        }
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(verify(req).map(AuthUser).ok_or_else(ApiError::unauthorized))
    }
}

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(MaybeUser(verify(req).map_or(Caller::Anonymous, Caller::User))))
    }
}
