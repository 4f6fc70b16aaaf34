use super::*;

fn policy() -> LoginPolicy {
    LoginPolicy {
        pair: Limit {
            max_failures: 5,
            window: Duration::from_secs(900),
            lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(900),
        },
        email: Limit {
            max_failures: 100,
            window: Duration::from_secs(600),
            lockout: Duration::from_secs(900),
            max_lockout: Duration::from_secs(900),
        },
        slow_after: 20,
        delay_step: Duration::from_millis(250),
        max_delay: Duration::from_secs(5),
    }
}

#[test]
fn pair_locks_start_at_the_limit_and_double_up_to_the_maximum() {
    let p = policy().pair;
    let secs = |n| p.lock_after(n).map(|d| d.as_secs());
    assert_eq!(secs(1), None);
    assert_eq!(secs(4), None);
    assert_eq!(secs(5), Some(60));
    assert_eq!(secs(6), Some(120));
    assert_eq!(secs(8), Some(480));
    assert_eq!(secs(9), Some(900));
    assert_eq!(secs(u32::MAX), Some(900));
    let table: Vec<u64> = p.locks().iter().map(Duration::as_secs).collect();
    assert_eq!(table, [60, 120, 240, 480, 900]);
    let email = policy().email;
    assert_eq!(email.locks(), [Duration::from_secs(900)]);
    assert_eq!(email.lock_after(99), None);
    assert_eq!(email.lock_after(100), Some(Duration::from_secs(900)));
}

#[test]
fn the_email_slows_down_after_its_threshold_up_to_a_maximum() {
    let p = policy();
    let ms = |failures| p.delay(failures).as_millis();
    assert_eq!(ms(0), 0);
    assert_eq!(ms(1), 0);
    assert_eq!(ms(20), 0, "19 earlier failures");
    assert_eq!(ms(21), 250, "20 earlier failures");
    assert_eq!(ms(22), 500);
    assert_eq!(ms(40), 5000);
    assert_eq!(ms(41), 5000);
    assert_eq!(ms(u32::MAX), 5000);
}

#[test]
fn keys_are_fixed_size_hashes_of_the_normalised_email() {
    let a = key(&Email::parse(" Al@Example.com").unwrap());
    assert_eq!(a, key(&Email::parse("al@example.com").unwrap()));
    assert_eq!(a.len(), 64);
    assert!(!a.contains("example"));
    let long = format!("{}@example.com", "a".repeat(240));
    assert_eq!(key(&Email::parse(&long).unwrap()).len(), 64);
}

#[test]
fn clients_are_ipv4_addresses_or_ipv6_networks() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(client_key(ip("203.0.113.9")), "203.0.113.9");
    assert_eq!(client_key(ip("::ffff:203.0.113.9")), "203.0.113.9");
    let a = client_key(ip("2001:db8:aa:bb:1:2:3:4"));
    assert_eq!(a, "2001:db8:aa:bb::/64");
    assert_eq!(a, client_key(ip("2001:db8:aa:bb:ffff:ffff:ffff:ffff")));
    assert_ne!(a, client_key(ip("2001:db8:aa:bc::1")));
    let widest = client_key(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_eq!(widest.len(), 24);
}

fn at(ms: i64) -> DateTime {
    DateTime::from_millis(ms)
}

#[test]
fn the_wait_of_a_refusal_is_the_longest_lock_that_applies() {
    let now = at(1_000_000);
    let state = doc! {
        "failures": 3_i64,
        "lockedUntil": at(1_030_000),
        "emailExpiresAt": at(2_000_000),
        "clients": [
            { "c": "10.0.0.1", "failures": 5_i64, "lockedUntil": at(1_060_000), "expiresAt": at(2_000_000) },
            { "c": "10.0.0.2", "failures": 5_i64, "lockedUntil": at(1_010_000), "expiresAt": at(2_000_000) },
            { "c": "10.0.0.3", "failures": 9_i64, "lockedUntil": at(1_090_000), "expiresAt": at(999_000) },
        ],
    };
    let secs = |c| lock_left(&state, c, now).map(|d| d.as_secs());
    assert_eq!(secs("10.0.0.1"), Some(60), "the pair's lock is longer");
    assert_eq!(secs("10.0.0.2"), Some(30), "the email's lock is longer");
    assert_eq!(secs("10.0.0.3"), Some(30), "a forgotten pair holds nothing");
    assert_eq!(secs("10.0.0.9"), Some(30));
    let mut unlocked = state.clone();
    unlocked.insert("lockedUntil", at(999_999));
    assert_eq!(lock_left(&unlocked, "10.0.0.9", now), None);
    // A document of an earlier release: its `expiresAt` is the email's.
    let old = doc! { "failures": 5_i64, "lockedUntil": at(1_002_500), "expiresAt": at(1_902_500) };
    assert_eq!(
        lock_left(&old, "10.0.0.1", now),
        Some(Duration::from_millis(2500))
    );
}

#[test]
fn an_attempt_is_admitted_only_when_it_marked_the_document() {
    let now = at(1_000_000);
    let mine = ObjectId::new();
    let p = policy();
    let admitted = doc! { "admission": mine, "failures": 22_i64, "emailExpiresAt": at(2_000_000) };
    assert_eq!(
        admission(&admitted, mine, "10.0.0.1", now, &p),
        Admission::Admitted(Duration::from_millis(500))
    );
    let locked = doc! {
        "admission": ObjectId::new(),
        "clients": [{ "c": "10.0.0.1", "lockedUntil": at(1_002_500), "expiresAt": at(2_000_000) }],
    };
    assert_eq!(
        admission(&locked, mine, "10.0.0.1", now, &p),
        Admission::Locked(Duration::from_millis(2500))
    );
}
