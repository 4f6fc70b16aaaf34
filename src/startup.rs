//! Builds the HTTP servers from settings: shared state, middleware, routes;
//! the public server (the API) and the admin listener (see `crate::admin`).
//! Binding happens in `build`, so tests can ask for port 0 and read the real
//! ports.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_governor::Governor;
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders, NormalizePath, TrailingSlash};
use actix_web::{http::header, web, App, HttpServer};
use secrecy::SecretString;
use tracing_actix_web::TracingLogger;

use crate::auth::sessions::SessionPolicy;
use crate::auth::{JwtKeys, UserStatusCache};
use crate::configuration::Settings;
use crate::http::{self, routes};
use crate::images::Pictures;
use crate::metrics::Metrics;
use crate::ratelimit::{limiter, ClientLimit, Limiter};
use crate::state::{AppInfo, AppState, AuthConfig, Links};
use crate::store::readiness::Readiness;
use crate::store::Store;
use crate::tasks::BackgroundTasks;

pub struct Application {
    port: u16,
    admin_port: u16,
    server: Server,
    admin: Server,
    /// The listening socket (the server holds another handle on it).
    listening: TcpListener,
    /// Stopped after the servers have drained.
    tasks: BackgroundTasks,
}

/// Binds `host:port` (port 0: any free one); the listener and its real port.
fn bind(host: &str, port: u16) -> Result<(TcpListener, u16), String> {
    let address = format!("{host}:{port}");
    let listener = TcpListener::bind(&address).map_err(|e| format!("bind {address}: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    Ok((listener, port))
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, String> {
        let metrics = Metrics::new().map_err(|e| format!("metrics: {e}"))?;
        let store = Store::connect(&settings.database, Some(&metrics))
            .await
            .map_err(|e| format!("database configuration: {e}"))?;
        tracing::info!(database = %settings.database.name, "using database");
        let readiness = Readiness::default();
        let mut tasks = BackgroundTasks::default();
        tasks.spawn(
            "prepare the database",
            prepare(
                store.clone(),
                readiness.clone(),
                settings.database.upgrade_batch_size,
            ),
        );
        let (listener, port) = bind(&settings.server.host, settings.server.port)?;
        let (admin_listener, admin_port) =
            bind(&settings.server.admin_host, settings.server.admin_port)?;
        // A second handle on the listening socket, to close it for new
        // connections the moment shutdown starts (see `run_until_stopped`).
        let listening = listener.try_clone().map_err(|e| e.to_string())?;
        let grace = settings.server.shutdown_grace_seconds;
        let (server, admin_data) =
            run(listener, settings, store, metrics, readiness, &mut tasks).await?;
        let admin = crate::admin::server(admin_listener, admin_data, grace)?;
        Ok(Self {
            port,
            admin_port,
            server,
            admin,
            listening,
            tasks,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin listener's port (`/metrics`, the detailed `/v1/healthz`).
    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// Serves until SIGTERM or SIGINT, then stops taking connections and lets
    /// in-flight requests finish within the configured grace period, without
    /// dropping a connection it has accepted (see [`shut_down`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let listening = self.listening;
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!(
                "shutdown signal received; taking no new connections, draining in-flight requests"
            );
            shut_down(handle, listening).await;
        });
        // The admin listener keeps answering health checks and scrapes
        // while the API drains, and stops after it.
        let admin_handle = self.admin.handle();
        let admin = tokio::spawn(self.admin);
        let served = self.server.await;
        admin_handle.stop(true).await;
        if let Ok(Err(e)) = admin.await {
            tracing::warn!(error = %e, "admin listener error");
        }
        self.tasks.stop(TASKS_STOP).await;
        served
    }
}

/// How long the background tasks get to stop once the servers have drained.
const TASKS_STOP: Duration = Duration::from_secs(5);

/// How long connections the kernel had already accepted get to reach a worker.
const HANDOVER: Duration = Duration::from_millis(100);
/// How long the accept thread gets to stop once told to.
const ACCEPT_STOP: Duration = Duration::from_millis(50);

/// Stops without resetting a connection a load balancer may already have
/// sent a request on. Stopping the server outright closes its listening
/// socket with whatever connections the kernel had queued but the server had
/// not yet taken: they are reset, and a balancer that had sent a POST on one
/// answers 502 (it must not send a POST twice). Instead:
/// 1. new connection attempts get no answer (a socket filter drops their
///    SYN; the client sends it again a second later), while the queued ones
///    are still taken and served;
/// 2. after a moment the server stops taking connections and drains;
/// 3. the socket stops listening, so the repeated attempts are refused at
///    once, which a balancer passes on to another replica (nothing was sent).
async fn shut_down(handle: actix_web::dev::ServerHandle, listening: TcpListener) {
    let socket = socket2::SockRef::from(&listening);
    if let Err(e) = drop_new_connections(&socket) {
        tracing::warn!(error = %e, "could not filter the listening socket");
    }
    tokio::time::sleep(HANDOVER).await;
    let drained = handle.stop(true);
    tokio::time::sleep(ACCEPT_STOP).await;
    if let Err(e) = socket.shutdown(std::net::Shutdown::Read) {
        tracing::warn!(error = %e, "could not close the listening socket");
    }
    drained.await;
}

/// Attaches `ret #0`, a classic BPF program that drops every packet, to the
/// listening socket: SYNs no longer reach it, established connections (their
/// own sockets) are untouched.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn drop_new_connections(socket: &socket2::SockRef<'_>) -> std::io::Result<()> {
    const RET_CONSTANT: u16 = 0x06;
    socket.attach_filter(&[socket2::SockFilter::new(RET_CONSTANT, 0, 0, 0)])
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn drop_new_connections(_: &socket2::SockRef<'_>) -> std::io::Result<()> {
    Ok(())
}

/// Prepares the database (indexes, the schema upgrade, the ledger) while the
/// server already listens: `/v1/livez` answers at once, `/v1/healthz` and the
/// API answer 503 until the database is ready. A database that cannot be
/// reached is retried until it can.
async fn prepare(store: Store, readiness: Readiness, batch: usize) {
    let mut delay = Duration::from_millis(500);
    loop {
        match store.prepare(&readiness, batch).await {
            Ok(()) => {
                tracing::info!("database ready");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "could not prepare the database; will retry");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn security_headers(hsts: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ));
    if hsts {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// Once the database is ready, and then every `sweep_interval`: removes
/// stored picture bytes nothing refers to (left by a crash between an upload
/// and its transaction), and prunes the per-user upload limiter.
async fn sweep_pictures(state: web::Data<AppState>) {
    /// An upload's transaction is long done after this.
    const GRACE: Duration = Duration::from_secs(15 * 60);
    let (store, readiness, pictures) = (&state.store, &state.readiness, &state.pictures);
    while !readiness.wait_ready(Duration::from_secs(60)).await {}
    let mut tick = tokio::time::interval(pictures.sweep_interval());
    loop {
        tick.tick().await;
        pictures.prune();
        match store.sweep_images(GRACE).await {
            Ok(0) => {}
            Ok(n) => {
                pictures.swept(n);
                tracing::info!(files = n, "removed picture files nothing referred to");
            }
            Err(e) => tracing::warn!(error = ?e, "picture sweep failed; will retry"),
        }
    }
}

/// Numbers new journal entries and fills the sync feeds: soon after this
/// process writes one (gathering for `GATHER`, so a busy server numbers
/// many in one run), and every `FALLBACK` in any case, for entries left by
/// other processes (each numbers its own, and every replica may: see
/// `store::journal::sequence`). An idle server polls nothing more often.
/// During the rolling deploy that introduced the journal
/// (`database.backfill_minutes` from its upgrade), also back-fills the
/// entries of changes made by replicas of the previous release
/// (`store::journal::backfill`).
async fn sequence_journal(state: web::Data<AppState>, backfill: (Duration, Duration)) {
    use crate::store::journal::backfill::Backfill;
    const BATCH: i64 = 500;
    const GATHER: Duration = Duration::from_millis(200);
    const FALLBACK: Duration = Duration::from_secs(2);
    let (window, every) = backfill;
    let (store, readiness) = (&state.store, &state.readiness);
    while !readiness.wait_ready(Duration::from_secs(60)).await {}
    // Only in the rolling deploy that introduced the journal: no release
    // before it can be writing at any other time.
    let until = match store.backfill_until(window).await {
        Ok(until) => until,
        Err(e) => {
            tracing::warn!(error = ?e, "could not read when the journal started; back-filling for the window");
            Some(std::time::SystemTime::now() + window)
        }
    };
    let mut backfill = Backfill::default();
    let mut last_backfill: Option<Instant> = None;
    loop {
        tokio::select! {
            () = store.journal_woken() => tokio::time::sleep(GATHER).await,
            () = tokio::time::sleep(FALLBACK) => {}
        }
        let due = last_backfill.is_none_or(|at| at.elapsed() >= every);
        if due && until.is_some_and(|t| std::time::SystemTime::now() < t) {
            last_backfill = Some(Instant::now());
            match store.backfill_pass(&mut backfill).await {
                Ok(f) if f.changed + f.deleted > 0 => tracing::info!(
                    changed = f.changed,
                    deleted = f.deleted,
                    "journaled changes made by a previous release"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = ?e, "journal back-fill failed; will retry"),
            }
        }
        loop {
            match store.sequence_journal(BATCH).await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = ?e, "numbering the journal failed; will retry");
                    break;
                }
            }
        }
    }
}

/// Removes for good, every hour, what was deleted longer ago than it can be
/// restored (with its comments and receipt), and the journal past its
/// retention.
async fn purge_trash(state: web::Data<AppState>) {
    let (store, readiness) = (&state.store, &state.readiness);
    while !readiness.wait_ready(Duration::from_secs(60)).await {}
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match store
            .purge_trash(crate::app::expenses::RESTORE_WINDOW, 1000)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged deleted expenses and payments"),
            Err(e) => tracing::warn!(error = ?e, "purging the trash failed; will retry"),
        }
        match store.purge_journal(crate::store::journal::RETENTION).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged journal entries past their retention"),
            Err(e) => tracing::warn!(error = ?e, "purging the journal failed; will retry"),
        }
    }
}

