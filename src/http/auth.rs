//! `/v1/auth`: register and login (`crate::app::auth`), with validation
//! errors keyed by field.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::errors::ErrorsShape;
use super::{created, ok, Checks, Envelope, Failure};
use crate::app;
use crate::app::auth::{Attempt, Credentials, Registration, SignedIn};
use crate::domain::email::Email;
use crate::domain::inputs::{DeviceLabel, Password, UserName};
use crate::domain::text;
use crate::error::ApiError;
use crate::state::AppState;

/// The sign-in screens read validation errors as an object from field to
/// messages: every validation failure of this scope is rendered that way.
pub async fn errors_by_field(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let by_field = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .filter(|e| matches!(e, ApiError::Validation { .. }))
        .map(|e| e.response_in(ErrorsShape::ByField));
    Ok(match by_field {
        Some(response) => res.into_response(response).map_into_right_body(),
        None => res.map_into_left_body(),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBody {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 50)]
    name: Option<String>,
    /// Trimmed and lower-cased.
    #[schema(required = true, nullable = false, format = Email)]
    email: Option<String>,
    /// At least 6 characters, at most 72 bytes.
    #[schema(required = true, nullable = false, min_length = 6)]
    password: Option<String>,
    phone_number: Option<String>,
    /// A label for the session ("Pixel 8"); `User-Agent` otherwise.
    #[schema(min_length = 1, max_length = 100)]
    device: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    #[schema(required = true, nullable = false)]
    email: Option<String>,
    #[schema(required = true, nullable = false)]
    password: Option<String>,
    /// A label for the session ("Pixel 8"); `User-Agent` otherwise.
    #[schema(min_length = 1, max_length = 100)]
    device: Option<String>,
}

/// Create an account and sign in. Every pending friend record others made
/// with this email becomes a friendship. Validation errors are keyed by
/// field (`{"email": ["..."]}`).
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth",
    responses(
        (status = 201, description = "The user and the first session's tokens", body = Envelope<SignedIn>),
        (status = 400, description = "Invalid input (`errors` keyed by field), or \
            \"User already exists with this email\"", body = Failure),
    ))]
#[tracing::instrument(name = "register", skip_all)]
pub async fn register(
    req: HttpRequest,
    body: web::Json<RegisterBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut c = Checks::default();
    let name = c
        .required("name", body.name, "Name is required")
        .and_then(|n| c.check("name", UserName::try_from(n.as_str())));
    let email = c
        .required("email", body.email, "Email is required")
        .and_then(|e| c.check("email", Email::parse(&e)));
    let password = c
        .required("password", body.password, "Password is required")
        .and_then(|p| c.check("password", Password::try_from(p)));
    let phone = match body.phone_number.filter(|p| !p.trim().is_empty()) {
        Some(p) => c.check("phoneNumber", text::phone(&p)).map(Some),
        None => Some(None),
    };
    let device = device_label(&req, body.device, &mut c);
    let ((((name, email), password), phone_number), device) =
        c.finish(name.zip(email).zip(password).zip(phone).zip(device))?;
    let registration = Registration {
        name,
        email,
        password,
        phone_number,
        device,
    };
    let signed_in = app::auth::register(&state, registration).await?;
    Ok(created("User registered successfully", signed_in))
}

/// `POST /v1/auth/login`. The client's `/v1/auth` limit is checked here,
/// first, like the middleware would; a refusal by it then carries any lock
/// of this email too, so waiting its `Retry-After` is enough.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth",
    summary = "Sign in: a new session's tokens",
    description = "An unknown email and a wrong password get the same answer. Repeated failures \
        lock the email for a while (429 with `Retry-After`).",
    request_body = LoginBody,
    responses(
        (status = 200, description = "The user and the new session's tokens", body = Envelope<SignedIn>),
        (status = 401, description = "Invalid credentials, or a deactivated account \
            (`code: ACCOUNT_DEACTIVATED`)", body = Failure),
    ))]
#[tracing::instrument(name = "login", skip_all)]
pub async fn login(
    req: HttpRequest,
    body: Result<web::Json<LoginBody>, actix_web::Error>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (client, over_limit) = state.auth_limit.check(&req);
    let body = match (body, over_limit) {
        (Ok(body), _) => body.into_inner(),
        (Err(_), Some(wait)) => return Err(app::auth::rate_limited(wait)),
        // The body's own refusal (400, 413), as any handler's.
        (Err(e), None) => return Ok(HttpResponse::from_error(e)),
    };
    let mut c = Checks::default();
    let email = c.required("email", body.email, "Email is required");
    let password = c.required("password", body.password, "Password is required");
    let device = device_label(&req, body.device, &mut c);
    let ((email, password), device) = c.finish(email.zip(password).zip(device))?;
    let credentials = Credentials {
        email,
        password,
        device,
    };
    let attempt = Attempt { client, over_limit };
    let signed_in = app::auth::login(&state, credentials, attempt).await?;
    Ok(ok("Login successful", signed_in))
}

/// The session's label: the `device` field, else the `User-Agent`, bounded
/// and without control characters.
fn device_label(req: &HttpRequest, device: Option<String>, c: &mut Checks) -> Option<String> {
    if let Some(device) = device {
        return c
            .check("device", DeviceLabel::try_from(device.as_str()))
            .map(DeviceLabel::into_string);
    }
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let label: String = agent
        .chars()
        .filter(|ch| !ch.is_control())
        .take(200)
        .collect();
    let label = label.trim();
    Some(if label.is_empty() {
        "Unknown device".to_owned()
    } else {
        label.to_owned()
    })
}
