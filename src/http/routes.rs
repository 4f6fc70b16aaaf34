//! The route table: every method and path the service answers, with the
//! handler and the rate-limit bucket of each, in one list. The servers are
//! built from it (`register`, `crate::admin`), and the API description is
//! checked against it (`endpoints`).
//!
//! Each endpoint is its own resource guarded by its method, so a path
//! answered for another method falls through to the 404 envelope, and the
//! order of registration is derived from the paths (a literal segment before
//! a parameter at the same place: `/users/friends` before `/users/{id}`),
//! never from where a line happens to be. The API's endpoints are nested in
//! one scope per first segment (`/users`, `/groups`, …), derived from the
//! same list, so a request is matched against a handful of prefixes and then
//! its own area's paths, not against every pattern of the API in turn.

use actix_governor::Governor;
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{guard, web, FromRequest, Handler, Responder};

use super::{activity, auth, blocks, comments, contact, expenses, friends, groups, health, images};
use super::{conversions, exports, idempotency, imports, invites, openapi, payments};
use super::{rates, recurring};
use super::{sessions, settle, sync, users};
use crate::ratelimit::Limiter;

/// The rate-limit bucket of an endpoint, on top of the API's general one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// The API's general per-client limit only.
    Api,
    /// The strict `/v1/auth` limit (validation errors keyed by field).
    Auth,
    /// Login: checks the `/v1/auth` limit itself, after a failed attempt
    /// only (validation errors keyed by field).
    Login,
    /// The strict contact-form limit.
    Contact,
    /// Routes that take a secret in the path (invite tokens): the strict
    /// `/v1/auth` limit, against guessing.
    Guess,
    /// Outside the `/v1` scope (the probes, the API description): the API's
    /// general limit, applied here.
    Probe,
}

/// One method on one path, under `/v1`.
pub struct Endpoint {
    pub method: Method,
    /// Below `/v1`, with `{name}` parameters.
    pub path: &'static str,
    pub bucket: Bucket,
    route: actix_web::Route,
}

fn endpoint<F, Args>(method: Method, path: &'static str, handler: F) -> Endpoint
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    Endpoint {
        route: web::method(method.clone()).to(handler),
        method,
        path,
        bucket: Bucket::Api,
    }
}

impl Endpoint {
    /// The endpoint as a resource of its own, guarded by its method.
    fn into_resource(self) -> (Bucket, actix_web::Resource) {
        // Idempotency keys and the request deadline, once routed (see
        // `idempotency::guard`: the public listener's API only).
        let resource = web::resource(self.path)
            .guard(guard::Method(self.method))
            .route(self.route.wrap(from_fn(idempotency::guard)));
        (self.bucket, resource)
    }

    fn in_bucket(mut self, bucket: Bucket) -> Self {
        self.bucket = bucket;
        self
    }
}

macro_rules! routes {
    ($($method:ident $path:literal => $handler:path $(, $bucket:ident)?;)*) => {
        vec![$(
            endpoint(Method::$method, $path, $handler)$(.in_bucket(Bucket::$bucket))?,
        )*]
    };
}

