//! `/v1/auth`: register and login, with validation errors keyed by field.

use std::net::IpAddr;
use std::time::Duration;

use actix_governor::Governor;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpRequest, HttpResponse, Scope};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use super::sessions::{self, open_session};
use super::views::iso;
use super::{created, ok, Checks};
use crate::auth::password::{self, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::auth::sessions::SessionPolicy;
use crate::auth::{JwtKeys, UserStatusCache};
use crate::domain::{email::Email, text};
use crate::error::{ApiError, ErrorsShape};
use crate::ratelimit::{retry_after_secs, ClientLimit, Limiter};
use crate::state::AuthConfig;
use crate::store::logins::{Admission, LoginPolicy};
use crate::store::{Store, UserDoc, UserStatus};

/// `limit`: the per-client `/v1/auth` limit. Login checks it itself (see
/// [`login`]); every other route through the middleware, in the same bucket.
pub fn scope(
    limit: &Limiter,
) -> Scope<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/auth")
        .wrap(from_fn(errors_by_field))
        .route("/login", web::post().to(login))
        .service(
            web::scope("")
                .wrap(Governor::new(limit))
                .route("/register", web::post().to(register))
                .route("/refresh", web::post().to(sessions::refresh))
                .route("/logout", web::post().to(sessions::logout))
                .route("/logout-all", web::post().to(sessions::logout_all))
                .route("/sessions", web::get().to(sessions::sessions))
                .route("/sessions/{id}", web::delete().to(sessions::end_session)),
        )
}

