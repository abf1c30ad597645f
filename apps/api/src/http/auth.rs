//! Who is calling: extractors over the `Authorization: Bearer <jwt>` header. A token counts only
//! if its signature and expiry are valid AND its account still exists.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use application::ProfileError;
use domain::{AuthClaims, Caller};
use futures::future::LocalBoxFuture;

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

/// The state and the verified claims of the request's token, if any.
fn verify(req: &HttpRequest) -> (Option<web::Data<AppState>>, Option<AuthClaims>) {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else { return (None, None) };
    let claims = bearer(req).and_then(|token| match state.tokens.verify(token) {
        Ok(claims) => Some(claims),
        Err(e) => {
            tracing::debug!(reason = %e, "token refused");
            None
        }
    });
    (Some(state), claims)
}

/// Checks that the token's account still exists.
async fn still_exists(state: &AppState, claims: AuthClaims) -> Result<Option<AuthClaims>, ProfileError> {
    state.accounts.authenticate(claims).await
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, claims) = verify(req);
        Box::pin(async move {
            let (Some(state), Some(claims)) = (state, claims) else { return Err(ApiError::unauthorized()) };
            match still_exists(&state, claims).await {
                Ok(Some(claims)) => Ok(AuthUser(claims)),
                Ok(None) => Err(ApiError::unauthorized()),
                Err(e) => Err(ApiError::profile(e, super::error::USER)),
            }
        })
    }
}

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (state, claims) = verify(req);
        Box::pin(async move {
            let (Some(state), Some(claims)) = (state, claims) else { return Ok(MaybeUser(Caller::Anonymous)) };
            // If the database cannot tell, the route itself will answer 503; treat as anonymous.
            let caller = still_exists(&state, claims).await.ok().flatten().map_or(Caller::Anonymous, Caller::User);
            Ok(MaybeUser(caller))
        })
    }
}

/// A caller with a valid token whose account may be gone: only for `/api/auth/me`, which answers
/// 404 for a deleted account as the contract says.
#[derive(Debug, Clone)]
pub struct TokenUser(pub AuthClaims);

impl FromRequest for TokenUser {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(verify(req).1.map(TokenUser).ok_or_else(ApiError::unauthorized))
    }
}
