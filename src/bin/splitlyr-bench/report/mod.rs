//! `report`: turns a run directory into `latest.json` and `latest.md`, in
//! three steps: [`load`] reads the run into a [`Run`] (with one row per
//! scenario), [`targets`] checks the targets against it, and [`output`]
//! writes the JSON and the Markdown.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::args::ReportArgs;
use crate::Result;

mod load;
mod output;
mod sections;
mod targets;

pub(crate) fn report(args: &ReportArgs) -> Result<()> {
    let run = Run::load(&args.run)?;
    let targets = targets::targets(&run);
    output::write(&args.out, &run, &targets)
}

/// What a run directory holds, read once.
struct Run {
    /// `meta.env`: the run's settings, timings and machine.
    meta: BTreeMap<String, String>,
    /// `rss.env`: `idle_kb_<process>` / `peak_kb_<process>`.
    rss: BTreeMap<String, String>,
    bcrypt: Value,
    /// The optional measurements: Null in runs from before them.
    settle: Value,
    photo: Value,
    upload_rss: Value,
    stalled: Value,
    /// `export.json`: the downloads of the export scenario.
    export: Value,
    /// `import.json`: the Splitwise import into the export group.
    import: Value,
    /// `recurring.json`: the recurring scheduler with many active series.
    recurring: Value,
    /// `seed-<small|large>/seed.json`: what was seeded.
    seeds: BTreeMap<String, Value>,
    /// One row per scenario, in the order of `scenarios.tsv`.
    rows: Vec<Value>,
    by_name: HashMap<String, Value>,
}

impl Run {
    /// A `meta.env` value, `?` when missing.
    fn meta_or(&self, key: &str) -> String {
        self.meta.get(key).cloned().unwrap_or_else(|| "?".into())
    }

    /// The number of expenses of the large database, as `meta.env` says it.
    fn expenses(&self) -> String {
        self.meta.get("expenses").cloned().unwrap_or_default()
    }

    /// `path` in the row of scenario `name`; NaN when missing.
    fn get(&self, name: &str, path: &[&str]) -> f64 {
        self.by_name.get(name).map_or(f64::NAN, |v| num(v, path))
    }

    fn rps(&self, name: &str) -> f64 {
        self.get(name, &["rps"])
    }

    /// `idle_kb_<server>` / `peak_kb_<server>`: the largest over the server
    /// processes whose key starts with `prefix`, in MiB.
    fn mib(&self, prefix: &str) -> f64 {
        self.rss
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .filter_map(|(_, v)| v.parse::<f64>().ok())
            .fold(f64::NAN, f64::max)
            / 1024.0
    }
}

/// One target: what it asks, what was measured, the threshold, the verdict.
struct Target {
    name: String,
    measured: String,
    threshold: String,
    pass: bool,
}

impl From<(String, String, String, bool)> for Target {
    fn from((name, measured, threshold, pass): (String, String, String, bool)) -> Self {
        Self {
            name,
            measured,
            threshold,
            pass,
        }
    }
}

pub(super) fn num(v: &Value, path: &[&str]) -> f64 {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN)
}

pub(super) fn fmt_num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "n/a".into()
    }
}
