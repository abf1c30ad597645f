//! Stored files: `/api/files/<key>`, legacy `/uploads/<key>`, and the membership receipt.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, get, web};
use application::files::{FileAccess, is_private};
use chrono::{DateTime, Utc};
use percent_encoding::percent_decode_str;
use ports::Blob;
use serde::Deserialize;

use crate::http::conditional;
use crate::http::error::{ApiError, msg};
use crate::http::state::AppState;

/// The receipt shipped with the service, used when no storage key is configured.
const SHIPPED_INVOICE: &[u8] = include_bytes!("../../../assets/Kleine-Welt-Mitgliedsbeitrag.pdf");
const INVOICE_NAME: &str = "Kleine-Welt-Mitgliedsbeitrag.pdf";

#[derive(Debug, Deserialize)]
struct AccessParams {
    expires: Option<i64>,
    signature: Option<String>,
}

fn http_date(d: &DateTime<Utc>) -> String {
    d.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn headers(b: &mut HttpResponseBuilder, blob_meta: &ports::BlobMeta, private: bool) {
    b.insert_header((header::ACCEPT_RANGES, "bytes"));
    if let Some(e) = &blob_meta.etag
        && let Ok(v) = HeaderValue::from_str(e)
    {
        b.insert_header((header::ETAG, v));
    }
    if let Some(lm) = &blob_meta.last_modified {
        b.insert_header((header::LAST_MODIFIED, http_date(lm)));
    }
    let cache = if private { "private, max-age=300" } else { "public, max-age=86400" };
    b.insert_header((header::CACHE_CONTROL, cache));
    b.insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
}

fn respond(req: &HttpRequest, blob: Blob, private: bool, disposition: Option<&str>) -> HttpResponse {
    let meta = blob.meta.clone();
    if conditional::not_modified(req, &meta) {
        let mut b = HttpResponse::NotModified();
        headers(&mut b, &meta, private);
        return b.finish();
    }
    let (status, len) = match blob.range {
        Some((first, last)) => (StatusCode::PARTIAL_CONTENT, last - first + 1),
        None => (StatusCode::OK, meta.size),
    };
    let mut b = HttpResponse::build(status);
    headers(&mut b, &meta, private);
    b.insert_header((header::CONTENT_TYPE, meta.content_type.clone()));
    if let Some((first, last)) = blob.range {
        b.insert_header((header::CONTENT_RANGE, format!("bytes {first}-{last}/{}", meta.size)));
    }
    if let Some(d) = disposition {
        b.insert_header((header::CONTENT_DISPOSITION, d.to_owned()));
    }
    b.no_chunking(len).streaming(blob.body)
}

async fn serve(req: HttpRequest, state: web::Data<AppState>, prefix: &str) -> Result<HttpResponse, ApiError> {
    // The raw path, decoded once: keys may arrive with `/` or `%2F`.
    let raw = req.uri().path().strip_prefix(prefix).unwrap_or("");
    let key = percent_decode_str(raw).decode_utf8().map_err(|_| ApiError::not_found(msg::FILE_NOT_FOUND))?.into_owned();
    let access = web::Query::<AccessParams>::from_query(req.query_string())
        .ok()
        .and_then(|q| Some(FileAccess { expires: q.expires?, signature: q.signature.clone()? }));
    let private = is_private(&key);
    let range = conditional::requested_range(&req);
    let open = |range| state.files.open(&key, range, access.as_ref(), Utc::now());
    let blob = match open(range).await {
        Err(application::FileError::RangeNotSatisfiable { size }) if !conditional::has_validators(&req) => {
            return Ok(range_not_satisfiable(size));
        }
        // Preconditions come before the range (RFC 9110 13.2.2): the whole file decides
        // between 304, 200 (If-Range not matching) and 416.
        Err(application::FileError::RangeNotSatisfiable { .. }) => {
            let whole = open(None).await?;
            if conditional::not_modified(&req, &whole.meta) || !conditional::range_applies(&req, &whole.meta) {
                return Ok(respond(&req, whole, private, None));
            }
            return Ok(range_not_satisfiable(whole.meta.size));
        }
        other => other?,
    };
    // Part of another version than the client has: send it all (rare, costs a second read).
    let blob = if blob.range.is_some()
        && !conditional::not_modified(&req, &blob.meta)
        && !conditional::range_applies(&req, &blob.meta)
    {
        open(None).await?
    } else {
        blob
    };
    Ok(respond(&req, blob, private, None))
}

fn range_not_satisfiable(size: u64) -> HttpResponse {
    HttpResponse::RangeNotSatisfiable()
        .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
        .json(serde_json::json!({"message": msg::RANGE, "code": "range_not_satisfiable"}))
}

/// `/api/files/<key>`.
async fn api_file(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    serve(req, state, "/api/files/").await
}

/// `/uploads/<key>` (legacy URLs of local-mode files).
async fn upload_file(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    serve(req, state, "/uploads/").await
}

/// The membership receipt as a download.
#[get("/documents/membership-invoice")]
async fn membership_invoice(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let disposition = format!("attachment; filename=\"{INVOICE_NAME}\"");
    match state.files.membership_invoice().await {
        Some(Ok(blob)) => Ok(respond(&req, blob, false, Some(&disposition))),
        Some(Err(application::FileError::NotFound)) => Err(ApiError::not_found(msg::INVOICE_MISSING)),
        Some(Err(e)) => Err(e.into()),
        None if SHIPPED_INVOICE.is_empty() => Err(ApiError::not_found(msg::INVOICE_MISSING)),
        None => Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "application/pdf"))
            .insert_header((header::CONTENT_DISPOSITION, disposition))
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(SHIPPED_INVOICE)),
    }
}

async fn empty_key() -> Result<HttpResponse, ApiError> {
    Err(ApiError::bad_request("invalid_file_path", msg::FILE_BAD_PATH))
}

/// `/uploads/*` at the root.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/uploads/", web::get().to(empty_key)).route("/uploads/{key:.+}", web::get().to(upload_file));
}

/// `/files/*` and `/documents/*` inside `/api`.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.route("/files", web::get().to(empty_key))
        .route("/files/", web::get().to(empty_key))
        .route("/files/{key:.+}", web::get().to(api_file))
        .service(membership_invoice);
}
