//! Per-client rate limiting with actix-governor. The client is the peer IP,
//! or — only when the peer is a configured trusted proxy — the nearest
//! untrusted address in `X-Forwarded-For`.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::{HttpResponse, HttpResponseBuilder};

use crate::configuration::RateLimitSettings;

#[derive(Clone, Debug)]
pub struct ClientIp {
    trusted_proxies: Arc<Vec<IpAddr>>,
}

impl ClientIp {
    pub fn new(trusted_proxies: Vec<IpAddr>) -> Self {
        Self {
            trusted_proxies: Arc::new(trusted_proxies),
        }
    }

    /// The address to rate-limit: never taken from a header the client controls
    /// unless the connection comes from a proxy we trust.
    pub fn client_of(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> IpAddr {
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        forwarded_for
            .into_iter()
            .flat_map(|v| v.rsplit(','))
            .filter_map(|part| part.trim().parse::<IpAddr>().ok())
            .find(|ip| !self.trusted_proxies.contains(ip))
            .unwrap_or(peer)
    }
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Self::Key, Self::KeyExtractionError> {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(self.client_of(req.peer_addr().map(|a| a.ip()), forwarded))
    }

    fn exceed_rate_limit_response(
        &self,
        _negative: &actix_governor::governor::NotUntil<
            actix_governor::governor::clock::QuantaInstant,
        >,
        mut response: HttpResponseBuilder,
    ) -> HttpResponse {
        // actix-governor has already set `Retry-After`.
        response.json(crate::error::envelope(
            "Too many requests, please try again later.",
        ))
    }
}

pub type Limiter = GovernorConfig<ClientIp, NoOpMiddleware>;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let c = ClientIp::new(vec![ip("10.0.0.1")]);
        assert_eq!(
            c.client_of(Some(ip("203.0.113.9")), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxy_yields_nearest_untrusted_hop() {
        let c = ClientIp::new(vec![ip("10.0.0.1"), ip("10.0.0.2")]);
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
}
