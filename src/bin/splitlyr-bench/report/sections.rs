//! The Markdown sections that explain a target in detail: the server
//! processes (5), the balances at two sizes (2), the solver (8), the pictures (9),
//! and the export of a group with 100,000 expenses.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::Value;

use super::{fmt_num, num};

/// One server process of the run: the first start on a freshly seeded
/// database (indexes, ledger built from the expenses) or the restarted one
/// that served the scenarios.
pub(super) struct ServerProcess {
    pub(super) database: &'static str,
    pub(super) role: &'static str,
    pub(super) expenses: Option<u64>,
    pub(super) start_s: Option<f64>,
    pub(super) idle_mib: f64,
    pub(super) peak_mib: f64,
}

pub(super) fn server_processes(
    meta: &BTreeMap<String, String>,
    rss: &BTreeMap<String, String>,
) -> Vec<ServerProcess> {
    let kb = |k: String| rss.get(&k).and_then(|v| v.parse::<f64>().ok());
    let mut out = Vec::new();
    for database in ["small", "large", "export"] {
        let expenses = match database {
            "small" => Some(1000),
            "large" => meta.get("expenses").and_then(|v| v.parse().ok()),
            _ => meta.get("export_rows").and_then(|v| v.parse().ok()),
        };
        for role in ["first", "serve", "pictures"] {
            let tag = format!("{role}_{database}");
            let (Some(idle), Some(peak)) =
                (kb(format!("idle_kb_{tag}")), kb(format!("peak_kb_{tag}")))
            else {
                continue;
            };
            out.push(ServerProcess {
                database,
                role: match role {
                    "first" => "first start (builds indexes and the ledger)",
                    "serve" if database == "export" => "serving (restart, the export downloads)",
                    "serve" => "serving (restart, runs the scenarios)",
                    _ => "serving the picture scenarios (restart)",
                },
                expenses,
                start_s: meta
                    .get(&format!("start_{tag}_s"))
                    .and_then(|v| v.parse().ok()),
                idle_mib: idle / 1024.0,
                peak_mib: peak / 1024.0,
            });
        }
    }
    out
}

pub(super) fn process_section(processes: &[ServerProcess]) -> String {
    let mut md = String::from(
        "\nServer processes. Each database gets a first server start on the freshly seeded data (it builds the indexes and the balance ledger from the expenses), which is stopped once idle; a restart then serves the scenarios. The picture scenarios run on a restart of their own on the large database, so its peak is theirs. Idle RSS is VmRSS once the process is healthy and quiet, peak RSS is VmHWM when it is stopped. Target 5 takes the idle RSS of the serving processes and the peak over all processes.\n\n| database | process | start to healthy s | idle RSS MiB | peak RSS MiB |\n|---|---|---:|---:|---:|\n",
    );
    for p in processes {
        let _ = writeln!(
            md,
            "| {} ({} expenses) | {} | {} | {} | {} |",
            p.database,
            p.expenses.map_or("?".into(), |e| e.to_string()),
            p.role,
            p.start_s.map_or("n/a".into(), |s| format!("{s:.3}")),
            fmt_num(p.idle_mib, 1),
            fmt_num(p.peak_mib, 1),
        );
    }
    md
}

