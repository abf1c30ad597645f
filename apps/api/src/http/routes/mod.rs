//! Routes, one module per resource; each configures itself.

pub mod auth;
pub mod caregivers;
pub mod files;
pub mod health;
pub mod parents;
pub mod users;

use actix_web::web;
use serde_json::{Map, Value};

use super::error::ApiError;

/// The JSON object of a body (`{}` for an empty body); anything else is a 400.
pub fn object(body: &web::Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => {
            super::lenient::check_limits(&m)?;
            Ok(m)
        }
        Ok(_) => Err(ApiError::bad_request("invalid_body", "Der Anfragekörper muss ein JSON-Objekt sein.")),
        Err(_) => Err(ApiError::bad_request("invalid_json", super::error::msg::INVALID_JSON)),
    }
}

/// All `/api` routes and the legacy `/uploads` and health routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    files::configure(cfg);
    cfg.service(
        web::scope("/api")
            .configure(health::configure_api)
            .configure(auth::configure)
            .configure(parents::configure)
            .configure(caregivers::configure)
            .configure(users::configure)
            .configure(files::configure_api),
    );
}
