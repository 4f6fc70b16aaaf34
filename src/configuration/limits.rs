//! `[rate_limit]`: per-client request limits, the login lockout and the
//! proxies whose `X-Forwarded-For` is believed.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub general_burst: u32,
    pub general_period_ms: u64,
    pub auth_burst: u32,
    pub auth_period_ms: u64,
    pub contact_burst: u32,
    pub contact_period_ms: u64,
    /// Everything outside the `/v1` API: `/metrics`, `/`, unknown paths.
    pub other_burst: u32,
    pub other_period_ms: u64,
    /// Failed logins of one email from one client (the pair) before that
    /// pair is locked (shared by all replicas).
    pub login_max_failures: u32,
    /// A pair's failure is forgotten this long after its last one (or the
    /// end of its lock).
    pub login_window_seconds: u64,
    /// A pair's first lock; each further failure doubles it, up to the maximum.
    pub login_lockout_seconds: u64,
    pub login_lockout_max_seconds: u64,
    /// Failures of one email from all clients together after which every
    /// attempt on it is delayed: `login_email_delay_ms` for each failure from
    /// this one on, up to `login_email_delay_max_ms`.
    pub login_email_slow_after: u32,
    pub login_email_delay_ms: u64,
    pub login_email_delay_max_ms: u64,
    /// Failures of one email from all clients together that lock it for
    /// every client, for `login_email_lockout_seconds`.
    pub login_email_max_failures: u32,
    pub login_email_lockout_seconds: u64,
    /// An email's count is forgotten this long after its last failure (or
    /// the end of its lock).
    pub login_email_window_seconds: u64,
    pub trusted_proxies: Vec<ProxyRange>,
}

impl RateLimitSettings {
    pub(super) fn validate(&self) -> Result<(), String> {
        let bursts = [
            self.general_burst,
            self.auth_burst,
            self.contact_burst,
            self.other_burst,
        ];
        let periods = [
            self.general_period_ms,
            self.auth_period_ms,
            self.contact_period_ms,
            self.other_period_ms,
        ];
        if bursts.contains(&0) || periods.contains(&0) {
            return Err("rate_limit bursts and periods must be positive".into());
        }
        self.validate_login_lockout()
    }

    fn validate_login_lockout(&self) -> Result<(), String> {
        const DAY: u64 = 86_400;
        if !(1..=1000).contains(&self.login_max_failures) {
            return Err("rate_limit.login_max_failures must be between 1 and 1000".into());
        }
        if !(1..=DAY).contains(&self.login_window_seconds) {
            return Err("rate_limit.login_window_seconds must be between 1 and 86400".into());
        }
        if !(1..=DAY).contains(&self.login_lockout_max_seconds)
            || !(1..=self.login_lockout_max_seconds).contains(&self.login_lockout_seconds)
        {
            return Err(
                "rate_limit.login_lockout_seconds must be at least 1 and at most \
                 rate_limit.login_lockout_max_seconds, itself at most 86400"
                    .into(),
            );
        }
        if !(1..=100_000).contains(&self.login_email_max_failures)
            || self.login_email_slow_after > 100_000
        {
            return Err(
                "rate_limit.login_email_max_failures must be between 1 and 100000, \
                 rate_limit.login_email_slow_after at most 100000"
                    .into(),
            );
        }
        // A delay holds the request: a minute at most.
        if self.login_email_delay_ms > 60_000 || self.login_email_delay_max_ms > 60_000 {
            return Err(
                "rate_limit.login_email_delay_ms and login_email_delay_max_ms must be at most 60000"
                    .into(),
            );
        }
        if !(1..=DAY).contains(&self.login_email_window_seconds)
            || !(1..=DAY).contains(&self.login_email_lockout_seconds)
        {
            return Err(
                "rate_limit.login_email_window_seconds and login_email_lockout_seconds must be \
                 between 1 and 86400"
                    .into(),
            );
        }
        Ok(())
    }
}

/// A trusted proxy: one address (`10.0.0.7`) or a range (`10.0.0.0/8`), as
/// load balancers and ingress controllers come from address ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ProxyRange(IpNet);

impl ProxyRange {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl TryFrom<String> for ProxyRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let s = s.trim();
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(Self)
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))
    }
}

impl std::str::FromStr for ProxyRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::try_from(s.to_string())
    }
}
