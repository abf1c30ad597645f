//! The HTTP edge: routes, extractors, error mapping, CORS and the JSON error handlers.

pub mod access_log;
pub mod auth;
pub mod conditional;
pub mod error;
pub mod head;
pub mod lenient;
pub mod routes;
pub mod state;
pub mod views;

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};

use error::{ApiError, msg};

/// Which browser origins may call the API.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    pub allowed: Vec<String>,
    pub allow_localhost: bool,
}

impl OriginPolicy {
    /// `true` for a configured origin, or in development any `http://localhost:<port>` /
    /// `http://127.0.0.1:<port>`.
    pub fn allows(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        if self.allowed.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
            return true;
        }
        if self.allow_localhost {
            for host in ["http://localhost", "http://127.0.0.1"] {
                if let Some(rest) = origin.strip_prefix(host)
                    && (rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port))
                {
                    return true;
                }
            }
        }
        false
    }
}

/// A port as browsers serialize it in an origin: 1–65535 in plain decimal digits (no sign, no
/// leading zero).
fn is_port(p: &str) -> bool {
    !p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|n| n > 0)
}

/// The legacy redirect of the bare host to the canonical site.
#[derive(Debug, Clone)]
pub struct HostRedirect {
    pub from_host: String,
    pub to_base: String,
}

/// Refuses requests from disallowed browser origins with 403 JSON (requests without `Origin`,
/// e.g. from the native app, pass), and redirects the bare legacy host.
pub async fn edge_guard(
    req: ServiceRequest,
    next: Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody, impl actix_web::body::MessageBody>>, actix_web::Error> {
    if let Some(redirect) = req.app_data::<web::Data<Option<HostRedirect>>>().and_then(|r| r.get_ref().clone()) {
        let host = req.connection_info().host().split(':').next().unwrap_or("").to_ascii_lowercase();
        if host == redirect.from_host {
            let pq = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
            let res = HttpResponse::MovedPermanently()
                .insert_header((header::LOCATION, format!("{}{}", redirect.to_base.trim_end_matches('/'), pq)))
                .finish();
            return Ok(req.into_response(res).map_into_left_body());
        }
    }
    // Health checks answer whoever asks (monitors behind browser-like proxies send an Origin).
    let health = matches!(req.path(), "/health" | "/readiness" | "/api/health");
    if let Some(origin) = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && !health
    {
        let allowed = req.app_data::<web::Data<OriginPolicy>>().is_some_and(|p| p.allows(origin));
        if !allowed {
            tracing::info!(origin, "request from a disallowed origin refused");
            let mut res = ApiError::forbidden(msg::ORIGIN).error_response();
            // The answer depends on the Origin: caches must not hand it to other origins.
            res.headers_mut().insert(header::VARY, header::HeaderValue::from_static("Origin"));
            return Ok(req.into_response(res).map_into_left_body());
        }
    }
    Ok(next.call(req).await?.map_into_right_body())
}

/// Sets `charset=utf-8` on JSON responses. Safety net: any error response that is not JSON yet (extractor errors such as an oversized
/// body, a malformed path, a wrong method) is answered as JSON with a German message, keeping the
/// CORS headers the inner layers set.
pub async fn json_errors(
    req: ServiceRequest,
    next: Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody, impl actix_web::body::MessageBody>>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let status = res.status();
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let is_json = content_type.starts_with("application/json");
    if content_type == "application/json" {
        // The contract promises an explicit charset.
        res.headers_mut()
            .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json; charset=utf-8"));
    }
    if status.as_u16() < 400 || is_json {
        return Ok(res.map_into_right_body());
    }
    let preflight = res.request().method() == actix_web::http::Method::OPTIONS;
    let (code, message) = match status.as_u16() {
        // actix-cors refuses a preflight for a method or header the API does not allow with 400.
        400 if preflight => ("preflight_refused", msg::PREFLIGHT_REFUSED),
        400 => ("bad_request", msg::BAD_REQUEST),
        401 => ("unauthorized", msg::UNAUTHORIZED),
        403 => ("forbidden", msg::FORBIDDEN),
        404 | 405 => ("not_found", msg::NOT_FOUND),
        413 => ("payload_too_large", msg::TOO_LARGE),
        503 => ("unavailable", msg::UNAVAILABLE),
        _ => ("internal", msg::INTERNAL),
    };
    let status = if status.as_u16() == 405 { actix_web::http::StatusCode::NOT_FOUND } else { status };
    let (req, original) = res.into_parts();
    let mut json = ApiError::new(status, code, message).error_response();
    // Keep what the inner layers added (CORS headers above all: without them a browser cannot
    // read the error), except what described the replaced body and `Allow` of a 405 turned 404.
    for (name, value) in original.headers() {
        if !name.as_str().starts_with("content-") && name != header::ALLOW {
            json.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, json).map_into_left_body())
}

/// Unknown routes: 404 JSON.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(msg::NOT_FOUND))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local_dev() -> OriginPolicy {
        OriginPolicy { allowed: vec!["https://www.wimmel-welt.de".into()], allow_localhost: true }
    }

    #[test]
    fn localhost_origins_with_a_valid_port_are_allowed_in_development() {
        let p = local_dev();
        for o in ["http://localhost", "http://localhost:1", "http://localhost:5173", "http://127.0.0.1:65535"] {
            assert!(p.allows(o), "{o}");
        }
    }

    #[test]
    fn localhost_origins_with_an_impossible_port_are_refused() {
        let p = local_dev();
        for o in [
            "http://localhost:99999",
            "http://localhost:65536",
            "http://localhost:0",
            "http://localhost:080",
            "http://localhost:+80",
            "http://localhost:",
            "http://localhost:80a",
            "http://localhost.evil.example",
            "https://localhost:3000",
        ] {
            assert!(!p.allows(o), "{o}");
        }
    }

    #[test]
    fn configured_origins_are_allowed_and_localhost_only_when_enabled() {
        let p = OriginPolicy { allow_localhost: false, ..local_dev() };
        assert!(p.allows("https://www.wimmel-welt.de"));
        assert!(p.allows("https://WWW.wimmel-welt.de/"));
        assert!(!p.allows("http://localhost:3000"));
    }
}
