//! The one HTTP error type: a status, a German message for the user and a stable code.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use application::{FileError, LoginError, ProfileError, QueryError, RegisterError};
use domain::UploadError;
use serde_json::json;

/// An error answered as `{"message": "...", "code": "..."}` (+ `details`).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

/// German messages the apps show to users.
pub mod msg {
    pub const UNAUTHORIZED: &str = "Unauthorized";
    pub const FORBIDDEN: &str = "Du hast keine Berechtigung für diese Aktion.";
    pub const NOT_FOUND: &str = "Die angeforderte Ressource wurde nicht gefunden.";
    pub const INVALID_JSON: &str = "Die Anfrage enthält kein gültiges JSON.";
    pub const BAD_REQUEST: &str = "Die Anfrage ist ungültig.";
    pub const PREFLIGHT_REFUSED: &str =
        "Diese Methode oder diese Kopfzeilen sind für Anfragen aus dem Browser nicht erlaubt.";
    pub const TOO_LARGE: &str = "Die Anfrage ist zu groß.";
    pub const UNAVAILABLE: &str =
        "Der Dienst ist vorübergehend nicht erreichbar. Bitte versuche es gleich noch einmal.";
    pub const INTERNAL: &str = "Ein unerwarteter Fehler ist aufgetreten. Bitte versuche es später erneut.";
    pub const LOGIN_MISSING: &str = "Benutzername oder Passwort fehlen.";
    pub const LOGIN_INVALID: &str = "Ungültige Zugangsdaten.";
    pub const ME_NOT_FOUND: &str = "Nutzer konnte nicht gefunden werden.";
    pub const USER_NOT_FOUND: &str = "Nutzer wurde nicht gefunden.";
    pub const PARENT_NOT_FOUND: &str = "Elternprofil wurde nicht gefunden.";
    pub const PARENT_DUPLICATE: &str = "Für diese Zugangsdaten existiert bereits ein Elternprofil.";
    pub const PARENT_LIST_CLOSED: &str = "Die Liste aller Elternprofile ist nicht verfügbar.";
    pub const CAREGIVER_NOT_FOUND: &str = "Tagespflegeperson wurde nicht gefunden.";
    pub const CAREGIVER_DUPLICATE: &str = "Für diese Zugangsdaten existiert bereits eine Tagespflegeperson.";
    pub const POSTAL_CODE_UNKNOWN: &str = "Für diese Postleitzahl wurde keine Stadt gefunden.";
    pub const FILE_NOT_FOUND: &str = "Datei wurde nicht gefunden.";
    pub const FILE_BAD_PATH: &str = "Ungültiger Dateipfad.";
    pub const FILE_FORBIDDEN: &str = "Du hast keine Berechtigung für diese Datei.";
    pub const RANGE: &str = "Der angeforderte Bereich liegt außerhalb der Datei.";
    pub const INVOICE_MISSING: &str = "Die Quittung ist derzeit nicht verfügbar.";
    pub const UPLOAD_TYPE: &str = "Dateiformat wird nicht unterstützt.";
    pub const UPLOAD_SIZE: &str = "Die Datei überschreitet die maximale Größe.";
    pub const UPLOAD_BASE64: &str = "Die Datei konnte nicht gelesen werden (ungültige Base64-Daten).";
    pub const ORIGIN: &str = "Anfragen von dieser Herkunft sind nicht erlaubt.";
    pub const INVALID_EMAIL: &str = "Bitte gib eine gültige E-Mail-Adresse ein.";
    pub const WEAK_PASSWORD: &str = "Das Passwort muss mindestens 8 Zeichen und darf höchstens 72 Byte lang sein; Steuerzeichen sind nicht erlaubt.";
    pub const INVALID_USERNAME: &str = "Der Benutzername darf höchstens 100 Zeichen lang sein und ein @ nur enthalten, wenn er deine E-Mail-Adresse ist.";
}

