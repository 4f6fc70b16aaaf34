//! Unit tests of the configuration: loading, refusals and warnings.

use std::time::Duration;

use secrecy::SecretString;

use super::auth::DEVELOPMENT_JWT_SECRETS;
use super::*;

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// The test configuration as read, before parsing and validation.
fn layers() -> Layers {
    read_layers(&config_dir(), Environment::Test).expect("test config reads")
}

fn parse(layers: Layers, environment: Environment) -> Result<Settings, String> {
    layers.parse(environment, "splitlyr_test".into())
}

fn settings(environment: Environment) -> Settings {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut s = load(&dir, Environment::Test).expect("test config loads");
    s.environment = environment;
    s
}

#[test]
fn test_configuration_is_valid() {
    assert!(settings(Environment::Test).validate().is_ok());
}

#[test]
fn production_requires_a_long_jwt_secret() {
    let mut s = settings(Environment::Production);
    s.auth.bcrypt_cost = 12;
    s.jwt.secret = None;
    assert!(s.validate().unwrap_err().contains("No JWT secret"));
    s.jwt.secret = Some(SecretString::from("short-secret"));
    assert!(s.validate().unwrap_err().contains("at least 32 bytes"));
    s.jwt.secret = Some(SecretString::from("x".repeat(32)));
    assert!(s.validate().is_ok());
}

#[test]
fn production_refuses_cheap_bcrypt_and_missing_database() {
    let mut s = settings(Environment::Production);
    s.jwt.secret = Some(SecretString::from("x".repeat(40)));
    s.auth.bcrypt_cost = 4;
    assert!(s.validate().is_err());
    s.auth.bcrypt_cost = 12;
    s.database.uri = SecretString::from(" ");
    assert!(s.validate().unwrap_err().contains("database URI"));
}

/// The JWT secret a development config file sets.
fn file_secret(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name);
    config::Config::builder()
        .add_source(config::File::from(path))
        .build()
        .and_then(|c| c.get_string("jwt.secret"))
        .unwrap_or_else(|e| panic!("{name}: no jwt.secret: {e}"))
}

#[test]
fn development_secrets_are_refused_outside_development() {
    for file in ["local.toml", "test.toml"] {
        let secret = file_secret(file);
        assert!(
            DEVELOPMENT_JWT_SECRETS.contains(&secret.as_str()),
            "{file}'s secret is missing from DEVELOPMENT_JWT_SECRETS"
        );
        for environment in [Environment::Local, Environment::Test] {
            let mut s = settings(environment);
            s.jwt.secret = Some(SecretString::from(secret.clone()));
            assert!(s.validate().is_ok(), "{file} in {environment:?}");
        }
        let mut s = settings(Environment::Production);
        s.auth.bcrypt_cost = 12;
        s.jwt.secret = Some(SecretString::from(format!(" {secret}\n")));
        let e = s.validate().unwrap_err();
        assert!(
            e.contains("development secret") && e.contains("production"),
            "{file}: {e}"
        );
    }
    // What the test configuration loads, as it is, is refused too.
    let mut s = settings(Environment::Production);
    s.auth.bcrypt_cost = 12;
    assert!(s.validate().unwrap_err().contains("development secret"));
}

#[test]
fn server_limits_and_the_admin_port_are_checked() {
    type Tweak = fn(&mut ServerSettings);
    let bad: [Tweak; 5] = [
        |s| s.body_read_timeout_ms = 10,
        |s| s.large_body_memory_mib = 0,
        |s| s.large_body_wait_ms = 600_000,
        |s| s.admin_host = " ".into(),
        |s| {
            s.port = 3000;
            s.admin_port = 3000;
        },
    ];
    for (i, tweak) in bad.iter().enumerate() {
        let mut s = settings(Environment::Test);
        tweak(&mut s.server);
        let e = s.validate().unwrap_err();
        assert!(e.contains("server."), "case {i}: {e}");
    }
    let mut s = settings(Environment::Test);
    (s.server.port, s.server.admin_port) = (0, 0);
    assert!(s.validate().is_ok(), "both on free ports (tests)");
}

#[test]
fn bad_values_are_refused() {
    let mut l = layers();
    l.jwt.expires_in = "forever".into();
    assert!(parse(l, Environment::Test).is_err());
    let mut s = settings(Environment::Test);
    s.rate_limit.auth_burst = 0;
    assert!(s.validate().is_err());
    let mut s = settings(Environment::Test);
    s.rate_limit.other_period_ms = 0;
    assert!(s.validate().is_err());
}

#[test]
fn login_lockout_settings_are_bounded() {
    type Tweak = fn(&mut RateLimitSettings);
    let bad: [Tweak; 11] = [
        |r| r.login_max_failures = 0,
        |r| r.login_window_seconds = 0,
        |r| r.login_lockout_seconds = 0,
        |r| r.login_lockout_seconds = r.login_lockout_max_seconds + 1,
        |r| r.login_lockout_max_seconds = 86_401,
        |r| r.login_email_max_failures = 0,
        |r| r.login_email_slow_after = 100_001,
        |r| r.login_email_delay_ms = 60_001,
        |r| r.login_email_delay_max_ms = 60_001,
        |r| r.login_email_window_seconds = 0,
        |r| r.login_email_lockout_seconds = 86_401,
    ];
    for (i, tweak) in bad.iter().enumerate() {
        let mut s = settings(Environment::Test);
        tweak(&mut s.rate_limit);
        let e = s.validate().unwrap_err();
        assert!(e.contains("rate_limit.login_"), "case {i}: {e}");
    }
}

