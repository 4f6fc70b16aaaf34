//! Several replicas behind a load balancer: three real server processes on
//! one database behind nginx (Debian's package, `SPLITLYR_NGINX`, set by
//! scripts/test.sh), all on 127.0.0.1. Races through the balancer, the
//! deactivation deadline on every replica, the login lockout across
//! replicas, and a rolling restart under load that fails no request.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{binary, free_port, test_settings, TestApp, User};
use crate::races;

const REPLICAS: usize = 3;

/// The nginx binary the test script installed; a clear failure without it.
fn nginx_binary() -> PathBuf {
    let path = std::env::var_os("SPLITLYR_NGINX")
        .map(PathBuf::from)
        .expect(
            "SPLITLYR_NGINX is not set: run the suite through scripts/test.sh, which installs \
         nginx-light and sets it (or export SPLITLYR_NGINX=/usr/sbin/nginx)",
        );
    assert!(
        path.is_file(),
        "SPLITLYR_NGINX={} is not a file: install nginx-light",
        path.display()
    );
    path
}

/// The balancer's configuration: round robin over the replicas, no upstream
/// keepalive (every proxied request has a connection of its own, so a
/// replica that drains and closes never leaves nginx holding an idle
/// connection it could reuse just as it closes), everything in `dir`.
///
/// `proxy_next_upstream` decides which failures are passed on to the next
/// replica. A request that may have been processed must never be sent twice:
/// - Reads (GET/HEAD) change nothing: passed on after a connect or read
///   error, a timeout, and any 503 (our `DATABASE_NOT_READY` of a replica
///   that has just started and is still preparing).
/// - Writes are passed on only after `error`. nginx never re-sends a
///   POST or PATCH once it has sent any of it (no `non_idempotent`), so for
///   them that means a refused connection (a replica that stopped
///   accepting, or is down): nothing ran. PUT and DELETE count as idempotent
///   to nginx and could be re-sent after a connection that broke mid-request,
///   which only a crash causes (a SIGTERM drains in-flight requests). No
///   `timeout` and no `http_503` for writes: a slow write, or a 503 from a
///   handler (database unavailable mid-way), may have been applied.
fn nginx_config(dir: &Path, port: u16, upstreams: &[u16]) -> String {
    let d = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|p| format!("    server 127.0.0.1:{p} max_fails=1 fail_timeout=1s;\n"))
        .collect();
    format!(
        r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format replicas '$upstream_addr|$upstream_status|$status|$request_method|$uri';
  access_log {d}/access.log replicas;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream splitlyr {{
{servers}  }}
  server {{
    listen 127.0.0.1:{port};
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_connect_timeout 2s;
    proxy_read_timeout 30s;
    proxy_next_upstream_tries {REPLICAS};
    location / {{
      error_page 418 = @writes;
      if ($request_method !~ ^(GET|HEAD)$) {{ return 418; }}
      proxy_next_upstream error timeout http_503;
      proxy_pass http://splitlyr;
    }}
    location @writes {{
      proxy_next_upstream error;
      proxy_pass http://splitlyr;
    }}
  }}
}}
"#
    )
}

/// Three replicas on one fresh database behind nginx; `app` talks to nginx.
/// Everything is killed, and the directory removed, on drop.
pub struct Cluster {
    pub app: TestApp,
    pub ports: [u16; REPLICAS],
    dir: PathBuf,
    env: Vec<(String, String)>,
    replicas: Vec<Child>,
    nginx: Option<Child>,
}

