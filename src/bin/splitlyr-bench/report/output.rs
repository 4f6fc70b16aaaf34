//! Output: `latest.json` (everything measured, for tools and later
//! comparisons) and `latest.md` (the same for people), also printed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use super::sections::{
    balance_section, export_section, import_section, picture_section, process_section,
    recurring_section, server_processes, solver_section, ServerProcess,
};
use super::{fmt_num, num, Run, Target};
use crate::{round3, Result};

pub(super) fn write(out: &Path, run: &Run, targets: &[Target]) -> Result<()> {
    let processes = server_processes(&run.meta, &run.rss);
    let result = result_json(run, &processes, targets);
    let md = markdown(run, &processes, targets);
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join("latest.json"),
        serde_json::to_string_pretty(&result)? + "\n",
    )?;
    std::fs::write(out.join("latest.md"), &md)?;
    print!("{md}");
    Ok(())
}

fn result_json(run: &Run, processes: &[ServerProcess], targets: &[Target]) -> Value {
    let targets_json: Vec<Value> = targets
        .iter()
        .map(|t| json!({ "target": t.name, "measured": t.measured, "threshold": t.threshold, "pass": t.pass }))
        .collect();
    json!({
        "generated_at": run.meta.get("finished_at"),
        "mode": run.meta.get("mode"),
        "git": { "commit": run.meta.get("git_commit"), "dirty": run.meta.get("git_dirty").map(|d| d == "true") },
        "machine": {
            "nproc": run.meta.get("nproc").and_then(|v| v.parse::<u64>().ok()),
            "cpu_model": run.meta.get("cpu_model"),
            "mem_total_mb": run.meta.get("mem_total_mb").and_then(|v| v.parse::<u64>().ok()),
            "mem_available_mb": run.meta.get("mem_available_mb").and_then(|v| v.parse::<u64>().ok()),
            "kernel": run.meta.get("kernel"),
            "loadavg_start": run.meta.get("loadavg_start"),
            "loadavg_end": run.meta.get("loadavg_end"),
        },
        "settings": {
            "duration_s": run.meta.get("duration").and_then(|v| v.parse::<f64>().ok()),
            "warmup_s": run.meta.get("warmup").and_then(|v| v.parse::<f64>().ok()),
            "concurrency": run.meta.get("concurrency").and_then(|v| v.parse::<u64>().ok()),
            "wrk_threads": run.meta.get("wrk_threads").and_then(|v| v.parse::<u64>().ok()),
            "expenses": run.expenses().parse::<u64>().ok(),
            "server": run.meta.get("server_settings"),
            "database": run.meta.get("database"),
        },
        "timings_s": {
            "build": run.meta.get("build_s").and_then(|v| v.parse::<f64>().ok()),
            "seed_small": run.meta.get("seed_small_s").and_then(|v| v.parse::<f64>().ok()),
            "seed_large": run.meta.get("seed_large_s").and_then(|v| v.parse::<f64>().ok()),
            "seed_export": run.meta.get("seed_export_s").and_then(|v| v.parse::<f64>().ok()),
            "server_first_start_small": run.meta.get("start_first_small_s").and_then(|v| v.parse::<f64>().ok()),
            "server_first_start_large": run.meta.get("start_first_large_s").and_then(|v| v.parse::<f64>().ok()),
            "server_restart_small": run.meta.get("start_serve_small_s").and_then(|v| v.parse::<f64>().ok()),
            "server_restart_large": run.meta.get("start_serve_large_s").and_then(|v| v.parse::<f64>().ok()),
            "server_restart_pictures": run.meta.get("start_pictures_large_s").and_then(|v| v.parse::<f64>().ok()),
            "total_until_report": run.meta.get("total_s").and_then(|v| v.parse::<f64>().ok()),
        },
        "seed": run.seeds,
        "bcrypt": run.bcrypt,
        "settle_solver": run.settle,
        "pictures": {
            "note": "Each upload is a different picture (the photo with some bytes of its JPEG quantization table raised by 0 or 1 per request), so each one is decoded, re-encoded and stored, replacing the user's previous photo. The GET scenarios read the focus users' photos, without a token; the 304 one sends each photo's ETag in If-None-Match and counts any other status as unexpected.",
            "photo": run.photo,
            "upload_concurrency": run.meta.get("upload_concurrency").and_then(|v| v.parse::<u64>().ok()),
            "upload_rss": run.upload_rss,
            "stalled_bodies": run.stalled,
        },
        "rss_mib": {
            // What target 5 uses: idle of the serving processes, peak of all.
            "idle": round3(run.mib("idle_kb_serve")),
            "peak": round3(run.mib("peak_kb")),
            "idle_all_processes": round3(run.mib("idle_kb")),
            "serving_idle": round3(run.mib("idle_kb_serve")),
            "serving_peak": round3(run.mib("peak_kb_serve")),
            "first_start_idle": round3(run.mib("idle_kb_first")),
            "first_start_peak": round3(run.mib("peak_kb_first")),
            "per_process": run.rss.iter().map(|(k, v)| (k.clone(), v.parse::<f64>().map(|kb| round3(kb / 1024.0)).ok())).collect::<BTreeMap<_, _>>(),
        },
        "server_processes": processes.iter().map(|p| json!({
            "database": p.database, "role": p.role, "expenses": p.expenses,
            "start_to_healthy_s": p.start_s, "idle_rss_mib": round3(p.idle_mib), "peak_rss_mib": round3(p.peak_mib),
        })).collect::<Vec<_>>(),
        "balance_comparison": {
            "note": "The @1k database concentrates its 1,000 expenses on the focus users and groups, and the balance scenarios of both databases rotate over them. Before this, the @1k expenses were spread over all 1,000 users and the scenarios rotated over everyone, so @1k responses held far fewer balances than at the large size: that ratio measured response size, not history size.",
            "focus_users": run.meta.get("focus_users").and_then(|v| v.parse::<u64>().ok()),
            "focus_groups": run.meta.get("focus_groups").and_then(|v| v.parse::<u64>().ok()),
            "seeded_small": run.seeds.get("small").map(|s| json!({ "focus": s["balances_focus"], "all": s["balances_all"], "all_if_spread": s["balances_all_if_spread"] })),
            "seeded_large": run.seeds.get("large").map(|s| json!({ "focus": s["balances_focus"], "all": s["balances_all"] })),
        },
        "export": run.export,
        "import": run.import,
        "recurring": run.recurring,
        "scenarios": run.rows,
        "targets": targets_json,
        "targets_passed": targets.iter().filter(|t| t.pass).count(),
        "targets_total": targets.len(),
    })
}

