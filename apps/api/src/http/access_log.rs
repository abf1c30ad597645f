//! One log line per request (method, route, path, status, latency, request id) inside a span
//! that every log line of the request carries. The query string is never logged: it may hold
//! signatures of private file links.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage as _};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// The root span builder used by `TracingLogger`.
#[derive(Debug)]
pub struct AccessLog;

/// When the request started (kept in the request's extensions).
#[derive(Clone, Copy)]
struct Started(Instant);

/// Probes are polled every minute; their lines would drown everything else at `info`.
fn is_probe(path: &str) -> bool {
    matches!(path, "/health" | "/readiness")
}

impl RootSpanBuilder for AccessLog {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request.extensions_mut().insert(Started(Instant::now()));
        let request_id = request.extensions().get::<RequestId>().map(|id| id.to_string()).unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "default".to_owned());
        tracing::info_span!(
            "http_request",
            http.method = %request.method(),
            http.route = %route,
            http.path = %request.path(),
            http.status_code = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            request_id = %request_id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, path, started) = match outcome {
            Ok(res) => {
                (res.status(), res.request().path().to_owned(), res.request().extensions().get::<Started>().copied())
            }
            Err(e) => (e.as_response_error().status_code(), String::new(), None),
        };
        let latency_ms = started.map(|s| u64::try_from(s.0.elapsed().as_millis()).unwrap_or(u64::MAX));
        // Records status and error details on the span (the error's Display/Debug never hold
        // secrets: they are our own ApiError values).
        DefaultRootSpanBuilder::on_request_end(span.clone(), outcome);
        let _entered = span.enter();
        let code = status.as_u16();
        if status.is_server_error() {
            tracing::error!(status = code, latency_ms, "request failed");
        } else if is_probe(&path) {
            tracing::debug!(status = code, latency_ms, "request completed");
        } else {
            tracing::info!(status = code, latency_ms, "request completed");
        }
    }
}
