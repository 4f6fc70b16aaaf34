//! `report`: turns a run directory into `latest.json` and `latest.md`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::args::ReportArgs;
use crate::{ratio, round3, Result};

/// `key=value` lines (values may contain spaces and `=`).
fn read_env(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect())
}

/// The JSON line a wrk script's `done()` printed, prefixed with `BENCH_JSON `.
fn wrk_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_JSON "))
        .ok_or_else(|| format!("{}: no BENCH_JSON line (did wrk fail?)", path.display()))?;
    Ok(serde_json::from_str(line)?)
}

/// Where the CPU went during a scenario, from the two lines `server db wrk
/// machine-busy ms` (ticks, then a time) that `scripts/bench.sh` recorded.
fn cpu_use(path: &Path, clk_tck: f64, requests: f64) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let rows: Vec<Vec<f64>> = text
        .lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .collect();
    let [before, after] = &rows[..] else {
        return None;
    };
    if before.len() != 5 || after.len() != 5 {
        return None;
    }
    let d: Vec<f64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let wall = d[4] / 1000.0;
    let secs = |ticks: f64| ticks / clk_tck;
    let cores = |ticks: f64| ratio(secs(ticks), wall);
    let ms_per_req = |ticks: f64| ratio(secs(ticks) * 1000.0, requests);
    Some(json!({
        "wall_s": round3(wall),
        "server_cores": cores(d[0]),
        "db_cores": cores(d[1]),
        "wrk_cores": cores(d[2]),
        "other_cores": cores((d[3] - d[0] - d[1] - d[2]).max(0.0)),
        "server_cpu_ms_per_req": ms_per_req(d[0]),
        "db_cpu_ms_per_req": ms_per_req(d[1]),
    }))
}

/// `mongodb_commands_total{command="find"} 12` → {"find": 12}.
fn db_commands(path: &Path) -> Result<BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("mongodb_commands_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once('}') else {
            continue;
        };
        let command = labels
            .split(',')
            .find_map(|l| l.strip_prefix("command=\""))
            .map(|c| c.trim_end_matches('"').to_string())
            .unwrap_or_default();
        let value: f64 = value.trim().parse().unwrap_or(0.0);
        *out.entry(command).or_default() += value;
    }
    Ok(out)
}

struct Scenario {
    name: String,
    label: String,
    expenses: String,
    concurrency: String,
    duration: String,
    metrics: String,
    wrk: Value,
}

fn num(v: &Value, path: &[&str]) -> f64 {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN)
}

fn fmt_num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "n/a".into()
    }
}

/// One server process of the run: the first start on a freshly seeded
/// database (indexes, ledger built from the expenses) or the restarted one
/// that served the scenarios.
struct ServerProcess {
    database: &'static str,
    role: &'static str,
    expenses: Option<u64>,
    start_s: Option<f64>,
    idle_mib: f64,
    peak_mib: f64,
}