#[test]
fn database_name_comes_from_operator_then_uri_then_files() {
    let old = "mongodb://db.internal:27017/coinbreakr?retryWrites=true";
    assert_eq!(database_name(None, old, "splitlyr_local"), "coinbreakr");
    assert_eq!(database_name(Some("other"), old, "splitlyr_local"), "other");
    assert_eq!(database_name(Some(" "), old, "x"), "coinbreakr");
    for bare in [
        "mongodb://127.0.0.1:27017/?directConnection=true",
        "mongodb://127.0.0.1:27017",
        "mongodb://u:p@h1,h2/?replicaSet=rs",
    ] {
        assert_eq!(
            database_name(None, bare, "splitlyr_local"),
            "splitlyr_local"
        );
        assert_eq!(database_name(None, bare, ""), "splitlyr");
    }
    assert_eq!(
        database_name(
            None,
            "mongodb+srv://u:p@cluster0.example.net/coinbreakr",
            ""
        ),
        "coinbreakr"
    );
}

#[test]
fn environment_names() {
    assert_eq!(
        Environment::try_from("PRODUCTION".to_string()),
        Ok(Environment::Production)
    );
    assert!(Environment::try_from("staging".to_string()).is_err());
}

#[test]
fn expires_in_forms() {
    assert_eq!(
        parse_expires_in("2d").unwrap(),
        Duration::from_secs(172_800)
    );
    assert_eq!(
        parse_expires_in("12h").unwrap(),
        Duration::from_secs(43_200)
    );
    assert_eq!(parse_expires_in("3600").unwrap(), Duration::from_secs(3600));
    for bad in ["", "d", "2y", "0", "-5", "99999999999999999999w"] {
        assert!(parse_expires_in(bad).is_err(), "{bad} should be rejected");
    }
}

#[test]
fn the_token_lifetime_is_parsed_once_with_its_old_message() {
    assert_eq!(
        settings(Environment::Test).jwt.expires_in,
        Duration::from_secs(2 * 86_400)
    );
    let mut l = layers();
    l.jwt.expires_in = "forever".into();
    assert_eq!(
        parse(l, Environment::Test).unwrap_err(),
        "jwt.expires_in: \"forever\" is not a duration like 2d, 12h or 3600"
    );
}

#[test]
fn write_concerns_are_majority_or_a_member_count() {
    assert_eq!(WriteConcern::parse("majority"), Ok(WriteConcern::Majority));
    assert_eq!(WriteConcern::parse("1"), Ok(WriteConcern::Nodes(1)));
    assert_eq!(WriteConcern::parse("50"), Ok(WriteConcern::Nodes(50)));
    for bad in ["0", "51", "Majority", "all", "", "-1"] {
        let e = WriteConcern::parse(bad).unwrap_err();
        assert!(
            e.contains("unacknowledged writes are never allowed"),
            "{bad}: {e}"
        );
        let mut l = layers();
        l.database.write_concern = bad.into();
        assert_eq!(parse(l, Environment::Test).unwrap_err(), e, "{bad}");
    }
    assert_eq!(
        settings(Environment::Test).database.write_concern,
        "majority"
    );
    assert_eq!(WriteConcern::Nodes(3).to_string(), "3");
    let mut s = settings(Environment::Test);
    s.database.write_concern = WriteConcern::Nodes(0);
    assert!(s.validate().is_err());
}

/// The first rule broken is the one reported, in the order of old.
#[test]
fn the_first_refusal_wins_as_before() {
    let mut l = layers();
    l.jwt.secret = None;
    l.jwt.expires_in = "forever".into();
    l.database.write_concern = "0".into();
    assert!(parse(l, Environment::Test)
        .unwrap_err()
        .contains("No JWT secret"));
    let mut l = layers();
    l.jwt.expires_in = "forever".into();
    l.database.write_concern = "0".into();
    assert!(parse(l, Environment::Test)
        .unwrap_err()
        .contains("database.write_concern"));
    let mut l = layers();
    l.jwt.expires_in = "forever".into();
    l.rate_limit.auth_burst = 0;
    assert!(parse(l, Environment::Test)
        .unwrap_err()
        .contains("jwt.expires_in"));
}

#[test]
fn production_without_durable_writes_is_warned_about_not_refused() {
    let production = || {
        let mut s = settings(Environment::Production);
        s.auth.bcrypt_cost = 12;
        s.jwt.secret = Some(SecretString::from("x".repeat(40)));
        s
    };
    assert_eq!(production().warnings(), []);
    let mut s = production();
    s.database.write_concern = WriteConcern::Nodes(1);
    assert!(s.validate().is_ok());
    assert_eq!(
        s.warnings(),
        [Warning::WeakWrites {
            write_concern: WriteConcern::Nodes(1),
            journal: true
        }]
    );
    let mut s = production();
    s.database.journal = false;
    assert_eq!(s.warnings().len(), 1);
    // Outside production the same settings are what development uses.
    let mut s = settings(Environment::Test);
    s.database.write_concern = WriteConcern::Nodes(1);
    s.database.journal = false;
    assert_eq!(s.warnings(), []);
}

#[test]
fn log_formats() {
    assert_eq!(LogFormat::from("json".to_string()), LogFormat::Json);
    assert_eq!(LogFormat::from("pretty".to_string()), LogFormat::Compact);
    assert_eq!(settings(Environment::Test).log.format, LogFormat::Json);
}