/// Every endpoint of the API, under `/v1`.
pub fn endpoints() -> Vec<Endpoint> {
    routes! {
        POST "/auth/register" => auth::register, Auth;
        POST "/auth/login" => auth::login, Login;
        POST "/auth/refresh" => sessions::refresh, Auth;
        POST "/auth/logout" => sessions::logout, Auth;
        POST "/auth/logout-all" => sessions::logout_all, Auth;
        GET "/auth/sessions" => sessions::sessions, Auth;
        DELETE "/auth/sessions/{id}" => sessions::end_session, Auth;

        POST "/contact" => contact::submit, Contact;

        GET "/users" => users::search;
        GET "/users/profile" => users::profile;
        PATCH "/users/profile" => users::update_profile;
        PUT "/users/profile/image" => images::put_profile_image;
        DELETE "/users/profile/image" => images::delete_profile_image;
        PATCH "/users/change-password" => users::change_password;
        GET "/users/balances" => users::balances;
        GET "/users/settle-up" => settle::mine;
        DELETE "/users/deactivate-user" => users::deactivate;

        GET "/users/friends" => friends::list;
        POST "/users/friends" => friends::add;
        DELETE "/users/friends/{friend_id}" => friends::remove;
        POST "/users/friends/{friend_id}/accept" => friends::accept;
        POST "/users/friends/{friend_id}/decline" => friends::decline;
        GET "/users/friends/{friend_id}/balance" => friends::balance;

        GET "/users/blocks" => blocks::list;
        POST "/users/blocks" => blocks::block;
        DELETE "/users/blocks/{user_id}" => blocks::unblock;

        GET "/images/{id}" => images::serve;

        POST "/groups" => groups::create;
        GET "/groups" => groups::list;
        GET "/groups/{id}" => groups::get;
        PUT "/groups/{id}" => groups::update;
        DELETE "/groups/{id}" => groups::delete;
        POST "/groups/{id}/members" => groups::add_member;
        DELETE "/groups/{id}/members/{member_id}" => groups::remove_member;
        PATCH "/groups/{id}/members/{member_id}" => groups::change_role;
        DELETE "/groups/{id}/leave" => groups::leave;
        POST "/groups/{id}/invites" => invites::create_invite;
        GET "/groups/{id}/invites" => invites::list_invites;
        DELETE "/groups/{id}/invites/{invite_id}" => invites::revoke_invite;
        POST "/groups/{id}/guests" => invites::add_guest;
        GET "/invites/{token}" => invites::preview, Guess;
        POST "/invites/{token}/accept" => invites::accept, Guess;
        GET "/groups/{id}/settle-up" => settle::group;
        POST "/groups/{id}/import/splitwise" => imports::splitwise;
        GET "/imports/{id}" => imports::job;
        GET "/groups/{id}/export.csv" => exports::group_export;

        GET "/activity" => activity::feed;
        GET "/sync" => sync::sync;

        POST "/expenses" => expenses::create;
        GET "/expenses" => expenses::list;
        GET "/expenses/export.csv" => exports::mine_export;
        GET "/expenses/group/{group_id}" => expenses::group_expenses;
        GET "/expenses/group/{group_id}/balance" => expenses::group_balance;
        GET "/expenses/{id}" => expenses::get;
        PUT "/expenses/{id}" => expenses::update;
        DELETE "/expenses/{id}" => expenses::delete;
        PATCH "/expenses/{id}/settle" => expenses::settle;
        POST "/expenses/{id}/restore" => expenses::restore;
        GET "/expenses/{id}/activity" => activity::expense_history;
        PUT "/expenses/{id}/receipt" => images::put_receipt;
        DELETE "/expenses/{id}/receipt" => images::delete_receipt;
        GET "/expenses/{id}/comments" => comments::expense_comments;
        POST "/expenses/{id}/comments" => comments::comment_on_expense;
        DELETE "/expenses/{id}/comments/{comment_id}" => comments::delete_expense_comment;

        GET "/rates" => rates::show;
        POST "/conversions" => conversions::create;
        GET "/conversions/{id}" => conversions::get;
        DELETE "/conversions/{id}" => conversions::delete;
        POST "/conversions/{id}/restore" => conversions::restore;

        POST "/payments" => payments::create;
        GET "/payments" => payments::list;
        GET "/payments/{id}" => payments::get;
        PUT "/payments/{id}" => payments::update;
        DELETE "/payments/{id}" => payments::delete;
        POST "/payments/{id}/restore" => payments::restore;
        GET "/payments/{id}/activity" => activity::payment_history;
        GET "/payments/{id}/comments" => comments::payment_comments;
        POST "/payments/{id}/comments" => comments::comment_on_payment;
        DELETE "/payments/{id}/comments/{comment_id}" => comments::delete_payment_comment;

        POST "/recurring" => recurring::create;
        GET "/recurring" => recurring::list;
        GET "/recurring/{id}" => recurring::get;
        PATCH "/recurring/{id}" => recurring::update;
        DELETE "/recurring/{id}" => recurring::delete;
    }
}

/// The probes, outside `/v1`'s readiness gate (their full paths).
pub fn probes() -> Vec<Endpoint> {
    routes! {
        GET "/v1/healthz" => health::healthz, Probe;
        GET "/v1/livez" => health::livez, Probe;
    }
}

/// The API description and its page, outside `/v1`'s readiness gate: they
/// need no database (full paths).
pub fn docs() -> Vec<Endpoint> {
    routes! {
        GET "/v1/openapi.json" => openapi::document, Probe;
        GET "/v1/docs" => openapi::page, Probe;
    }
}