fn server_processes(
    meta: &BTreeMap<String, String>,
    rss: &BTreeMap<String, String>,
) -> Vec<ServerProcess> {
    let kb = |k: String| rss.get(&k).and_then(|v| v.parse::<f64>().ok());
    let mut out = Vec::new();
    for database in ["small", "large"] {
        let expenses = if database == "small" {
            Some(1000)
        } else {
            meta.get("expenses").and_then(|v| v.parse().ok())
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

fn process_section(processes: &[ServerProcess]) -> String {
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
fn balance_section(
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
fn solver_section(settle: &Value) -> String {
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
fn picture_section(
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

pub(crate) fn report(args: &ReportArgs) -> Result<()> {
    let (run, out) = (args.run.clone(), args.out.clone());
    let meta = read_env(&run.join("meta.env"))?;
    let rss = read_env(&run.join("rss.env"))?;
    let bcrypt: Value = serde_json::from_str(
        std::fs::read_to_string(run.join("bcrypt.json"))?
            .lines()
            .last()
            .unwrap_or("{}"),
    )?;
    // Runs from before the solver measurement have no settle.json.
    let settle: Value = std::fs::read_to_string(run.join("settle.json"))
        .ok()
        .and_then(|text| serde_json::from_str(text.lines().last()?).ok())
        .unwrap_or(Value::Null);
    // Runs from before the picture scenarios have neither.
    let read_json = |name: &str| -> Value {
        std::fs::read_to_string(run.join(name))
            .ok()
            .and_then(|text| serde_json::from_str(text.lines().last()?).ok())
            .unwrap_or(Value::Null)
    };
    let photo = read_json("picture.json");
    let upload_rss = read_json("image_upload.rss.json");
    let stalled = read_json("stalled_bodies.json");
    let m = |k: &str| meta.get(k).cloned().unwrap_or_else(|| "?".into());
    let scen_text = std::fs::read_to_string(run.join("scenarios.tsv"))?;
    let mut scenarios = Vec::new();
    for line in scen_text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, label, expenses, concurrency, duration, metrics] = f[..] else {
            return Err(format!("scenarios.tsv: bad line {line:?}").into());
        };
        scenarios.push(Scenario {
            name: name.into(),
            label: label.into(),
            expenses: expenses.into(),
            concurrency: concurrency.into(),
            duration: duration.into(),
            metrics: metrics.into(),
            wrk: wrk_json(&run.join(format!("{name}.wrk.txt")))?,
        });
    }

    // Database commands per request: the delta of mongodb_commands_total over
    // the scenario, divided by the requests of every scenario sharing it.
    let mut requests_by_metrics: HashMap<&str, f64> = HashMap::new();
    for s in &scenarios {
        *requests_by_metrics.entry(&s.metrics).or_default() += num(&s.wrk, &["requests"]);
    }
    let mut rows = Vec::new();
    let mut by_name: HashMap<String, Value> = HashMap::new();
    for s in &scenarios {
        let before = db_commands(&run.join(format!("{}.metrics.before", s.metrics)))?;
        let after = db_commands(&run.join(format!("{}.metrics.after", s.metrics)))?;
        let reqs = requests_by_metrics
            .get(s.metrics.as_str())
            .copied()
            .unwrap_or(0.0);
        let mut per_command = BTreeMap::new();
        let mut total = 0.0;
        for (cmd, a) in &after {
            let d = a - before.get(cmd).copied().unwrap_or(0.0);
            if d > 0.0 {
                total += d;
                per_command.insert(cmd.clone(), ratio(d, reqs));
            }
        }
        let clk_tck = meta
            .get("clk_tck")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(100.0);
        let cpu = cpu_use(&run.join(format!("{}.cpu", s.metrics)), clk_tck, reqs);
        let w = &s.wrk;
        let sock = |k: &str| num(w, &["socket_errors", k]);
        let socket_errors = sock("connect") + sock("read") + sock("write") + sock("timeout");
        let requests = num(w, &["requests"]);
        let v = json!({
            "name": s.name,
            "scenario": s.label,
            "expenses": s.expenses.parse::<u64>().ok(),
            "concurrency": s.concurrency.parse::<u64>().ok(),
            "duration_s": s.duration.parse::<f64>().ok(),
            "requests": w.get("requests"),
            "rps": w.get("rps"),
            "latency_ms": w.get("latency_ms"),
            "non2xx": w.get("non2xx"),
            // Answers other than expected: non-2xx, or anything but
            // `expected_status` where the scenario expects one (304).
            // Runs from before the field: their non-2xx.
            "unexpected": w.get("unexpected").or_else(|| w.get("non2xx")),
            "expected_status": w.get("expected_status"),
            "socket_errors": w.get("socket_errors"),
            "socket_errors_total": socket_errors as u64,
            "bytes_per_response": ratio(num(w, &["bytes"]), requests).map(|b| b.round() as u64),
            "error_sample": w.get("sample"),
            // Balance scenarios: non-zero balances per 2xx response (friends
            // with a balance; group members whose balance is not 0).
            "nonzero_balances_per_response": w.get("entries_per_response"),
            "users_rotated": w.get("users"),
            "users_filter_fell_back": w.get("pool_fallback"),
            "db_cmds_per_req": ratio(total, reqs),
            "db_cmds_per_req_by_command": per_command,
            "cpu": cpu,
            "db_cmds_shared_with": scenarios.iter()
                .filter(|o| o.metrics == s.metrics && o.name != s.name)
                .map(|o| o.name.clone()).collect::<Vec<_>>(),
        });
        by_name.insert(s.name.clone(), v.clone());
        rows.push(v);
    }

    let get = |name: &str, path: &[&str]| by_name.get(name).map_or(f64::NAN, |v| num(v, path));
    let rps = |name: &str| get(name, &["rps"]);
    // `idle_kb_<server>` / `peak_kb_<server>`: the largest over the server processes.
    let mib = |prefix: &str| {
        rss.iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .filter_map(|(_, v)| v.parse::<f64>().ok())
            .fold(f64::NAN, f64::max)
            / 1024.0
    };
    let bcrypt_rate = num(&bcrypt, &["verifies_per_s"]);
    let pct = |a: f64, b: f64| if b > 0.0 { 100.0 * a / b } else { f64::NAN };
    let unexpected_total: f64 = rows.iter().map(|r| num(r, &["unexpected"])).sum();
    let failing: Vec<String> = rows
        .iter()
        .filter(|r| num(r, &["unexpected"]) != 0.0)
        .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let n_exp = meta.get("expenses").cloned().unwrap_or_default();
    let checks: Vec<(String, String, String, bool)> = vec![
        {
            let r = pct(rps("profile"), rps("healthz"));
            (
                "1. profile req/s ≥ 70% of healthz req/s".into(),
                format!(
                    "{}% ({} vs {})",
                    fmt_num(r, 1),
                    fmt_num(rps("profile"), 0),
                    fmt_num(rps("healthz"), 0)
                ),
                "≥ 70%".into(),
                r >= 70.0,
            )
        },
        {
            let b = pct(rps("balances_large"), rps("balances_small"));
            let g = pct(rps("group_balance_large"), rps("group_balance_small"));
            let entries = |name: &str| fmt_num(get(name, &["nonzero_balances_per_response"]), 1);
            (
                format!("2. balances and group balance at {n_exp} expenses ≥ 80% of at 1,000 (same focus users and groups)"),
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
                "both ≥ 80%".into(),
                b >= 80.0 && g >= 80.0,
            )
        },
        {
            let r = pct(rps("expenses_page50"), rps("expenses_page1"));
            let empty = by_name
                .get("expenses_page50")
                .and_then(|v| v["users_filter_fell_back"].as_bool())
                .unwrap_or(false);
            (
                "3. expenses page 50 req/s ≥ 70% of page 1".into(),
                format!(
                    "{}% ({} vs {}){}",
                    fmt_num(r, 1),
                    fmt_num(rps("expenses_page50"), 0),
                    fmt_num(rps("expenses_page1"), 0),
                    if empty {
                        " — no user has 500 expenses at this size: page 50 is empty"
                    } else {
                        ""
                    }
                ),
                "≥ 70%".into(),
                r >= 70.0,
            )
        },
        {
            let p99 = get("healthz_under_login", &["latency_ms", "p99"]);
            let l = pct(rps("login"), bcrypt_rate);
            (
                "4. healthz p99 under login saturation < 50 ms; login req/s ≥ 80% of raw bcrypt verify rate".into(),
                format!(
                    "p99 {} ms; login {} req/s = {}% of {} verifies/s",
                    fmt_num(p99, 1), fmt_num(rps("login"), 2), fmt_num(l, 1), fmt_num(bcrypt_rate, 2)
                ),
                "< 50 ms; ≥ 80%".into(),
                p99 < 50.0 && l >= 80.0,
            )
        },
        {
            // Idle: the serving processes (a first start's idle is what the
            // ledger build left behind). Peak: every process, first starts too.
            let peak = mib("peak_kb");
            let idle = mib("idle_kb_serve");
            (
                "5. peak RSS ≤ 100 MiB (all server processes, first starts included) and idle RSS ≤ 30 MiB (serving processes)".into(),
                format!(
                    "peak {} MiB, idle {} MiB (serving processes: peak {} MiB, idle {} MiB; first start building the ledger from the seeded expenses: peak {} MiB, idle {} MiB; picture scenarios: peak {} MiB)",
                    fmt_num(peak, 1),
                    fmt_num(idle, 1),
                    fmt_num(mib("peak_kb_serve"), 1),
                    fmt_num(mib("idle_kb_serve"), 1),
                    fmt_num(mib("peak_kb_first"), 1),
                    fmt_num(mib("idle_kb_first"), 1),
                    fmt_num(mib("peak_kb_pictures"), 1),
                ),
                "≤ 100 MiB; ≤ 30 MiB".into(),
                peak <= 100.0 && idle <= 30.0,
            )
        },
        (
            "6. zero non-2xx responses in every scenario (where 304 is expected: zero other than 304)".into(),
            if failing.is_empty() {
                "0 unexpected".into()
            } else {
                format!("{unexpected_total} unexpected in: {}", failing.join(", "))
            },
            "0".into(),
            failing.is_empty() && !rows.is_empty(),
        ),
        {
            // Taking over the old server's database: the first start on its
            // documents upgrades them and builds the ledger.
            let seconds = meta
                .get("start_first_legacy_s")
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN);
            let peak = mib("peak_kb_first_legacy");
            (
                format!(
                    "7. upgrade of {} old-server expenses on first start: time to healthy < 60 s, peak RSS < 100 MiB",
                    meta.get("legacy_expenses").map_or("?", String::as_str)
                ),
                format!("{} s, peak {} MiB", fmt_num(seconds, 1), fmt_num(peak, 1)),
                "< 60 s; < 100 MiB".into(),
                seconds < 60.0 && peak < 100.0,
            )
        },
        {
            let max = num(&settle, &["max_ms"]);
            (
                "8. settle-up solver, 20 non-zero balances, max < 50 ms".into(),
                format!(
                    "max {} ms, p50 {} ms ({} solves of {} instances, in-process)",
                    fmt_num(max, 2),
                    fmt_num(num(&settle, &["p50_ms"]), 2),
                    settle["solves"],
                    settle["instances"],
                ),
                "< 50 ms".into(),
                max < 50.0,
            )
        },
        {
            // Sampled VmRSS during the uploads (warm-up included), and the
            // process's VmHWM at their end: the kernel's own maximum, which
            // no sampling gap can miss (the process only started before).
            let sampled = num(&upload_rss, &["max_mib"]);
            let hwm = num(&upload_rss, &["hwm_mib"]);
            (
                format!(
                    "9. peak RSS during {} concurrent {} KB uploads < 100 MiB",
                    m("upload_concurrency"),
                    fmt_num(num(&photo, &["kb"]), 0),
                ),
                format!(
                    "sampled max {} MiB ({} samples every {} ms over {} s; idle before {} MiB); VmHWM at the end of the uploads {} MiB; {} req/s",
                    fmt_num(sampled, 1),
                    upload_rss["samples"],
                    upload_rss["interval_ms"],
                    fmt_num(num(&upload_rss, &["seconds"]), 1),
                    fmt_num(mib("idle_kb_pictures"), 1),
                    fmt_num(hwm, 1),
                    fmt_num(rps("image_upload"), 1),
                ),
                "< 100 MiB (both)".into(),
                sampled < 100.0 && hwm < 100.0,
            )
        },
        crate::stalled::target(&stalled),
    ];

    let processes = server_processes(&meta, &rss);
    let targets: Vec<Value> = checks
        .iter()
        .map(|(t, m, th, ok)| json!({ "target": t, "measured": m, "threshold": th, "pass": ok }))
        .collect();
    let seeds: BTreeMap<String, Value> = ["small", "large"]
        .iter()
        .filter_map(|k| {
            let text = std::fs::read_to_string(run.join(format!("seed-{k}/seed.json"))).ok()?;
            Some((k.to_string(), serde_json::from_str(&text).ok()?))
        })
        .collect();
    let result = json!({
        "generated_at": meta.get("finished_at"),
        "mode": meta.get("mode"),
        "git": { "commit": meta.get("git_commit"), "dirty": meta.get("git_dirty").map(|d| d == "true") },
        "machine": {
            "nproc": meta.get("nproc").and_then(|v| v.parse::<u64>().ok()),
            "cpu_model": meta.get("cpu_model"),
            "mem_total_mb": meta.get("mem_total_mb").and_then(|v| v.parse::<u64>().ok()),
            "mem_available_mb": meta.get("mem_available_mb").and_then(|v| v.parse::<u64>().ok()),
            "kernel": meta.get("kernel"),
            "loadavg_start": meta.get("loadavg_start"),
            "loadavg_end": meta.get("loadavg_end"),
        },
        "settings": {
            "duration_s": meta.get("duration").and_then(|v| v.parse::<f64>().ok()),
            "warmup_s": meta.get("warmup").and_then(|v| v.parse::<f64>().ok()),
            "concurrency": meta.get("concurrency").and_then(|v| v.parse::<u64>().ok()),
            "wrk_threads": meta.get("wrk_threads").and_then(|v| v.parse::<u64>().ok()),
            "expenses": n_exp.parse::<u64>().ok(),
            "server": meta.get("server_settings"),
            "database": meta.get("database"),
        },
        "timings_s": {
            "build": meta.get("build_s").and_then(|v| v.parse::<f64>().ok()),
            "seed_small": meta.get("seed_small_s").and_then(|v| v.parse::<f64>().ok()),
            "seed_large": meta.get("seed_large_s").and_then(|v| v.parse::<f64>().ok()),
            "server_first_start_small": meta.get("start_first_small_s").and_then(|v| v.parse::<f64>().ok()),
            "server_first_start_large": meta.get("start_first_large_s").and_then(|v| v.parse::<f64>().ok()),
            "server_restart_small": meta.get("start_serve_small_s").and_then(|v| v.parse::<f64>().ok()),
            "server_restart_large": meta.get("start_serve_large_s").and_then(|v| v.parse::<f64>().ok()),
            "server_restart_pictures": meta.get("start_pictures_large_s").and_then(|v| v.parse::<f64>().ok()),
            "total_until_report": meta.get("total_s").and_then(|v| v.parse::<f64>().ok()),
        },
        "seed": seeds,
        "bcrypt": bcrypt,
        "settle_solver": settle,
        "pictures": {
            "note": "Each upload is a different picture (the photo with some bytes of its JPEG quantization table raised by 0 or 1 per request), so each one is decoded, re-encoded and stored, replacing the user's previous photo. The GET scenarios read the focus users' photos, without a token; the 304 one sends each photo's ETag in If-None-Match and counts any other status as unexpected.",
            "photo": photo,
            "upload_concurrency": meta.get("upload_concurrency").and_then(|v| v.parse::<u64>().ok()),
            "upload_rss": upload_rss,
            "stalled_bodies": stalled,
        },
        "rss_mib": {
            // What target 5 uses: idle of the serving processes, peak of all.
            "idle": round3(mib("idle_kb_serve")),
            "peak": round3(mib("peak_kb")),
            "idle_all_processes": round3(mib("idle_kb")),
            "serving_idle": round3(mib("idle_kb_serve")),
            "serving_peak": round3(mib("peak_kb_serve")),
            "first_start_idle": round3(mib("idle_kb_first")),
            "first_start_peak": round3(mib("peak_kb_first")),
            "per_process": rss.iter().map(|(k, v)| (k.clone(), v.parse::<f64>().map(|kb| round3(kb / 1024.0)).ok())).collect::<BTreeMap<_, _>>(),
        },
        "server_processes": processes.iter().map(|p| json!({
            "database": p.database, "role": p.role, "expenses": p.expenses,
            "start_to_healthy_s": p.start_s, "idle_rss_mib": round3(p.idle_mib), "peak_rss_mib": round3(p.peak_mib),
        })).collect::<Vec<_>>(),
        "balance_comparison": {
            "note": "The @1k database concentrates its 1,000 expenses on the focus users and groups, and the balance scenarios of both databases rotate over them. Before this, the @1k expenses were spread over all 1,000 users and the scenarios rotated over everyone, so @1k responses held far fewer balances than at the large size: that ratio measured response size, not history size.",
            "focus_users": meta.get("focus_users").and_then(|v| v.parse::<u64>().ok()),
            "focus_groups": meta.get("focus_groups").and_then(|v| v.parse::<u64>().ok()),
            "seeded_small": seeds.get("small").map(|s| json!({ "focus": s["balances_focus"], "all": s["balances_all"], "all_if_spread": s["balances_all_if_spread"] })),
            "seeded_large": seeds.get("large").map(|s| json!({ "focus": s["balances_focus"], "all": s["balances_all"] })),
        },
        "scenarios": rows,
        "targets": targets,
        "targets_passed": checks.iter().filter(|c| c.3).count(),
        "targets_total": checks.len(),
    });

    let mut md = String::new();
    let _ = writeln!(md, "# Splitlyr benchmark ({} run)\n", m("mode"));
    let _ = writeln!(
        md,
        "- When: {} · commit `{}`{} · machine: {} × {}, {} MiB RAM ({} MiB available at start)",
        m("finished_at"),
        m("git_commit"),
        if m("git_dirty") == "true" {
            " (+ uncommitted changes)"
        } else {
            ""
        },
        m("nproc"),
        m("cpu_model"),
        m("mem_total_mb"),
        m("mem_available_mb"),
    );
    let _ = writeln!(
        md,
        "- Load: wrk, {} s per scenario after {} s warm-up (none for logins), {} connections ({} for logins, {} for picture uploads, {} threads), users rotate per request; page 50 uses users with ≥ 500 expenses; the balance scenarios rotate over the {} focus users and the members of the {} focus groups",
        m("duration"), m("warmup"), m("concurrency"), m("login_concurrency"), m("upload_concurrency"), m("wrk_threads"),
        m("focus_users"), m("focus_groups"),
    );
    let _ = writeln!(
        md,
        "- Load average (1/5/15 min) at start: {}; at the end: {} (the machine is shared: other work skews the numbers)",
        m("loadavg_start"),
        m("loadavg_end"),
    );
    let _ = writeln!(md, "- Server: {}", m("server_settings"));
    let _ = writeln!(md, "- Database: {}", m("database"));
    if let Some(large) = seeds.get("large") {
        let _ = writeln!(
            md,
            "- Data: {} users × {} mutual friends, {} groups, {} expenses ({} group, {} between friends; {} of splits settled, {} expenses fully settled); a second database with {} expenses, all involving the first {} users or the first {} groups (the focus users and groups), for the `@1k` rows",
            large["users"], large["friends_per_user"], large["groups"], large["expenses"],
            large["group_expenses"], large["friend_expenses"],
            large["settled_split_share"].as_f64().map_or("?".into(), |s| format!("{:.0}%", s * 100.0)),
            large["settled_expenses"],
            seeds.get("small").map_or(Value::Null, |s| s["expenses"].clone()),
            m("focus_users"),
            m("focus_groups"),
        );
    }
    let _ = writeln!(
        md,
        "- Wall clock: build {} s, seeding {} s (1k) + {} s ({}), first server start to healthy {} s (1k) + {} s ({}, ledger build), whole run {} s",
        m("build_s"),
        m("seed_small_s"),
        m("seed_large_s"),
        n_exp,
        m("start_first_small_s"),
        m("start_first_large_s"),
        n_exp,
        m("total_s"),
    );
    md.push_str("\n| scenario | expenses | conns | req/s | p50 ms | p90 ms | p99 ms | errors (unexpected status / socket) | db cmds/req | bytes/resp (with headers) |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in &rows {
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
    for r in rows.iter().filter(|r| r["expected_status"].is_number()) {
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
    for r in &rows {
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
        bcrypt["cost"],
        fmt_num(bcrypt_rate, 2),
        bcrypt["threads"],
    );
    md.push_str(&solver_section(&settle));
    md.push_str(&balance_section(&by_name, &seeds, &meta));
    md.push_str(&process_section(&processes));
    md.push_str(&picture_section(&by_name, &photo, &upload_rss, &meta));
    md.push_str("\n## Targets\n\n| target | measured | threshold | result |\n|---|---|---|---|\n");
    for (t, measured, th, ok) in &checks {
        let _ = writeln!(
            md,
            "| {t} | {measured} | {th} | {} |",
            if *ok { "PASS" } else { "FAIL" }
        );
    }
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("latest.json"),
        serde_json::to_string_pretty(&result)? + "\n",
    )?;
    std::fs::write(out.join("latest.md"), &md)?;
    print!("{md}");
    Ok(())
}
