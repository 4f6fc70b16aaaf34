//! `splitwise-file`: the body of a Splitwise import for the benchmark, a
//! group export of `--rows` rows (10,000) for the people of the export
//! scenario's group (`--data`, its `export.json`), in three currencies, with a payment every 20th row and
//! two payers every 7th, closed by exact `Total balance` rows; written as
//! the JSON `{csv, members}` the import route takes.

use std::collections::BTreeMap;

use serde_json::json;

use crate::args::SplitwiseFileArgs;
use crate::rng::Rng;
use crate::Result;

const CURRENCIES: [&str; 3] = ["USD", "EUR", "GBP"];

fn cents(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

pub(crate) fn splitwise_file(args: &SplitwiseFileArgs) -> Result<()> {
    let data: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&args.data)?)?;
    let members: Vec<(String, String)> = data["people"]
        .as_array()
        .ok_or("--data has no people")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?.to_owned(), p["name"].as_str()?.to_owned())))
        .collect();
    if members.len() < 2 {
        return Err("the group needs at least two people".into());
    }
    let n = members.len();
    let mut rng = Rng::new(args.seed);
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["Date", "Description", "Category", "Cost", "Currency"];
    header.extend(members.iter().map(|(_, name)| name.as_str()));
    csv.write_record(&header)?;
    csv.write_record(vec![""; header.len()])?;
    let mut totals: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for row in 0..args.rows {
        let currency = CURRENCIES[row % CURRENCIES.len()];
        let mut nets = vec![0i64; n];
        let payer = rng.below(n);
        let (description, category, cost) = if row % 20 == 19 {
            let to = (payer + 1 + rng.below(n - 1)) % n;
            let amount = 100 + rng.below(20_000) as i64;
            nets[payer] += amount;
            nets[to] -= amount;
            ("Payment".to_owned(), "Payment", amount)
        } else {
            // An equal split among 2..=n members starting at a random one.
            let people = 2 + rng.below(n - 1);
            let first = rng.below(n);
            let cost = 100 + rng.below(50_000) as i64;
            let share = cost / people as i64;
            let mut rest = cost - share * people as i64;
            for k in 0..people {
                let who = (first + k) % n;
                let owed = share + i64::from(rest > 0);
                rest -= i64::from(rest > 0);
                nets[who] -= owed;
            }
            if row % 7 == 3 {
                let other = (payer + 1) % n;
                let half = cost / 2;
                nets[payer] += half;
                nets[other] += cost - half;
            } else {
                nets[payer] += cost;
            }
            (format!("Expense {row}, \"bench\""), "Dining out", cost)
        };
        let date = format!("2025-{:02}-{:02}", 1 + row % 12, 1 + row % 28);
        let mut cells = vec![
            date,
            description,
            category.to_owned(),
            cents(cost),
            currency.to_owned(),
        ];
        cells.extend(nets.iter().map(|m| cents(*m)));
        csv.write_record(&cells)?;
        let sums = totals.entry(currency).or_insert_with(|| vec![0; n]);
        for (s, m) in sums.iter_mut().zip(&nets) {
            *s += m;
        }
    }
    csv.write_record(vec![""; header.len()])?;
    for (currency, sums) in &totals {
        let mut cells = vec![
            "2026-01-01".to_owned(),
            "Total balance".into(),
            " ".into(),
            " ".into(),
            (*currency).to_owned(),
        ];
        cells.extend(sums.iter().map(|m| cents(*m)));
        csv.write_record(&cells)?;
    }
    let text = String::from_utf8(csv.into_inner().map_err(|e| e.to_string())?)?;
    let mapping: serde_json::Map<String, serde_json::Value> = members
        .iter()
        .map(|(id, name)| (name.clone(), json!(id)))
        .collect();
    let body = json!({ "csv": text, "members": mapping });
    std::fs::write(&args.out, serde_json::to_vec(&body)?)?;
    println!(
        "{}",
        json!({ "rows": args.rows, "members": n, "bytes": std::fs::metadata(&args.out)?.len() })
    );
    Ok(())
}