impl ApiError {
    /// An error with status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: None }
    }

    /// Adds machine-readable details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", msg::UNAUTHORIZED)
    }

    pub fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 503: a dependency is down. The cause is logged, never sent.
    pub fn unavailable(cause: &anyhow::Error) -> Self {
        tracing::warn!(error = %format!("{cause:#}"), "dependency unavailable");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", msg::UNAVAILABLE)
    }

    /// 500: the cause is logged with its chain, the client gets a generic message.
    pub fn internal(cause: &anyhow::Error) -> Self {
        tracing::error!(error = %format!("{cause:#}"), "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", msg::INTERNAL)
    }

    /// 400 for a broken upload rule.
    pub fn upload(e: &UploadError) -> Self {
        match e {
            UploadError::UnsupportedType => Self::bad_request("unsupported_file_type", msg::UPLOAD_TYPE),
            UploadError::TooLarge => Self::bad_request("file_too_large", msg::UPLOAD_SIZE),
            UploadError::InvalidBase64 => Self::bad_request("invalid_base64", msg::UPLOAD_BASE64),
        }
    }

    /// 400 for a missing required field list.
    pub fn missing_fields(fields: &[&'static str]) -> Self {
        Self::bad_request("missing_fields", format!("Bitte fülle alle Pflichtfelder aus: {}.", fields.join(", ")))
            .with_details(json!({ "fields": fields }))
    }

    /// 400 for an attempt to blank a required field.
    pub fn blank_field(field: &'static str) -> Self {
        Self::bad_request("required_field_empty", format!("Das Feld „{field}“ darf nicht leer sein."))
            .with_details(json!({ "field": field }))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({ "message": self.message, "code": self.code });
        if let (Some(d), Some(obj)) = (&self.details, body.as_object_mut()) {
            obj.insert("details".into(), d.clone());
        }
        let mut res =
            HttpResponse::build(self.status).content_type("application/json; charset=utf-8").body(body.to_string());
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

/// Messages that differ per resource for the shared profile errors.
#[derive(Debug, Clone, Copy)]
pub struct ResourceMessages {
    pub not_found: &'static str,
    pub duplicate: &'static str,
}

pub const PARENT: ResourceMessages =
    ResourceMessages { not_found: msg::PARENT_NOT_FOUND, duplicate: msg::PARENT_DUPLICATE };
pub const CAREGIVER: ResourceMessages =
    ResourceMessages { not_found: msg::CAREGIVER_NOT_FOUND, duplicate: msg::CAREGIVER_DUPLICATE };
pub const USER: ResourceMessages =
    ResourceMessages { not_found: msg::USER_NOT_FOUND, duplicate: msg::PARENT_DUPLICATE };

impl ApiError {
    /// Maps a profile error with the resource's messages.
    pub fn profile(e: ProfileError, m: ResourceMessages) -> Self {
        match e {
            ProfileError::Unauthorized => Self::unauthorized(),
            ProfileError::Forbidden => Self::forbidden(msg::FORBIDDEN),
            ProfileError::NotFound => Self::not_found(m.not_found),
            ProfileError::BlankRequired(f) => Self::blank_field(f),
            ProfileError::InvalidField("email") => Self::bad_request("invalid_email", msg::INVALID_EMAIL),
            ProfileError::InvalidField("username") => Self::bad_request("invalid_username", msg::INVALID_USERNAME)
                .with_details(json!({ "field": "username" })),
            ProfileError::InvalidField(f) => {
                Self::bad_request("invalid_field", format!("Das Feld „{f}“ ist ungültig."))
                    .with_details(json!({ "field": f }))
            }
            ProfileError::WeakPassword => Self::bad_request("weak_password", msg::WEAK_PASSWORD),
            ProfileError::Duplicate => Self::new(StatusCode::CONFLICT, "duplicate", m.duplicate),
            ProfileError::Conflict => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "Das Profil wurde gerade an anderer Stelle geändert. Bitte lade die Seite neu und versuche es erneut.",
            ),
            ProfileError::Upload(u) => Self::upload(&u),
            ProfileError::Unavailable(e) => Self::unavailable(&e),
            ProfileError::Unknown(e) => Self::internal(&e),
        }
    }

    /// Maps a registration error with the resource's messages.
    pub fn register(e: RegisterError, m: ResourceMessages) -> Self {
        match e {
            RegisterError::MissingFields(f) => Self::missing_fields(&f),
            RegisterError::Duplicate => Self::new(StatusCode::CONFLICT, "duplicate", m.duplicate),
            RegisterError::InvalidEmail => Self::bad_request("invalid_email", msg::INVALID_EMAIL),
            RegisterError::WeakPassword => Self::bad_request("weak_password", msg::WEAK_PASSWORD),
            RegisterError::InvalidUsername => Self::bad_request("invalid_username", msg::INVALID_USERNAME)
                .with_details(json!({ "field": "username" })),
            RegisterError::Upload(u) => Self::upload(&u),
            RegisterError::Unavailable(e) => Self::unavailable(&e),
            RegisterError::Unknown(e) => Self::internal(&e),
        }
    }

    /// Maps a query error; `not_found` is the resource's message.
    pub fn query(e: QueryError, not_found: &str) -> Self {
        match e {
            QueryError::NotFound => Self::not_found(not_found),
            QueryError::Unavailable(e) => Self::unavailable(&e),
            QueryError::Unknown(e) => Self::internal(&e),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::MissingCredentials => Self::bad_request("missing_credentials", msg::LOGIN_MISSING),
            LoginError::InvalidCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_credentials", msg::LOGIN_INVALID)
            }
            LoginError::Unavailable(e) => Self::unavailable(&e),
            LoginError::Unknown(e) => Self::internal(&e),
        }
    }
}

impl From<FileError> for ApiError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::EmptyKey => Self::bad_request("invalid_file_path", msg::FILE_BAD_PATH),
            FileError::NotFound => Self::not_found(msg::FILE_NOT_FOUND),
            FileError::Forbidden => Self::forbidden(msg::FILE_FORBIDDEN),
            FileError::RangeNotSatisfiable { .. } => {
                Self::new(StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable", msg::RANGE)
            }
            FileError::Unavailable(e) => Self::unavailable(&e),
            FileError::Unknown(e) => Self::internal(&e),
        }
    }
}