/// The sign-in screens read validation errors as an object from field to
/// messages: every validation failure of this scope is rendered that way.
async fn errors_by_field(
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterBody {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    phone_number: Option<String>,
    /// A label for the session ("Pixel 8"); `User-Agent` otherwise.
    device: Option<String>,
}

#[derive(Deserialize)]
struct LoginBody {
    email: Option<String>,
    password: Option<String>,
    device: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthUserView {
    id: String,
    name: String,
    email: String,
    role: String,
    is_active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_login: Option<String>,
}

impl AuthUserView {
    fn of(user: &UserDoc) -> Self {
        Self {
            id: user.id.to_hex(),
            name: user.name.clone(),
            email: user.email.clone(),
            role: user.role.clone(),
            is_active: user.is_active,
            created_at: None,
            last_login: None,
        }
    }
}

/// Password rules shared with change-password.
pub fn new_password(raw: Option<String>, field: &str, checks: &mut Checks) -> Option<String> {
    let raw = checks.required(field, raw, "Password is required")?;
    let result = if raw.chars().count() < MIN_PASSWORD_CHARS {
        Err(format!(
            "Password must be at least {MIN_PASSWORD_CHARS} characters"
        ))
    } else if raw.len() > MAX_PASSWORD_BYTES {
        Err(format!(
            "Password cannot be longer than {MAX_PASSWORD_BYTES} bytes"
        ))
    } else {
        Ok(raw)
    };
    checks.check(field, result)
}

#[tracing::instrument(name = "register", skip_all)]
async fn register(
    req: HttpRequest,
    body: web::Json<RegisterBody>,
    store: web::Data<Store>,
    keys: web::Data<JwtKeys>,
    config: web::Data<AuthConfig>,
    policy: web::Data<SessionPolicy>,
    cache: web::Data<UserStatusCache>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut c = Checks::default();
    let name = c
        .required("name", body.name, "Name is required")
        .and_then(|n| c.check("name", text::bounded(&n, "Name", 1, 50)));
    let email = c
        .required("email", body.email, "Email is required")
        .and_then(|e| c.check("email", Email::parse(&e)));
    let password = new_password(body.password, "password", &mut c);
    let phone = match body.phone_number.filter(|p| !p.trim().is_empty()) {
        Some(p) => c.check("phoneNumber", text::phone(&p)).map(Some),
        None => Some(None),
    };
    let device = device_label(&req, body.device, &mut c);
    let ((((name, email), password), phone), device) =
        c.finish(name.zip(email).zip(password).zip(phone).zip(device))?;

    let hash = password::hash(password, config.bcrypt_cost).await?;
    let now = mongodb::bson::DateTime::now();
    let user = UserDoc {
        id: ObjectId::new(),
        name_key: Some(text::search_key(&name)),
        name,
        email: email.into_string(),
        password: hash,
        profile_image: None,
        phone_number: phone,
        role: "user".into(),
        is_active: true,
        last_login: None,
        friends: Vec::new(),
        pending_friends: Vec::new(),
        friends_out: Vec::new(),
        friends_in: Vec::new(),
        blocked: Vec::new(),
        default_currency: None,
        legacy_tokens: None,
        created_at: now,
        updated_at: now,
    };
    let befriended = store.register_user(&user).await?;
    tracing::info!(user_id = %user.id, befriended, "user registered");
    let pair = open_session(&store, &keys, &policy, &cache, user.id, device).await?;
    let mut view = AuthUserView::of(&user);
    view.created_at = Some(iso(user.created_at));
    let mut data = serde_json::json!({ "user": view });
    pair.write_into(&mut data);
    Ok(created("User registered successfully", data))
}

/// `POST /v1/auth/login`. The client's `/v1/auth` limit is checked here,
/// first, like the middleware would; a refusal by it then carries any lock
/// of this email too, so waiting its `Retry-After` is enough.
#[tracing::instrument(name = "login", skip_all)]
#[allow(clippy::too_many_arguments)]
async fn login(
    req: HttpRequest,
    body: Result<web::Json<LoginBody>, actix_web::Error>,
    limit: web::Data<ClientLimit>,
    store: web::Data<Store>,
    keys: web::Data<JwtKeys>,
    config: web::Data<AuthConfig>,
    cache: web::Data<UserStatusCache>,
    policy: web::Data<SessionPolicy>,
) -> Result<HttpResponse, ApiError> {
    let (client, over_limit) = limit.check(&req);
    let body = match (body, over_limit) {
        (Ok(body), _) => body.into_inner(),
        (Err(_), Some(wait)) => return Err(rate_limited(wait)),
        // The body's own refusal (400, 413), as any handler's.
        (Err(e), None) => return Ok(HttpResponse::from_error(e)),
    };
    let mut c = Checks::default();
    let email = c.required("email", body.email, "Email is required");
    let password = c.required("password", body.password, "Password is required");
    let device = device_label(&req, body.device, &mut c);
    let ((email, password), device) = c.finish(email.zip(password).zip(device))?;
    let invalid = || ApiError::unauthorized("Invalid credentials");

    // Every attempt on a well-formed email counts, known or not, before the
    // password is looked at: a locked email is refused alike either way.
    let email = Email::parse(&email).ok();
    let lockout = email.as_ref().zip(config.login_policy.as_ref());
    let delay = admit(&store, lockout, client, over_limit).await?;
    if !delay.is_zero() {
        // The email is being guessed at from many clients: every attempt waits.
        tokio::time::sleep(delay).await;
    }
    // An unknown or malformed email still costs one bcrypt verification, so the
    // response time does not reveal which accounts exist.
    let user = match &email {
        Some(email) => store.user_by_email(email.as_str()).await?,
        None => None,
    };
    let Some(user) = user else {
        password::verify(password, config.dummy_hash.clone()).await?;
        return Err(invalid());
    };
    if !password::verify(password, user.password.clone()).await? {
        return Err(invalid());
    }
    if let Some((email, _)) = lockout {
        store.forget_login_failures(email, client).await?;
    }
    if !user.is_active {
        return Err(ApiError::Unauthorized {
            message: "Account is deactivated".into(),
            code: Some("ACCOUNT_DEACTIVATED"),
        });
    }
    let last_login = store.touch_last_login(user.id).await?;
    cache.put(user.id, UserStatus::of(&user)).await;
    let pair = open_session(&store, &keys, &policy, &cache, user.id, device).await?;
    let mut view = AuthUserView::of(&user);
    view.last_login = Some(iso(last_login));
    let mut data = serde_json::json!({ "user": view });
    pair.write_into(&mut data);
    Ok(ok("Login successful", data))
}

/// Whether a login attempt of `client` may go on, and after how long a
/// delay; else the 429 with the longest wait that applies: the client's
/// `/v1/auth` limit (`over_limit`), the lock of the pair (email, client),
/// the lock of the email.
async fn admit(
    store: &Store,
    lockout: Option<(&Email, &LoginPolicy)>,
    client: IpAddr,
    over_limit: Option<Duration>,
) -> Result<Duration, ApiError> {
    let locked = |wait: Duration| ApiError::LoginLocked {
        retry_after_secs: retry_after_secs(wait),
    };
    let Some((email, policy)) = lockout else {
        return over_limit.map_or(Ok(Duration::ZERO), |wait| Err(rate_limited(wait)));
    };
    if let Some(wait) = over_limit {
        // Not counted: one lookup of the locks, so the answer tells how long
        // they still hold too.
        return Err(match store.login_lock_left(email, client).await? {
            Some(lock) => locked(lock.max(wait)),
            None => rate_limited(wait),
        });
    }
    match store.admit_login(email, client, policy).await? {
        Admission::Admitted(delay) => Ok(delay),
        Admission::Locked(wait) => Err(locked(wait)),
    }
}

fn rate_limited(wait: Duration) -> ApiError {
    ApiError::RateLimited {
        retry_after_secs: retry_after_secs(wait),
    }
}

/// The session's label: the `device` field, else the `User-Agent`, bounded
/// and without control characters.
fn device_label(req: &HttpRequest, device: Option<String>, c: &mut Checks) -> Option<String> {
    if let Some(device) = device {
        return c.check("device", text::bounded(&device, "Device", 1, 100));
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
