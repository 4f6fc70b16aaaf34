//! Targets: the ten checks of a run, each measured against its threshold.

use serde_json::Value;

use super::{fmt_num, num, Run, Target};

pub(super) fn targets(run: &Run) -> Vec<Target> {
    vec![
        profile(run),
        balances(run),
        page_50(run),
        login(run),
        memory(run),
        statuses(run),
        upgrade(run),
        solver(run),
        uploads(run),
        crate::stalled::target(&run.stalled).into(),
    ]
}

/// `a` as a percentage of `b`; NaN when `b` is not positive.
fn pct(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        100.0 * a / b
    } else {
        f64::NAN
    }
}

fn target(name: impl Into<String>, measured: String, threshold: &str, pass: bool) -> Target {
    Target {
        name: name.into(),
        measured,
        threshold: threshold.into(),
        pass,
    }
}

/// Target 1: the profile read against healthz.
fn profile(run: &Run) -> Target {
    let r = pct(run.rps("profile"), run.rps("healthz"));
    target(
        "1. profile req/s ≥ 70% of healthz req/s",
        format!(
            "{}% ({} vs {})",
            fmt_num(r, 1),
            fmt_num(run.rps("profile"), 0),
            fmt_num(run.rps("healthz"), 0)
        ),
        "≥ 70%",
        r >= 70.0,
    )
}

/// Target 2: balances at the large size against 1,000 expenses (the same
/// focus users and groups).
fn balances(run: &Run) -> Target {
    let rps = |name: &str| run.rps(name);
    let b = pct(rps("balances_large"), rps("balances_small"));
    let g = pct(rps("group_balance_large"), rps("group_balance_small"));
    let entries = |name: &str| fmt_num(run.get(name, &["nonzero_balances_per_response"]), 1);
    target(
        format!(
            "2. balances and group balance at {} expenses ≥ 80% of at 1,000 (same focus users and groups)",
            run.expenses()
        ),
        format!(
            "balances {}% ({} vs {} req/s; {} vs {} non-zero balances/response), group balance {}% ({} vs {} req/s; {} vs {} non-zero members/response)",
            fmt_num(b, 1),
            fmt_num(rps("balances_large"), 0),
            fmt_num(rps("balances_small"), 0),
            entries("balances_large"),
            entries("balances_small"),
            fmt_num(g, 1),
            fmt_num(rps("group_balance_large"), 0),
            fmt_num(rps("group_balance_small"), 0),
            entries("group_balance_large"),
            entries("group_balance_small"),
        ),
        "both ≥ 80%",
        b >= 80.0 && g >= 80.0,
    )
}

/// Target 3: a deep page against the first.
fn page_50(run: &Run) -> Target {
    let r = pct(run.rps("expenses_page50"), run.rps("expenses_page1"));
    let empty = run
        .by_name
        .get("expenses_page50")
        .and_then(|v| v["users_filter_fell_back"].as_bool())
        .unwrap_or(false);
    target(
        "3. expenses page 50 req/s ≥ 70% of page 1",
        format!(
            "{}% ({} vs {}){}",
            fmt_num(r, 1),
            fmt_num(run.rps("expenses_page50"), 0),
            fmt_num(run.rps("expenses_page1"), 0),
            if empty {
                " — no user has 500 expenses at this size: page 50 is empty"
            } else {
                ""
            }
        ),
        "≥ 70%",
        r >= 70.0,
    )
}

/// Target 4: healthz under login saturation, and logins against raw bcrypt.
fn login(run: &Run) -> Target {
    let bcrypt_rate = num(&run.bcrypt, &["verifies_per_s"]);
    let p99 = run.get("healthz_under_login", &["latency_ms", "p99"]);
    let l = pct(run.rps("login"), bcrypt_rate);
    target(
        "4. healthz p99 under login saturation < 50 ms; login req/s ≥ 80% of raw bcrypt verify rate",
        format!(
            "p99 {} ms; login {} req/s = {}% of {} verifies/s",
            fmt_num(p99, 1),
            fmt_num(run.rps("login"), 2),
            fmt_num(l, 1),
            fmt_num(bcrypt_rate, 2)
        ),
        "< 50 ms; ≥ 80%",
        p99 < 50.0 && l >= 80.0,
    )
}