/// Target 2 in detail: the measured non-zero balances per response next to
/// what the seeded data holds for the focus users and groups.
pub(super) fn balance_section(
    by_name: &HashMap<String, Value>,
    seeds: &BTreeMap<String, Value>,
    meta: &BTreeMap<String, String>,
) -> String {
    let m = |k: &str| meta.get(k).cloned().unwrap_or_else(|| "?".into());
    let avg_range = |v: &Value| {
        format!(
            "{} ({}–{})",
            fmt_num(num(v, &["avg"]), 1),
            v["min"],
            v["max"]
        )
    };
    let mut md = format!(
        "\n## Balances at 1,000 vs {n} expenses (target 2)\n\nBoth databases have the same users and groups. The 1,000 expenses of the `@1k` database all involve the focus users (the first {fu}) or the focus groups (the first {fg}): group expenses only in focus groups, friend expenses only created by a focus user or by a friend with the focus user sharing. The balance scenarios of both databases rotate over the focus users (`/users/balances`) and over every member of every focus group (`/group/:id/balance`), so the two rows of each pair return about as many non-zero balances and differ in the length of the history behind them.\n\n| scenario | req/s | non-zero balances per response (measured) | seeded: per focus user or group, avg (min–max) | seeded: ledger rows read per request, avg | bytes/resp |\n|---|---:|---:|---:|---:|---:|\n",
        n = m("expenses"),
        fu = m("focus_users"),
        fg = m("focus_groups"),
    );
    for (name, seed, group) in [
        ("balances_small", "small", false),
        ("balances_large", "large", false),
        ("group_balance_small", "small", true),
        ("group_balance_large", "large", true),
    ] {
        let Some(r) = by_name.get(name) else {
            continue;
        };
        let focus = seeds
            .get(seed)
            .map_or(Value::Null, |s| s["balances_focus"].clone());
        let (shape, rows) = if group {
            (
                format!(
                    "{} non-zero of {} members",
                    avg_range(&focus["nonzero_members"]),
                    fmt_num(num(&focus, &["group_members", "avg"]), 1)
                ),
                num(&focus, &["group_ledger_rows", "avg"]),
            )
        } else {
            (
                format!(
                    "{} friends with a balance",
                    avg_range(&focus["friend_balances"])
                ),
                num(&focus, &["ledger_rows", "avg"]),
            )
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            r["scenario"].as_str().unwrap_or("?"),
            fmt_num(num(r, &["rps"]), 1),
            fmt_num(num(r, &["nonzero_balances_per_response"]), 2),
            shape,
            fmt_num(rows, 1),
            r["bytes_per_response"],
        );
    }
    let all = |seed: &str, key: &str, field: &str| {
        seeds
            .get(seed)
            .map_or(f64::NAN, |s| num(&s[key], &[field, "avg"]))
    };
    let _ = writeln!(
        md,
        "\nSeeded figures are per focus user or group; the measured ones per response, where every member of a focus group asks for its balance, so larger groups weigh more. Ledger rows: the non-zero pair (or group member) documents per currency that the request reads, including counterparties who are not friends (they are not returned) and one row per currency. Earlier runs (up to the first results of the benchmark suite) compared something else: the `@1k` database spread its 1,000 expenses over all 1,000 users and both scenarios rotated over every user, so a user there had {} friends with a non-zero balance on average and a group {} non-zero members, against {} and {} in the {}-expense database (averages over all users and groups of the seeded data). Those ratios (balances 42.7%, group balance 77.4% in the run of commit af38380) mostly measured response size, not history length.",
        fmt_num(all("small", "balances_all_if_spread", "friend_balances"), 1),
        fmt_num(all("small", "balances_all_if_spread", "nonzero_members"), 1),
        fmt_num(all("large", "balances_all", "friend_balances"), 1),
        fmt_num(all("large", "balances_all", "nonzero_members"), 1),
        m("expenses"),
    );
    md
}

