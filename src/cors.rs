//! Cross-origin access for browsers: the configured origins may call the API,
//! and a refused preflight answers in the contract's envelope like every
//! other error (actix-cors answers it in plain text).

use actix_cors::{Cors, CorsError};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpResponse;

/// The CORS policy for `origins` (`*` allows any).
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        // `If-Match` and `ETag`: a browser app edits only the version it
        // read; `Idempotency-Key` and `Idempotent-Replayed`: it retries safely.
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            header::ETAG,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

/// Middleware around [`cors`]: its refusals become the JSON envelope, with
/// the same status and headers.
pub async fn refusals_in_envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let res = next.call(req).await?;
    let refusal = res
        .response()
        .error()
        .and_then(|e| e.as_error::<CorsError>())
        .map(refusal_message);
    let Some(message) = refusal else {
        return Ok(res.map_into_left_body());
    };
    let status = res.status();
    let (req, old) = res.into_parts();
    let mut new = HttpResponse::build(status).json(crate::error::envelope(message));
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, new).map_into_right_body())
}

/// A sentence the app can show, for each refusal.
fn refusal_message(e: &CorsError) -> &'static str {
    match e {
        CorsError::OriginNotAllowed | CorsError::MissingOrigin => {
            "This origin is not allowed to call the API"
        }
        CorsError::MethodNotAllowed
        | CorsError::MissingRequestMethod
        | CorsError::BadRequestMethod => "This method is not allowed from another origin",
        CorsError::HeadersNotAllowed | CorsError::BadRequestHeaders => {
            "These request headers are not allowed from another origin"
        }
        _ => "Cross-origin request refused",
    }
}
