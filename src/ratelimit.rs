//! Per-client rate limiting with actix-governor. The client is the peer IP,
//! or — only when the peer is a configured trusted proxy — the nearest
//! untrusted address in `X-Forwarded-For`.

use std::net::{IpAddr, Ipv4Addr};

use std::sync::Arc;
use std::time::Duration;

use actix_governor::governor::clock::{Clock, DefaultClock};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::governor::DefaultKeyedRateLimiter;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{HeaderName, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};

use crate::configuration::{ProxyRange, RateLimitSettings};

#[derive(Clone, Debug)]
pub struct ClientIp {
    trusted_proxies: Arc<Vec<ProxyRange>>,
}

impl ClientIp {
    pub fn new(trusted_proxies: Vec<ProxyRange>) -> Self {
        Self {
            trusted_proxies: Arc::new(trusted_proxies),
        }
    }

    fn is_trusted(&self, ip: &IpAddr) -> bool {
        self.trusted_proxies.iter().any(|range| range.contains(ip))
    }

    /// The address to rate-limit: never taken from a header the client controls
    /// unless the connection comes from a proxy we trust.
    pub fn client_of(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> IpAddr {
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if !self.is_trusted(&peer) {
            return peer;
        }
        forwarded_for
            .into_iter()
            .flat_map(|v| v.rsplit(','))
            .filter_map(|part| part.trim().parse::<IpAddr>().ok())
            .find(|ip| !self.is_trusted(ip))
            .unwrap_or(peer)
    }

    /// The client of a request.
    pub fn of_request(&self, req: &HttpRequest) -> IpAddr {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        self.client_of(req.peer_addr().map(|a| a.ip()), forwarded)
    }
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Self::Key, Self::KeyExtractionError> {
        Ok(self.of_request(req.request()))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &actix_governor::governor::NotUntil<
            actix_governor::governor::clock::QuantaInstant,
        >,
        mut response: HttpResponseBuilder,
    ) -> HttpResponse {
        // actix-governor's headers round the wait down (`Retry-After: 0` while
        // refusing); a client that waits what we say must get through.
        let wait = retry_after_secs(negative.wait_time_from(DefaultClock::default().now()));
        response
            .insert_header((RETRY_AFTER, wait))
            .insert_header((HeaderName::from_static("x-ratelimit-after"), wait))
            .json(crate::error::envelope(crate::error::TOO_MANY_REQUESTS))
    }
}

/// A wait as whole seconds for `Retry-After`: rounded up, and at least 1, so
/// waiting that long is always enough and a refusal never says "retry now".
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

pub type Limiter = GovernorConfig<ClientIp, NoOpMiddleware>;

/// A per-client limit that a handler checks itself, in the bucket of a
/// [`Limiter`] the middleware uses on other routes: login checks the
/// `/v1/auth` limit after reading the email, so that a refusal can carry the
/// longest wait that applies (a lock of that email as well).
#[derive(Clone)]
pub struct ClientLimit {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    clients: ClientIp,
}

impl ClientLimit {
    pub fn new(shared_with: &Limiter, clients: ClientIp) -> Self {
        Self {
            limiter: shared_with.limiter(),
            clients,
        }
    }

    /// The client of `req`, and how long it must wait when it is over the
    /// limit (this request then counts for nothing).
    pub fn check(&self, req: &HttpRequest) -> (IpAddr, Option<Duration>) {
        let client = self.clients.of_request(req);
        let wait = self
            .limiter
            .check_key(&client)
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()));
        (client, wait)
    }
}

/// A limiter allowing `burst` requests at once, refilled one per `period_ms`.
pub fn limiter(settings: &RateLimitSettings, burst: u32, period_ms: u64) -> Limiter {
    let (burst, period_ms) = if settings.enabled {
        (burst, period_ms)
    } else {
        // Disabled: a bucket so large it never empties.
        (u32::MAX, 1)
    };
    GovernorConfigBuilder::default()
        .period(Duration::from_millis(period_ms))
        .burst_size(burst)
        .key_extractor(ClientIp::new(settings.trusted_proxies.clone()))
        .finish()
        .unwrap_or_else(|| unreachable!("burst and period are validated as positive"))
}