/// The admin listener's endpoints (full paths).
pub fn admin_endpoints() -> Vec<Endpoint> {
    routes! {
        GET "/v1/healthz" => health::healthz_detail;
        GET "/v1/livez" => health::livez;
        GET "/metrics" => health::metrics;
    }
}

/// The public metrics endpoint, served only when `server.public_metrics`.
pub fn public_metrics() -> Endpoint {
    endpoint(Method::GET, "/metrics", health::metrics)
}

/// Literal segments sort before parameters at the same place, so a literal
/// path is matched before a pattern that would also take it.
fn specificity(path: &str) -> Vec<(bool, &str)> {
    path.split('/').map(|s| (s.starts_with('{'), s)).collect()
}

/// The limiters of the buckets.
pub struct Limiters<'a> {
    pub general: &'a Limiter,
    pub auth: &'a Limiter,
    pub contact: &'a Limiter,
}

/// The first segment of a path (`users` of `/users/friends`) and the rest
/// (`/friends`; empty for `/users` itself).
fn split_first(path: &'static str) -> (&'static str, &'static str) {
    let rest = path.strip_prefix('/').unwrap_or(path);
    match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    }
}

/// Registers the API's `endpoints` (paths below `/v1`) on `cfg`: one scope
/// per first segment, most specific path first inside each.
pub fn register_api(cfg: &mut web::ServiceConfig, endpoints: Vec<Endpoint>, limits: &Limiters) {
    let mut areas: std::collections::BTreeMap<&'static str, Vec<Endpoint>> = Default::default();
    for mut e in endpoints {
        let (first, rest) = split_first(e.path);
        assert!(
            !first.is_empty() && !first.starts_with('{'),
            "an API path starts with a literal segment: {}",
            e.path
        );
        e.path = rest;
        areas.entry(first).or_default().push(e);
    }
    for (first, area) in areas {
        cfg.service(web::scope(&format!("/{first}")).configure(|cfg| register(cfg, area, limits)));
    }
}

/// Registers `endpoints` on `cfg` as they are (full paths), most specific
/// path first.
pub fn register(cfg: &mut web::ServiceConfig, mut endpoints: Vec<Endpoint>, limits: &Limiters) {
    endpoints.sort_by(|a, b| specificity(a.path).cmp(&specificity(b.path)));
    for e in endpoints {
        let (bucket, resource) = e.into_resource();
        match bucket {
            Bucket::Api => cfg.service(resource),
            Bucket::Login => cfg.service(resource.wrap(from_fn(auth::errors_by_field))),
            Bucket::Auth => cfg.service(
                resource
                    .wrap(Governor::new(limits.auth))
                    .wrap(from_fn(auth::errors_by_field)),
            ),
            Bucket::Contact => cfg.service(resource.wrap(Governor::new(limits.contact))),
            Bucket::Guess => cfg.service(resource.wrap(Governor::new(limits.auth))),
            Bucket::Probe => cfg.service(resource.wrap(Governor::new(limits.general))),
        };
    }
}

/// Registers endpoints that need no limiter (the admin listener's).
pub fn register_plain(cfg: &mut web::ServiceConfig, endpoints: Vec<Endpoint>) {
    for e in endpoints {
        cfg.service(e.into_resource().1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_and_path_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for e in endpoints() {
            assert!(
                seen.insert((e.method.to_string(), e.path)),
                "{} {}",
                e.method,
                e.path
            );
        }
        assert!(seen.contains(&("GET".to_string(), "/users/friends")));
        assert!(seen.contains(&("PATCH".to_string(), "/expenses/{id}/settle")));
    }

    #[test]
    fn paths_split_at_their_first_segment() {
        assert_eq!(split_first("/users"), ("users", ""));
        assert_eq!(
            split_first("/users/friends/{id}"),
            ("users", "/friends/{id}")
        );
        assert_eq!(split_first("/contact"), ("contact", ""));
    }

    #[test]
    fn literal_segments_are_matched_before_parameters() {
        let mut paths = vec![
            "/users/{id}",
            "/users/friends/{friend_id}",
            "/users/friends",
            "/users",
        ];
        paths.sort_by(|a, b| specificity(a).cmp(&specificity(b)));
        assert_eq!(
            paths,
            [
                "/users",
                "/users/friends",
                "/users/friends/{friend_id}",
                "/users/{id}"
            ]
        );
    }
}