fn markdown(run: &Run, processes: &[ServerProcess], targets: &[Target]) -> String {
    let mut md = header(run);
    md.push_str(&scenario_tables(run));
    md.push_str(&solver_section(&run.settle));
    md.push_str(&balance_section(&run.by_name, &run.seeds, &run.meta));
    md.push_str(&process_section(processes));
    md.push_str(&picture_section(
        &run.by_name,
        &run.photo,
        &run.upload_rss,
        &run.meta,
    ));
    md.push_str(&export_section(&run.export, &run.meta));
    md.push_str(&import_section(&run.import));
    md.push_str(&recurring_section(&run.recurring));
    md.push_str("\n## Targets\n\n| target | measured | threshold | result |\n|---|---|---|---|\n");
    for t in targets {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            t.name,
            t.measured,
            t.threshold,
            if t.pass { "PASS" } else { "FAIL" }
        );
    }
    md
}

/// The run: when, what load, which server, database and data.
fn header(run: &Run) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Splitlyr benchmark ({} run)\n", run.meta_or("mode"));
    let _ = writeln!(
        md,
        "- When: {} · commit `{}`{} · machine: {} × {}, {} MiB RAM ({} MiB available at start)",
        run.meta_or("finished_at"),
        run.meta_or("git_commit"),
        if run.meta_or("git_dirty") == "true" {
            " (+ uncommitted changes)"
        } else {
            ""
        },
        run.meta_or("nproc"),
        run.meta_or("cpu_model"),
        run.meta_or("mem_total_mb"),
        run.meta_or("mem_available_mb"),
    );
    let _ = writeln!(
        md,
        "- Load: wrk, {} s per scenario after {} s warm-up (none for logins), {} connections ({} for logins, {} for picture uploads, {} threads), users rotate per request; page 50 uses users with ≥ 500 expenses; the balance scenarios rotate over the {} focus users and the members of the {} focus groups",
        run.meta_or("duration"), run.meta_or("warmup"), run.meta_or("concurrency"), run.meta_or("login_concurrency"), run.meta_or("upload_concurrency"), run.meta_or("wrk_threads"),
        run.meta_or("focus_users"), run.meta_or("focus_groups"),
    );
    let _ = writeln!(
        md,
        "- Load average (1/5/15 min) at start: {}; at the end: {} (the machine is shared: other work skews the numbers)",
        run.meta_or("loadavg_start"),
        run.meta_or("loadavg_end"),
    );
    let _ = writeln!(md, "- Server: {}", run.meta_or("server_settings"));
    let _ = writeln!(md, "- Database: {}", run.meta_or("database"));
    if let Some(large) = run.seeds.get("large") {
        let _ = writeln!(
            md,
            "- Data: {} users × {} mutual friends, {} groups, {} expenses ({} group, {} between friends; {} of splits settled, {} expenses fully settled); a second database with {} expenses, all involving the first {} users or the first {} groups (the focus users and groups), for the `@1k` rows",
            large["users"], large["friends_per_user"], large["groups"], large["expenses"],
            large["group_expenses"], large["friend_expenses"],
            large["settled_split_share"].as_f64().map_or("?".into(), |s| format!("{:.0}%", s * 100.0)),
            large["settled_expenses"],
            run.seeds.get("small").map_or(Value::Null, |s| s["expenses"].clone()),
            run.meta_or("focus_users"),
            run.meta_or("focus_groups"),
        );
    }
    let _ = writeln!(
        md,
        "- Wall clock: build {} s, seeding {} s (1k) + {} s ({}), first server start to healthy {} s (1k) + {} s ({}, ledger build), whole run {} s",
        run.meta_or("build_s"),
        run.meta_or("seed_small_s"),
        run.meta_or("seed_large_s"),
        run.expenses(),
        run.meta_or("start_first_small_s"),
        run.meta_or("start_first_large_s"),
        run.expenses(),
        run.meta_or("total_s"),
    );
    md
}