/// Creates the occurrences of recurring series that fell due, every second
/// and whenever a series was just created or resumed, in every replica (the
/// occurrences' transactions make each one happen once:
/// `store::recurring`); after downtime it catches up, a bounded number per
/// run.
async fn create_recurring(state: web::Data<AppState>) {
    use crate::app::recurring::{run_due, PER_RUN};
    while !state.readiness.wait_ready(Duration::from_secs(60)).await {}
    loop {
        match run_due(&state).await {
            // A full run: more may be waiting.
            Ok(made) if made >= PER_RUN => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "creating recurring expenses failed; will retry"),
        }
        tokio::select! {
            _ = state.recurring_wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Refreshes the exchange rates from the configured source once the
/// database is ready, then every `interval` (`app::rates::source`).
async fn refresh_rates(
    state: web::Data<AppState>,
    source: crate::app::rates::source::Source,
    interval: Duration,
) {
    while !state.readiness.wait_ready(Duration::from_secs(60)).await {}
    crate::app::rates::source::refresh_daily(source, state.store.clone(), interval).await
}

/// Drops rate-limiter state of clients not seen recently, so memory stays bounded.
async fn prune_limiters(limiters: Vec<Limiter>, state: web::Data<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        for l in &limiters {
            l.limiter().retain_recent();
            l.limiter().shrink_to_fit();
        }
        state.sessions.refreshes.prune();
    }
}

/// The public server, and the state the admin listener shares with it.
async fn run(
    listener: TcpListener,
    settings: Settings,
    store: Store,
    metrics: Metrics,
    readiness: Readiness,
    tasks: &mut BackgroundTasks,
) -> Result<(Server, web::Data<AppState>), String> {
    let secret = settings
        .jwt
        .secret
        .clone()
        .unwrap_or_else(|| SecretString::from(""));
    let cost = settings.auth.bcrypt_cost;
    let dummy_hash = crate::auth::password::hash("not-a-real-password".into(), cost)
        .await
        .map_err(|e| format!("bcrypt: {e}"))?;
    let rl = &settings.rate_limit;
    let general = limiter(rl, rl.general_burst, rl.general_period_ms);
    let strict_auth = limiter(rl, rl.auth_burst, rl.auth_period_ms);
    let strict_contact = limiter(rl, rl.contact_burst, rl.contact_period_ms);
    let other = limiter(rl, rl.other_burst, rl.other_period_ms);
    let client_ip = crate::ratelimit::ClientIp::new(rl.trusted_proxies.clone());
    let state = web::Data::new(AppState {
        pictures: Pictures::new(
            &settings.images,
            &settings.server,
            rl.enabled,
            metrics.images.clone(),
        ),
        jwt: JwtKeys::new(&secret, settings.jwt.expires_in),
        auth: AuthConfig {
            bcrypt_cost: cost,
            dummy_hash,
            login_policy: crate::store::logins::LoginPolicy::from_settings(&settings.rate_limit),
            accept_legacy_tokens: settings.auth.accept_legacy_tokens,
        },
        status_cache: UserStatusCache::new(Duration::from_secs(settings.auth.status_cache_seconds)),
        sessions: SessionPolicy::new(&settings.sessions, &secret, settings.rate_limit.enabled),
        info: AppInfo {
            started: Instant::now(),
            environment: settings.environment.as_str(),
            database_name: settings.database.name.clone(),
            health_timeout: settings.database.health_timeout(),
        },
        readiness,
        ready_wait: Duration::from_millis(settings.server.ready_wait_ms),
        auth_limit: ClientLimit::new(&strict_auth, client_ip.clone()),
        client_ip,
        links: Links::new(&settings.images.public_base_url),
        store,
        metrics,
        recurring_wake: tokio::sync::Notify::new(),
    });
    let limiters = vec![
        general.clone(),
        strict_auth.clone(),
        strict_contact.clone(),
        other.clone(),
    ];
    tasks.spawn(
        "prune the limiters",
        prune_limiters(limiters, state.clone()),
    );
    tasks.spawn("sweep the pictures", sweep_pictures(state.clone()));
    tasks.spawn(
        "number the journal",
        sequence_journal(state.clone(), settings.database.backfill()),
    );
    tasks.spawn("purge the trash", purge_trash(state.clone()));
    tasks.spawn("create recurring expenses", create_recurring(state.clone()));
    if let Some(source) = crate::app::rates::source::Source::new(&settings.rates)? {
        let interval = settings.rates.refresh_interval();
        tasks.spawn(
            "refresh the exchange rates",
            refresh_rates(state.clone(), source, interval),
        );
    }
    let public_metrics = settings.server.public_metrics;
    let body_limit = settings.server.body_limit_bytes;
    let origins = settings.cors.allowed_origins.clone();
    let hsts = settings.server.hsts;
    let deadline = http::idempotency::Deadline {
        request: settings.database.request_deadline(),
        upload_body: Duration::from_millis(settings.server.body_read_timeout_ms),
    };
    let shared = state.clone();

    let mut server = HttpServer::new(move || {
        let limits = routes::Limiters {
            general: &general,
            auth: &strict_auth,
            contact: &strict_contact,
        };
        App::new()
            .app_data(shared.clone())
            // Turns on `http::idempotency::guard` (keys, the deadline) on this listener.
            .app_data(deadline)
            .app_data(http::json_config(body_limit))
            .app_data(http::payload_config(body_limit))
            .app_data(http::query_config())
            .app_data(http::path_config())
            .wrap(NormalizePath::new(TrailingSlash::Trim))
            .wrap(crate::cors::cors(&origins))
            .wrap(from_fn(crate::cors::refusals_in_envelope))
            .wrap(security_headers(hsts))
            .wrap(from_fn(http::middleware::track))
            .wrap(from_fn(crate::telemetry::request_log))
            .wrap(TracingLogger::default())
            // The probes and the API description: outside the `/v1` scope
            // (no readiness gate), in the API's bucket.
            .configure(|cfg| routes::register(cfg, routes::probes(), &limits))
            .configure(|cfg| routes::register(cfg, routes::docs(), &limits))
            .service(
                web::scope("/v1")
                    .wrap(from_fn(http::health::ready_gate))
                    .wrap(Governor::new(&general))
                    .configure(|cfg| routes::register_api(cfg, routes::endpoints(), &limits)),
            )
            // Everything else: `/metrics` (unless only the admin listener
            // serves it), `/`, unknown paths, in a bucket of their own so the
            // API's traffic never holds back a scrape.
            .service(
                web::scope("")
                    .wrap(Governor::new(&other))
                    .configure(|cfg| {
                        if public_metrics {
                            routes::register_plain(cfg, vec![routes::public_metrics()]);
                        }
                    })
                    .default_service(web::to(http::not_found)),
            )
            // Unknown paths under `/v1`, behind the API's limiter.
            .default_service(web::to(http::not_found))
    })
    .listen(listener)
    .map_err(|e| e.to_string())?
    .disable_signals()
    .shutdown_timeout(settings.server.shutdown_grace_seconds);
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    Ok((server.run(), state))
}