/// A limit per key of ours (a user, a session), not per client address:
/// `burst` at once, then one every `period`. Keys must be ones the server
/// vouches for (an authenticated user, a session found in the database), so
/// clients cannot grow it with made-up keys; `prune` forgets idle ones.
pub struct KeyedLimit<K: std::hash::Hash + Eq + Clone> {
    what: &'static str,
    limiter: Option<actix_governor::governor::DefaultKeyedRateLimiter<K>>,
}

impl<K: std::hash::Hash + Eq + Clone> KeyedLimit<K> {
    /// `what` names the limited thing in the 429 ("uploads"); none at all
    /// when `enabled` is false (`rate_limit.enabled`).
    pub fn new(what: &'static str, enabled: bool, burst: u32, period: Duration) -> Self {
        use actix_governor::governor::{Quota, RateLimiter};
        use std::num::NonZeroU32;
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            what,
            limiter: enabled.then(|| RateLimiter::keyed(quota)),
        }
    }

    /// One more for `key`, or a 429 with the wait in `Retry-After`.
    pub fn check(&self, key: &K) -> Result<(), crate::error::ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(key)
            .map_err(|not_until| crate::error::ApiError::Throttled {
                what: self.what,
                retry_after_secs: retry_after_secs(
                    not_until.wait_time_from(DefaultClock::default().now()),
                ),
            })
    }

    /// Forgets keys not seen lately.
    pub fn prune(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ranges(list: &[&str]) -> Vec<ProxyRange> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        let ms = Duration::from_millis;
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(ms(1)), 1);
        assert_eq!(retry_after_secs(ms(1000)), 1);
        assert_eq!(retry_after_secs(ms(1001)), 2);
        assert_eq!(retry_after_secs(ms(3999)), 4);
        assert_eq!(retry_after_secs(Duration::from_nanos(4_000_000_001)), 5);
    }

    #[test]
    fn a_keyed_limit_counts_each_key_apart_and_can_be_off() {
        let limit = KeyedLimit::new("things", true, 2, Duration::from_secs(60));
        assert!(limit.check(&1).is_ok() && limit.check(&1).is_ok());
        let refused = limit.check(&1).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "Too many things, please try again later"
        );
        assert!(limit.check(&2).is_ok());
        let off = KeyedLimit::new("things", false, 1, Duration::from_secs(60));
        assert!((0..10).all(|_| off.check(&1).is_ok()));
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let c = ClientIp::new(ranges(&["10.0.0.1"]));
        assert_eq!(
            c.client_of(Some(ip("203.0.113.9")), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxy_yields_nearest_untrusted_hop() {
        let c = ClientIp::new(ranges(&["10.0.0.1", "10.0.0.2"]));
        let xff = "6.6.6.6, 198.51.100.7, 10.0.0.2";
        assert_eq!(
            c.client_of(Some(ip("10.0.0.1")), Some(xff)),
            ip("198.51.100.7")
        );
        assert_eq!(
            c.client_of(Some(ip("10.0.0.1")), Some("garbage")),
            ip("10.0.0.1")
        );
        assert_eq!(c.client_of(Some(ip("10.0.0.1")), None), ip("10.0.0.1"));
    }

    #[test]
    fn ranges_are_trusted_as_a_whole() {
        let c = ClientIp::new(ranges(&["10.0.0.0/8", "35.191.0.0/16"]));
        let xff = "203.0.113.5, 10.4.5.6";
        assert_eq!(
            c.client_of(Some(ip("35.191.2.3")), Some(xff)),
            ip("203.0.113.5")
        );
        assert!("not-an-ip".parse::<ProxyRange>().is_err());
        assert!("10.0.0.0/33".parse::<ProxyRange>().is_err());
    }
}
