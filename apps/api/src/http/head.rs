//! `HEAD` wherever `GET` works (RFC 9110 9.3.2): the request is routed as a `GET` and the answer
//! keeps every header, including the `Content-Length` the body would have had, but not the body.

use std::convert::Infallible;

use actix_web::body::{BodySize, BodyStream, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use bytes::Bytes;

/// Answers `HEAD` with the headers of the `GET` answer and no body.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    if req.method() != Method::HEAD {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    // No layer outside holds a clone of the request yet, so its head can still be changed.
    req.head_mut().method = Method::GET;
    let res = next.call(req).await?;
    Ok(res
        .map_body(|head, body| {
            let size = body.size();
            // The body (a stream from storage, say) is dropped unread.
            drop(body);
            match size {
                BodySize::None => BoxBody::new(actix_web::body::None::new()),
                // A 304 carries no body in GET either: nothing to announce.
                BodySize::Sized(_) if head.status == actix_web::http::StatusCode::NOT_MODIFIED => {
                    BoxBody::new(actix_web::body::None::new())
                }
                BodySize::Sized(len) => {
                    // actix-http writes a Content-Length header only for bodies of unknown size;
                    // for a sized body it would announce the (empty) replacement's length.
                    head.headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
                    head.no_chunking(true);
                    BoxBody::new(no_body())
                }
                // Sent chunked in answer to a GET: so announced for the HEAD too.
                BodySize::Stream => BoxBody::new(no_body()),
            }
        })
        .map_into_right_body())
}

fn no_body() -> BodyStream<futures::stream::Empty<Result<Bytes, Infallible>>> {
    BodyStream::new(futures::stream::empty())
}
