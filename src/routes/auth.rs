//! `/v1/auth`: register and login, with validation errors keyed by field.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpResponse, Scope};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use super::views::iso;
use super::{created, ok, Checks};
use crate::auth::password::{self, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::auth::{JwtKeys, UserStatusCache};
use crate::domain::{email::Email, text};
use crate::error::{ApiError, ErrorsShape};
use crate::ratelimit::retry_after_secs;
use crate::state::AuthConfig;
use crate::store::logins::Admission;
use crate::store::{Store, UserDoc};

pub fn scope() -> Scope<
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
        .route("/register", web::post().to(register))
        .route("/login", web::post().to(login))
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
}

#[derive(Deserialize)]
struct LoginBody {
    email: Option<String>,
    password: Option<String>,
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
    body: web::Json<RegisterBody>,
    store: web::Data<Store>,
    keys: web::Data<JwtKeys>,
    config: web::Data<AuthConfig>,
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
    let (((name, email), password), phone) = c.finish(name.zip(email).zip(password).zip(phone))?;

    let hash = password::hash(password, config.bcrypt_cost).await?;
    let now = mongodb::bson::DateTime::now();
    let user = UserDoc {
        id: ObjectId::new(),
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
        default_currency: None,
        created_at: now,
        updated_at: now,
    };
    let befriended = store.register_user(&user).await?;
    tracing::info!(user_id = %user.id, befriended, "user registered");
    let token = keys.issue(user.id)?;
    let mut view = AuthUserView::of(&user);
    view.created_at = Some(iso(user.created_at));
    Ok(created(
        "User registered successfully",
        serde_json::json!({ "user": view, "token": token }),
    ))
}

#[tracing::instrument(name = "login", skip_all)]
async fn login(
    body: web::Json<LoginBody>,
    store: web::Data<Store>,
    keys: web::Data<JwtKeys>,
    config: web::Data<AuthConfig>,
    cache: web::Data<UserStatusCache>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut c = Checks::default();
    let email = c.required("email", body.email, "Email is required");
    let password = c.required("password", body.password, "Password is required");
    let (email, password) = c.finish(email.zip(password))?;
    let invalid = || ApiError::unauthorized("Invalid credentials");

    // Every attempt on a well-formed email counts, known or not, before the
    // password is looked at: a locked email is refused alike either way.
    let email = Email::parse(&email).ok();
    let lockout = email.as_ref().zip(config.login_policy.as_ref());
    if let Some((email, policy)) = lockout {
        if let Admission::Locked(wait) = store.admit_login(email, policy).await? {
            return Err(ApiError::LoginLocked {
                retry_after_secs: retry_after_secs(wait),
            });
        }
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
        store.forget_login_failures(email).await?;
    }
    if !user.is_active {
        return Err(ApiError::Unauthorized {
            message: "Account is deactivated".into(),
            code: Some("ACCOUNT_DEACTIVATED"),
        });
    }
    let last_login = store.touch_last_login(user.id).await?;
    cache.put(user.id, true);
    let token = keys.issue(user.id)?;
    let mut view = AuthUserView::of(&user);
    view.last_login = Some(iso(last_login));
    Ok(ok(
        "Login successful",
        serde_json::json!({ "user": view, "token": token }),
    ))
}