/// Target 8 in detail: the solver's timings by kind of instance.
pub(super) fn solver_section(settle: &Value) -> String {
    let mut md = String::new();
    if settle.is_null() {
        return md;
    }
    let _ = writeln!(
        md,
        "\nSettle-up solver (target 8), in-process, {} balances of which no two are equal and opposite, each instance solved {} times: p50 {} ms, max {} ms. By kind (max ms; transfers in the plans): {}.",
        settle["balances"],
        settle["repeats"],
        fmt_num(num(settle, &["p50_ms"]), 2),
        fmt_num(num(settle, &["max_ms"]), 2),
        settle["kinds"]
            .as_array()
            .map(|kinds| {
                kinds
                    .iter()
                    .map(|k| {
                        format!(
                            "{} {} ms, {}–{}",
                            k["kind"].as_str().unwrap_or("?"),
                            fmt_num(num(k, &["max_ms"]), 2),
                            k["transfers_min"],
                            k["transfers_max"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_else(|| "n/a".into()),
    );
    md
}

/// Target 9 in detail: the photo, how the uploads vary it, the memory
/// during the uploads, and the reads.
pub(super) fn picture_section(
    by_name: &HashMap<String, Value>,
    photo: &Value,
    upload_rss: &Value,
    meta: &BTreeMap<String, String>,
) -> String {
    let mut md = String::new();
    if photo.is_null() && !by_name.contains_key("image_upload") {
        return md;
    }
    let copy = &photo["server_copy"];
    let upload = by_name.get("image_upload");
    let rps = |name: &str| fmt_num(by_name.get(name).map_or(f64::NAN, |r| num(r, &["rps"])), 1);
    let _ = writeln!(
        md,
        "\n## Pictures (target 9)\n\nThe photo: {} bytes, {}×{} JPEG at quality {}, generated (gradients, texture and seeded noise scaled to the size; `splitlyr-bench picture`). The server keeps it as a {}×{} {} of {} bytes; one decode, shrink and encode takes {} ms in-process without load. Every upload is a different picture (the photo with {} bytes of its JPEG luminance quantization table raised by 0 or 1 according to a per-request number; each of them was checked to change the server's copy), so each one is decoded, re-encoded and stored in GridFS, replacing the user's previous photo (whose bytes are deleted). Uploads rotate over 8 users per wrk thread (not the focus users), whom the warm-up gives a photo, so the measured uploads replace one each and the stored pictures do not grow; {} in flight (decoding runs `images.decode_concurrency` at a time). Per upload: {} database commands, {} of them deletes.\n",
        photo["bytes"],
        photo["width"],
        photo["height"],
        photo["quality"],
        copy["width"],
        copy["height"],
        copy["content_type"].as_str().unwrap_or("?"),
        copy["bytes"],
        fmt_num(num(copy, &["reencode_ms"]), 1),
        photo["variant_slots"],
        meta.get("upload_concurrency").map_or("?", String::as_str),
        fmt_num(upload.map_or(f64::NAN, |r| num(r, &["db_cmds_per_req"])), 2),
        fmt_num(upload.map_or(f64::NAN, |r| num(r, &["db_cmds_per_req_by_command", "delete"])), 2),
    );
    let _ = writeln!(
        md,
        "Server memory during the uploads (its own process, restarted for the picture scenarios; VmRSS sampled every {} ms over the warm-up and the measured run, {} samples): first {} MiB, mean {} MiB, max {} MiB ({} s in); VmHWM at their end {} MiB.\n",
        upload_rss["interval_ms"],
        upload_rss["samples"],
        fmt_num(num(upload_rss, &["first_mib"]), 1),
        fmt_num(num(upload_rss, &["mean_mib"]), 1),
        fmt_num(num(upload_rss, &["max_mib"]), 1),
        fmt_num(num(upload_rss, &["max_at_s"]), 1),
        fmt_num(num(upload_rss, &["hwm_mib"]), 1),
    );
    let _ = writeln!(
        md,
        "Reads: the focus users' photos, by their URL (`profileImage`), without a token: {} req/s with the bytes (200), {} req/s with the ETag in If-None-Match (304, no bytes read). Uploads: {} req/s.",
        rps("image_get_200"),
        rps("image_get_304"),
        rps("image_upload"),
    );
    md
}

/// The export scenario: each download of the group's `export.csv` and the
/// server's memory meanwhile.
pub(super) fn export_section(export: &Value, meta: &BTreeMap<String, String>) -> String {
    let mut md = String::new();
    let Some(runs) = export["runs"].as_array() else {
        return md;
    };
    let _ = writeln!(
        md,
        "\n## Export of a group with {} expenses\n\n`GET {}` by a member of a group of {} people (`splitlyr-bench export-seed`: one expense or payment a minute, USD and EUR), on a server process of its own (restarted after the first start built the ledger), each download over a new connection. Server VmRSS before: {} MiB; sampled every {} ms during each download; VmHWM after all of them: {} MiB.\n\n| run | status | headers ms | first byte of the file ms | total ms | MiB | rows | peak VmRSS MiB |\n|---:|---:|---:|---:|---:|---:|---:|---:|",
        meta.get("export_rows").map_or("?", String::as_str),
        export["path"].as_str().unwrap_or("?"),
        meta.get("export_members").map_or("?", String::as_str),
        fmt_num(num(export, &["rss_before_mib"]), 1),
        export["interval_ms"],
        fmt_num(num(export, &["hwm_mib"]), 1),
    );
    for (i, r) in runs.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            r["status"],
            fmt_num(num(r, &["head_ms"]), 1),
            fmt_num(num(r, &["first_body_byte_ms"]), 1),
            fmt_num(num(r, &["total_ms"]), 1),
            fmt_num(num(r, &["bytes"]) / 1_048_576.0, 2),
            r["rows"],
            fmt_num(num(r, &["peak_rss_mib"]), 1),
        );
    }
    md
}

/// The import scenario: one Splitwise file into the export group, followed
/// until done, and the server's memory meanwhile.
pub(super) fn import_section(import: &Value) -> String {
    let mut md = String::new();
    if import.is_null() {
        return md;
    }
    let _ = writeln!(
        md,
        "\n## Import of a Splitwise file of {} rows\n\n`POST /v1/groups/:id/import/splitwise` into the export group (a body of {} MiB: three currencies, a payment every 20th row, two payers every 7th; `splitlyr-bench splitwise-file`), answered {} and followed until done. Wrote {} expenses and {} payments in {} s ({} rows/s). Server VmRSS sampled every {} ms: {} MiB before, peak {} MiB, {} MiB after.",
        import["rows"],
        fmt_num(num(import, &["body_bytes"]) / 1_048_576.0, 2),
        import["first_status"],
        import["expenses"],
        import["payments"],
        fmt_num(num(import, &["seconds"]), 1),
        fmt_num(num(import, &["rows_per_s"]), 0),
        import["rss"]["interval_ms"],
        fmt_num(num(import, &["rss", "first_mib"]), 1),
        fmt_num(num(import, &["rss", "max_mib"]), 1),
        fmt_num(num(import, &["rss", "last_mib"]), 1),
    );
    md
}

/// The recurring scheduler: the idle server without and with the active
/// series, and the due ones caught up.
pub(super) fn recurring_section(r: &Value) -> String {
    let mut md = String::new();
    if r.is_null() {
        return md;
    }
    let _ = writeln!(
        md,
        "\n## Recurring scheduler with {} active series\n\nOn the export process: {} monthly series written into its database, none due for a day, then {} more due at once (`splitlyr-bench recurring-seed`). The scheduler of the one server process polls every second.\n\n| window | seconds | db commands/s | db CPU ms/s | server CPU ms/s |\n|---|---:|---:|---:|---:|",
        r["series"], r["series"], r["due"]["series"],
    );
    for (label, key) in [
        ("idle, no series", "idle_without"),
        ("idle, with the active series", "idle"),
    ] {
        let w = &r[key];
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {} | {} |",
            fmt_num(num(w, &["seconds"]), 1),
            fmt_num(num(w, &["db_commands_per_s"]), 2),
            fmt_num(num(w, &["db_cpu_ms_per_s"]), 2),
            fmt_num(num(w, &["server_cpu_ms_per_s"]), 2),
        );
    }
    let d = &r["due"];
    let _ = writeln!(
        md,
        "\n{} occurrences created in {} s ({} per second), each an expense with its bookings and entry in one transaction: {} database commands, {} ms of database CPU and {} ms of server CPU per occurrence.",
        d["created"],
        fmt_num(num(d, &["seconds"]), 2),
        fmt_num(num(d, &["per_s"]), 0),
        fmt_num(num(d, &["db_commands_per_occurrence"]), 2),
        fmt_num(num(d, &["db_cpu_ms_per_occurrence"]), 3),
        fmt_num(num(d, &["server_cpu_ms_per_occurrence"]), 3),
    );
    md
}