/// A row per scenario: rates, latencies, errors, commands; then CPU.
fn scenario_tables(run: &Run) -> String {
    let mut md = String::new();
    md.push_str("\n| scenario | expenses | conns | req/s | p50 ms | p90 ms | p99 ms | errors (unexpected status / socket) | db cmds/req | bytes/resp (with headers) |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in &run.rows {
        let lat = |p: &str| fmt_num(num(r, &["latency_ms", p]), 2);
        let shared = r["db_cmds_shared_with"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {}{} | {} |",
            r["scenario"].as_str().unwrap_or("?"),
            r["expenses"],
            r["concurrency"],
            fmt_num(num(r, &["rps"]), 1),
            lat("p50"),
            lat("p90"),
            lat("p99"),
            r["unexpected"],
            r["socket_errors_total"],
            fmt_num(num(r, &["db_cmds_per_req"]), 2),
            if shared { "*" } else { "" },
            r["bytes_per_response"],
        );
    }
    md.push_str("\n\\* measured while the other scenario of the pair ran: commands (and CPU below) of both, per request of both.\n");
    for r in run.rows.iter().filter(|r| r["expected_status"].is_number()) {
        let _ = writeln!(
            md,
            "\nUnexpected status: non-2xx, except in `{}`, which expects {} to every request: {} of {} answers were {}.",
            r["name"].as_str().unwrap_or("?"),
            r["expected_status"],
            fmt_num(num(r, &["requests"]) - num(r, &["unexpected"]), 0),
            r["requests"],
            r["expected_status"],
        );
    }
    md.push_str("\nWhere the CPU went during each measured window (average cores busy; CPU ms per request). \"other\" is everything else on the machine.\n\n| scenario | server cores | db cores | wrk cores | other cores | server CPU ms/req | db CPU ms/req |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for r in &run.rows {
        let c = |k: &str| fmt_num(num(r, &["cpu", k]), 2);
        let cm = |k: &str| fmt_num(num(r, &["cpu", k]), 3);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r["scenario"].as_str().unwrap_or("?"),
            c("server_cores"),
            c("db_cores"),
            c("wrk_cores"),
            c("other_cores"),
            cm("server_cpu_ms_per_req"),
            cm("db_cpu_ms_per_req"),
        );
    }
    let _ = writeln!(
        md,
        "\nRaw bcrypt (cost {}): {} verifies/s on {} threads.",
        run.bcrypt["cost"],
        fmt_num(num(&run.bcrypt, &["verifies_per_s"]), 2),
        run.bcrypt["threads"],
    );
    md
}