impl Cluster {
    /// Starts the cluster; `env` is added to every replica's environment.
    pub async fn start(env: &[(&str, &str)]) -> Cluster {
        let nginx_bin = nginx_binary();
        let settings = test_settings();
        let dir = std::env::temp_dir().join(format!("splitlyr-{}", settings.database.name));
        fs::create_dir_all(&dir).expect("temp dir");
        let ports = [free_port(), free_port(), free_port()];
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.push(("APP__DATABASE__NAME".into(), settings.database.name.clone()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let mut cluster = Cluster {
            // The address is nginx's, known once it listens.
            app: TestApp {
                address: String::new(),
                admin_address: None,
                client,
                settings,
            },
            ports,
            replicas: Vec::new(),
            nginx: None,
            dir,
            env,
        };
        for i in 0..REPLICAS {
            let child = cluster.spawn_replica(i);
            cluster.replicas.push(child);
        }
        for i in 0..REPLICAS {
            cluster.wait_healthy(i).await;
        }
        let port = free_port();
        let conf = cluster.dir.join("nginx.conf");
        fs::write(&conf, nginx_config(&cluster.dir, port, &ports)).expect("nginx.conf");
        let nginx = Command::new(nginx_bin)
            .arg("-p")
            .arg(&cluster.dir)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(log_file(&cluster.dir.join("nginx.stderr")))
            .spawn()
            .expect("nginx starts");
        cluster.nginx = Some(nginx);
        cluster.app.address = format!("http://127.0.0.1:{port}");
        assert!(
            cluster
                .app
                .wait_until_healthy(Duration::from_secs(10))
                .await,
            "nginx does not answer; {}",
            fs::read_to_string(cluster.dir.join("nginx.stderr")).unwrap_or_default()
        );
        cluster
    }

    fn spawn_replica(&self, i: usize) -> Child {
        let log = self.dir.join(format!("replica-{i}.log"));
        let mut command = binary("test");
        command
            .env("APP__SERVER__HOST", "127.0.0.1")
            .env("APP__SERVER__PORT", self.ports[i].to_string())
            .env("APP__SERVER__WORKERS", "2")
            .env("APP__DATABASE__URI", crate::helpers::db_uri())
            .env("APP__RATE_LIMIT__ENABLED", "false")
            .env_remove("MONGO_URL")
            .env_remove("PORT")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(log_file(&log))
            .stderr(log_file(&log));
        command.spawn().expect("replica starts")
    }

    /// Replica `i` addressed directly, not through nginx.
    pub fn direct(&self, i: usize) -> TestApp {
        TestApp {
            address: format!("http://127.0.0.1:{}", self.ports[i]),
            admin_address: None,
            client: self.app.client.clone(),
            settings: self.app.settings.clone(),
        }
    }

    async fn wait_healthy(&self, i: usize) {
        assert!(
            self.direct(i)
                .wait_until_healthy(Duration::from_secs(30))
                .await,
            "replica {i} never became healthy; log: {}",
            self.replica_log(i)
        );
    }

    fn replica_log(&self, i: usize) -> String {
        fs::read_to_string(self.dir.join(format!("replica-{i}.log"))).unwrap_or_default()
    }

    /// SIGTERM to replica `i`; waits for it to exit 0, starts it again on
    /// its port and waits until it is healthy. Returns (old pid, new pid).
    pub async fn restart(&mut self, i: usize) -> (u32, u32) {
        let old = self.replicas[i].id();
        let sent = Command::new("kill")
            .args(["-TERM", &old.to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {old}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.replicas[i].try_wait().expect("try_wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "replica {i} did not exit");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            status.success(),
            "replica {i} exited with {status}; log: {}",
            self.replica_log(i)
        );
        self.replicas[i] = self.spawn_replica(i);
        self.wait_healthy(i).await;
        (old, self.replicas[i].id())
    }

    /// nginx's access log: (replica port, upstream status, status, method, path)
    /// per request; a request passed on lists every replica it tried.
    pub fn access_log(&self) -> Vec<(Vec<u16>, String, u16, String, String)> {
        let text = fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let f: Vec<&str> = line.split('|').collect();
                assert_eq!(f.len(), 5, "{line}");
                let ports = f[0]
                    .split([',', ':'])
                    .filter_map(|p| p.trim().parse().ok())
                    .filter(|p| self.ports.contains(p))
                    .collect();
                let status = f[2].parse().expect("status");
                (ports, f[1].into(), status, f[3].into(), f[4].into())
            })
            .collect()
    }

    /// Requests each replica answered through nginx (by its port).
    pub fn answered_by(&self) -> BTreeMap<u16, usize> {
        let mut counts: BTreeMap<u16, usize> = self.ports.iter().map(|p| (*p, 0)).collect();
        for (ports, ..) in self.access_log() {
            if let Some(last) = ports.last() {
                *counts.entry(*last).or_default() += 1;
            }
        }
        counts
    }

    /// Every replica answered a fair share (a quarter of an even split) of
    /// what went through nginx.
    pub fn assert_spread(&self) {
        let counts = self.answered_by();
        let total: usize = counts.values().sum();
        assert!(
            counts.values().all(|&n| n * REPLICAS * 4 >= total && n > 0),
            "requests not spread over the replicas: {counts:?}"
        );
        println!("requests per replica port through nginx: {counts:?}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.nginx.iter_mut().chain(&mut self.replicas) {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("logs kept in {}", self.dir.display());
        }
    }
}

fn log_file(path: &Path) -> File {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .expect("log file")
}

// The races of tests/api/races.rs (run in-process by concurrency.rs), each
// writer reaching another replica.

#[tokio::test]
async fn through_the_balancer_a_settlement_racing_an_edit_is_never_undone() {
    let cluster = Cluster::start(&[]).await;
    races::settlement_racing_edit(&cluster.app).await;
    cluster.assert_spread();
}

#[tokio::test]
async fn through_the_balancer_concurrent_edits_of_different_fields_all_survive() {
    let cluster = Cluster::start(&[]).await;
    races::edits_of_different_fields(&cluster.app).await;
    cluster.assert_spread();
}

#[tokio::test]
async fn through_the_balancer_adding_a_friend_while_they_register_makes_them_friends() {
    let cluster = Cluster::start(&[]).await;
    races::friend_added_while_registering(&cluster.app).await;
    cluster.assert_spread();
}

#[tokio::test]
async fn a_deactivated_token_is_refused_everywhere_within_the_status_cache_time() {
    // A route that trusts the token and the status cache alone (the profile
    // reads the user document itself, so it would notice at once).
    const PROBE: &str = "/v1/expenses";
    const CACHE: Duration = Duration::from_secs(2);
    let cluster = Cluster::start(&[("APP__AUTH__STATUS_CACHE_SECONDS", "2")]).await;
    let al = cluster.app.user("Al").await;
    let mut targets: Vec<(String, TestApp)> = (0..REPLICAS)
        .map(|i| (format!("replica {i}"), cluster.direct(i)))
        .collect();
    targets.push(("nginx".into(), cluster.direct(0)));
    targets.last_mut().expect("nginx").1.address = cluster.app.address.clone();
    // Every replica has just seen the token work, so each caches "active".
    for (name, app) in &targets {
        let (status, body) = app.get(PROBE, &al.token).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }

    let (status, body) = cluster
        .direct(0)
        .delete("/v1/users/deactivate-user", &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deactivated = Instant::now();

    let limit = CACHE + Duration::from_millis(500);
    let mut refused_after: Vec<(String, Duration)> = Vec::new();
    for (name, app) in &targets {
        loop {
            let (status, body) = app.get(PROBE, &al.token).await;
            let elapsed = deactivated.elapsed();
            if status == StatusCode::UNAUTHORIZED {
                refused_after.push((name.clone(), elapsed));
                break;
            }
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
            assert!(
                elapsed < limit,
                "{name} still accepts a deactivated account's token after {elapsed:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    println!("deactivated token refused after: {refused_after:?}");
    // The replica that deactivated refuses at once; the others have not
    // been asked for more than their cache lifetime allows.
    assert!(
        refused_after[0].1 < Duration::from_millis(500),
        "{refused_after:?}"
    );
    // Once refused, refused everywhere (the cache now holds "inactive").
    for (name, app) in &targets {
        let (status, _) = app.get(PROBE, &al.token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
    }
    // The login is refused too, through the balancer.
    let (status, _) = cluster.app.login(&al.email, &al.password).await;
    assert_ne!(status, StatusCode::OK);
}

async fn login(app: &TestApp, user: &User, password: &str) -> (StatusCode, Value) {
    app.login(&user.email, password).await
}

#[tokio::test]
async fn the_login_lockout_holds_across_replicas() {
    let cluster = Cluster::start(&[
        ("APP__RATE_LIMIT__ENABLED", "true"),
        ("APP__RATE_LIMIT__AUTH_BURST", "1000"),
        ("APP__RATE_LIMIT__LOGIN_MAX_FAILURES", "3"),
        ("APP__RATE_LIMIT__LOGIN_LOCKOUT_SECONDS", "60"),
    ])
    .await;
    let al = cluster.app.user("Al").await;
    let bo = cluster.app.user("Bo").await;
    // One failed login on each replica: no replica alone saw three.
    for i in 0..REPLICAS {
        let (status, body) = login(&cluster.direct(i), &al, "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "replica {i}: {body}");
    }
    // Locked on every replica and through nginx, even with the right password.
    for i in 0..REPLICAS {
        let (status, body) = login(&cluster.direct(i), &al, &al.password).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "replica {i}: {body}");
    }
    for _ in 0..REPLICAS {
        let (status, body) = login(&cluster.app, &al, &al.password).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "nginx: {body}");
    }
    // Per email: another account logs in on every replica.
    for i in 0..REPLICAS {
        let (status, body) = login(&cluster.direct(i), &bo, &bo.password).await;
        assert_eq!(status, StatusCode::OK, "replica {i}: {body}");
    }
}

/// What one load client did: (operation, status or transport error) of
/// every request that did not answer as expected, and how many did.
#[derive(Default)]
struct Tally {
    ok: BTreeMap<&'static str, usize>,
    failed: Vec<(&'static str, String)>,
}

impl Tally {
    fn record(&mut self, op: &'static str, expected: StatusCode, got: Result<StatusCode, String>) {
        match got {
            Ok(status) if status == expected => *self.ok.entry(op).or_default() += 1,
            Ok(status) => self.failed.push((op, status.to_string())),
            Err(e) => self.failed.push((op, e)),
        }
    }
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<(StatusCode, Value), String> {
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.map_err(|e| format!("{e:?}"))?;
    let status = res.status();
    let text = res.text().await.map_err(|e| format!("{e:?}"))?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// One client's mixed load until `stop`: create, edit, list, settle, log in.
async fn load(app: TestApp, mut payer: User, friend: User, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    let mut round = 0;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let share = |u: &User| json!({ "user": u.id, "amount": 5 });
        let created = send(
            &app,
            Method::POST,
            "/v1/expenses",
            Some(&payer.token),
            Some(json!({
                "description": format!("Taxi {round}"),
                "amount": 10,
                "splitWith": [share(&payer), share(&friend)],
            })),
        )
        .await;
        let id = created
            .as_ref()
            .ok()
            .and_then(|(_, b)| b["data"]["_id"].as_str().map(str::to_string));
        tally.record("create", StatusCode::CREATED, created.map(|r| r.0));
        let Some(id) = id else { continue };
        let path = format!("/v1/expenses/{id}");
        let edit = json!({ "notes": format!("round {round}") });
        let r = send(&app, Method::PUT, &path, Some(&payer.token), Some(edit)).await;
        tally.record("edit", StatusCode::OK, r.map(|r| r.0));
        let r = send(&app, Method::GET, "/v1/expenses", Some(&payer.token), None).await;
        tally.record("list", StatusCode::OK, r.map(|r| r.0));
        let settle = format!("{path}/settle");
        let r = send(
            &app,
            Method::PATCH,
            &settle,
            Some(&friend.token),
            Some(json!({})),
        )
        .await;
        tally.record("settle", StatusCode::OK, r.map(|r| r.0));
        let creds = json!({ "email": payer.email, "password": payer.password });
        let r = send(&app, Method::POST, "/v1/auth/login", None, Some(creds)).await;
        // A client that logs in goes on with its new token (each login is a
        // session, and a user keeps only the latest sessions.max_per_user).
        if let Ok((StatusCode::OK, body)) = &r {
            if let Some(token) = body["data"]["token"].as_str() {
                payer.token = token.to_string();
            }
        }
        tally.record("login", StatusCode::OK, r.map(|r| r.0));
    }
    tally
}

#[tokio::test]
async fn a_rolling_restart_under_load_fails_no_request() {
    const CLIENTS: usize = 6;
    let mut cluster = Cluster::start(&[]).await;
    let mut pairs = Vec::new();
    for c in 0..CLIENTS {
        let (a, b) = (format!("A{c}"), format!("B{c}"));
        pairs.push(cluster.app.friends(&a, &b).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = pairs
        .into_iter()
        .map(|(a, b)| {
            let app = TestApp {
                address: cluster.app.address.clone(),
                admin_address: None,
                client: cluster.app.client.clone(),
                settings: cluster.app.settings.clone(),
            };
            tokio::spawn(load(app, a, b, stop.clone()))
        })
        .collect();

    let started = Instant::now();
    let mut restarts = Vec::new();
    for i in 0..REPLICAS {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let (old, new) = cluster.restart(i).await;
        assert_ne!(old, new, "replica {i} was not restarted");
        restarts.push((i, old, new));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for client in clients {
        let tally = client.await.expect("load client");
        for (op, n) in tally.ok {
            *total.ok.entry(op).or_default() += n;
        }
        total.failed.extend(tally.failed);
    }
    let answered: usize = total.ok.values().sum();
    println!(
        "rolling restart: {answered} requests answered as expected in {:?} ({:?}), \
         {} failed; restarts (replica, old pid, new pid): {restarts:?}",
        started.elapsed(),
        total.ok,
        total.failed.len(),
    );
    let passed_on = cluster
        .access_log()
        .into_iter()
        .filter(|(ports, ..)| ports.len() > 1)
        .map(|(_, upstream, status, method, _)| format!("{method} {upstream} -> {status}"))
        .collect::<Vec<_>>();
    println!("requests nginx passed on to another replica: {passed_on:?}");
    assert!(
        total.failed.is_empty(),
        "failed requests: {:?}",
        total.failed
    );
    assert!(
        total.ok.len() == 5 && total.ok.values().all(|&n| n >= 10),
        "too little load to prove anything: {:?}",
        total.ok
    );
    cluster.assert_spread();
}
