//! Load: the files of a run directory, read into a [`Run`], with a row per
//! scenario (rates, latencies, errors, database commands and CPU per request).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{json, Value};

use super::{num, Run};
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

/// The JSON on the last line of `name`; Null when the file is missing (runs
/// from before the solver or the picture measurements) or not JSON.
fn last_json_line(run: &Path, name: &str) -> Value {
    std::fs::read_to_string(run.join(name))
        .ok()
        .and_then(|text| serde_json::from_str(text.lines().last()?).ok())
        .unwrap_or(Value::Null)
}

/// `scenarios.tsv` and each scenario's wrk output.
fn scenarios(run: &Path) -> Result<Vec<Scenario>> {
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
    Ok(scenarios)
}

/// The rows of the scenarios. Database commands per request: the delta of
/// mongodb_commands_total over the scenario, divided by the requests of
/// every scenario sharing it.
fn rows(run: &Path, meta: &BTreeMap<String, String>, scenarios: &[Scenario]) -> Result<Vec<Value>> {
    let mut requests_by_metrics: HashMap<&str, f64> = HashMap::new();
    for s in scenarios {
        *requests_by_metrics.entry(&s.metrics).or_default() += num(&s.wrk, &["requests"]);
    }
    let mut rows = Vec::new();
    for s in scenarios {
        let reqs = requests_by_metrics
            .get(s.metrics.as_str())
            .copied()
            .unwrap_or(0.0);
        rows.push(row(run, meta, scenarios, s, reqs)?);
    }
    Ok(rows)
}

/// One scenario's row; `reqs`: the requests of the scenarios sharing its
/// metrics window.
fn row(
    run: &Path,
    meta: &BTreeMap<String, String>,
    scenarios: &[Scenario],
    s: &Scenario,
    reqs: f64,
) -> Result<Value> {
    let before = db_commands(&run.join(format!("{}.metrics.before", s.metrics)))?;
    let after = db_commands(&run.join(format!("{}.metrics.after", s.metrics)))?;
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
    Ok(json!({
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
    }))
}

impl Run {
    pub(super) fn load(run: &Path) -> Result<Self> {
        let meta = read_env(&run.join("meta.env"))?;
        let rss = read_env(&run.join("rss.env"))?;
        let bcrypt: Value = serde_json::from_str(
            std::fs::read_to_string(run.join("bcrypt.json"))?
                .lines()
                .last()
                .unwrap_or("{}"),
        )?;
        let scenarios = scenarios(run)?;
        let rows = rows(run, &meta, &scenarios)?;
        let by_name = scenarios
            .iter()
            .map(|s| s.name.clone())
            .zip(rows.iter().cloned())
            .collect();
        let seeds = ["small", "large"]
            .iter()
            .filter_map(|k| {
                let text = std::fs::read_to_string(run.join(format!("seed-{k}/seed.json"))).ok()?;
                Some((k.to_string(), serde_json::from_str(&text).ok()?))
            })
            .collect();
        Ok(Self {
            settle: last_json_line(run, "settle.json"),
            photo: last_json_line(run, "picture.json"),
            upload_rss: last_json_line(run, "image_upload.rss.json"),
            stalled: last_json_line(run, "stalled_bodies.json"),
            export: last_json_line(run, "export.json"),
            import: last_json_line(run, "import.json"),
            recurring: last_json_line(run, "recurring.json"),
            meta,
            rss,
            bcrypt,
            seeds,
            rows,
            by_name,
        })
    }
}