/// Target 5: idle memory of the serving processes (a first start's idle is
/// what the ledger build left behind), peak of every process, first starts too.
fn memory(run: &Run) -> Target {
    let peak = run.mib("peak_kb");
    let idle = run.mib("idle_kb_serve");
    target(
        "5. peak RSS ≤ 100 MiB (all server processes, first starts included) and idle RSS ≤ 30 MiB (serving processes)",
        format!(
            "peak {} MiB, idle {} MiB (serving processes: peak {} MiB, idle {} MiB; first start building the ledger from the seeded expenses: peak {} MiB, idle {} MiB; picture scenarios: peak {} MiB)",
            fmt_num(peak, 1),
            fmt_num(idle, 1),
            fmt_num(run.mib("peak_kb_serve"), 1),
            fmt_num(run.mib("idle_kb_serve"), 1),
            fmt_num(run.mib("peak_kb_first"), 1),
            fmt_num(run.mib("idle_kb_first"), 1),
            fmt_num(run.mib("peak_kb_pictures"), 1),
        ),
        "≤ 100 MiB; ≤ 30 MiB",
        peak <= 100.0 && idle <= 30.0,
    )
}

/// Target 6: no unexpected status in any scenario.
fn statuses(run: &Run) -> Target {
    let unexpected_total: f64 = run.rows.iter().map(|r| num(r, &["unexpected"])).sum();
    let failing: Vec<String> = run
        .rows
        .iter()
        .filter(|r| num(r, &["unexpected"]) != 0.0)
        .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    target(
        "6. zero non-2xx responses in every scenario (where 304 is expected: zero other than 304)",
        if failing.is_empty() {
            "0 unexpected".into()
        } else {
            format!("{unexpected_total} unexpected in: {}", failing.join(", "))
        },
        "0",
        failing.is_empty() && !run.rows.is_empty(),
    )
}

/// Target 7: taking over the old server's database: the first start on its
/// documents upgrades them and builds the ledger.
fn upgrade(run: &Run) -> Target {
    let seconds = run
        .meta
        .get("start_first_legacy_s")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    let peak = run.mib("peak_kb_first_legacy");
    target(
        format!(
            "7. upgrade of {} old-server expenses on first start: time to healthy < 60 s, peak RSS < 100 MiB",
            run.meta.get("legacy_expenses").map_or("?", String::as_str)
        ),
        format!("{} s, peak {} MiB", fmt_num(seconds, 1), fmt_num(peak, 1)),
        "< 60 s; < 100 MiB",
        seconds < 60.0 && peak < 100.0,
    )
}

/// Target 8: the settle-up solver.
fn solver(run: &Run) -> Target {
    let settle = &run.settle;
    let max = num(settle, &["max_ms"]);
    target(
        "8. settle-up solver, 20 non-zero balances, max < 50 ms",
        format!(
            "max {} ms, p50 {} ms ({} solves of {} instances, in-process)",
            fmt_num(max, 2),
            fmt_num(num(settle, &["p50_ms"]), 2),
            settle["solves"],
            settle["instances"],
        ),
        "< 50 ms",
        max < 50.0,
    )
}

/// Target 9: sampled VmRSS during the uploads (warm-up included), and the
/// process's VmHWM at their end: the kernel's own maximum, which no sampling
/// gap can miss (the process only started before).
fn uploads(run: &Run) -> Target {
    let upload_rss = &run.upload_rss;
    let sampled = num(upload_rss, &["max_mib"]);
    let hwm = num(upload_rss, &["hwm_mib"]);
    target(
        format!(
            "9. peak RSS during {} concurrent {} KB uploads < 100 MiB",
            run.meta_or("upload_concurrency"),
            fmt_num(num(&run.photo, &["kb"]), 0),
        ),
        format!(
            "sampled max {} MiB ({} samples every {} ms over {} s; idle before {} MiB); VmHWM at the end of the uploads {} MiB; {} req/s",
            fmt_num(sampled, 1),
            upload_rss["samples"],
            upload_rss["interval_ms"],
            fmt_num(num(upload_rss, &["seconds"]), 1),
            fmt_num(run.mib("idle_kb_pictures"), 1),
            fmt_num(hwm, 1),
            fmt_num(run.rps("image_upload"), 1),
        ),
        "< 100 MiB (both)",
        sampled < 100.0 && hwm < 100.0,
    )
}
