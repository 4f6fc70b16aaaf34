//! Signing in: registration and login (with the per-email lockout of
//! `crate::store::logins` and the dummy hash that makes an unknown email
//! cost as much as a wrong password), each opening a session
//! (`crate::app::sessions`).

use std::net::IpAddr;
use std::time::Duration;

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::sessions::{open_session, TokenPair};
use crate::app::views::iso;
use crate::auth::password;
use crate::domain::email::Email;
use crate::domain::inputs::{Password, UserName};
use crate::error::ApiError;
use crate::ratelimit::retry_after_secs;
use crate::state::AppState;
use crate::store::logins::{Admission, LoginPolicy};
use crate::store::{Store, UserDoc, UserStatus};

/// A registration, parsed.
pub struct Registration {
    pub name: UserName,
    pub email: Email,
    pub password: Password,
    pub phone_number: Option<String>,
    /// The session's label.
    pub device: String,
}

/// A login attempt, well-formed (the email may still be malformed: it is
/// then refused like an unknown one).
pub struct Credentials {
    pub email: String,
    pub password: String,
    /// The session's label.
    pub device: String,
}

/// Where a login attempt comes from: the client, and how long it still
/// waits when it is over its `/v1/auth` limit.
#[derive(Clone, Copy)]
pub struct Attempt {
    pub client: IpAddr,
    pub over_limit: Option<Duration>,
}

/// The signed-in user (`id`, not `_id`, as the app reads it).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AuthUserView {
    #[schema(value_type = crate::app::schema::Id)]
    id: String,
    name: String,
    email: String,
    role: String,
    is_active: bool,
    /// On register.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    created_at: Option<String>,
    /// On login.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
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

/// What register and login answer: the user and a new session's tokens.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    user: AuthUserView,
    #[serde(flatten)]
    tokens: TokenPair,
}

/// Registers a user (becoming friends with whoever added them as a pending
/// friend) and opens their first session.
pub async fn register(app: &AppState, r: Registration) -> Result<SignedIn, ApiError> {
    let hash = password::hash(r.password.into_string(), app.auth.bcrypt_cost).await?;
    let user = UserDoc::new(
        ObjectId::new(),
        r.name.into_string(),
        r.email.into_string(),
        hash,
        r.phone_number,
        DateTime::now(),
    );
    let befriended = app.store.register_user(&user).await?;
    tracing::info!(user_id = %user.id, befriended, "user registered");
    let tokens = open_session(app, user.id, r.device).await?;
    let mut view = AuthUserView::of(&user);
    view.created_at = Some(iso(user.created_at));
    Ok(SignedIn { user: view, tokens })
}

/// Logs in: the lockout is consulted (and counts the attempt) before the
/// password is looked at; a right password forgets the failures.
pub async fn login(
    app: &AppState,
    credentials: Credentials,
    attempt: Attempt,
) -> Result<SignedIn, ApiError> {
    let (store, config) = (&app.store, &app.auth);
    let Credentials {
        email,
        password,
        device,
    } = credentials;
    let invalid = || ApiError::unauthorized("Invalid credentials");

    // Every attempt on a well-formed email counts, known or not, before the
    // password is looked at: a locked email is refused alike either way.
    let email = Email::parse(&email).ok();
    let lockout = email.as_ref().zip(config.login_policy.as_ref());
    let delay = admit(store, lockout, attempt).await?;
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
        store.forget_login_failures(email, attempt.client).await?;
    }
    if !user.is_active {
        return Err(ApiError::Unauthorized {
            message: "Account is deactivated".into(),
            code: Some("ACCOUNT_DEACTIVATED"),
        });
    }
    let last_login = store.touch_last_login(user.id).await?;
    app.status_cache.put(user.id, UserStatus::of(&user)).await;
    let tokens = open_session(app, user.id, device).await?;
    let mut view = AuthUserView::of(&user);
    view.last_login = Some(iso(last_login));
    Ok(SignedIn { user: view, tokens })
}

/// Whether a login attempt may go on, and after how long a delay; else the
/// 429 with the longest wait that applies: the client's `/v1/auth` limit,
/// the lock of the pair (email, client), the lock of the email.
async fn admit(
    store: &Store,
    lockout: Option<(&Email, &LoginPolicy)>,
    attempt: Attempt,
) -> Result<Duration, ApiError> {
    let Attempt { client, over_limit } = attempt;
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

/// 429 for a client over its `/v1/auth` limit, to wait `wait`.
pub fn rate_limited(wait: Duration) -> ApiError {
    ApiError::RateLimited {
        retry_after_secs: retry_after_secs(wait),
    }
}
