//! The export scenario: `export-seed` writes a database with one group of
//! `--members` people and `--rows` expenses and payments (100,000 in every
//! mode) straight into MongoDB, in large batches, and a data file with the
//! group and a member's token; `export` downloads the group's
//! `export.csv` `--runs` times over one raw HTTP/1.1 connection each,
//! timing the first byte of the answer and of the file, the whole, the
//! bytes and rows, while sampling the server's VmRSS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use secrecy::SecretString;
use serde_json::{json, Value};
use splitlyr::auth::JwtKeys;
use splitlyr::domain::category::Category;
use splitlyr::domain::group::Role;
use splitlyr::domain::money::Currency;
use splitlyr::store::{ExpenseDoc, GroupDoc, Kind, MemberDoc, PayerDoc, SplitDoc, UserDoc};

use crate::args::{ExportArgs, ExportSeedArgs};
use crate::dataset::{oid, FIRST};
use crate::rss::status_kb;
use crate::{round3, BoxError, Result, DAY_MS, ID_EPOCH_SECS};

/// Every `PAYMENT_EVERY`th document is a payment.
const PAYMENT_EVERY: usize = 25;

pub(crate) async fn export_seed(args: &ExportSeedArgs) -> Result<()> {
    let started = Instant::now();
    if args.members < 2 || args.members > 50 || args.rows == 0 || args.batch == 0 {
        return Err("--members must be 2–50, --rows and --batch positive".into());
    }
    let store = crate::seed::connect(&args.db_uri, &args.db_name).await?;
    let db = store.database();
    db.drop().await?;
    // Any hash: nobody logs in, the token is signed here.
    let hash = bcrypt::hash(crate::PASSWORD, 4)?;
    let now = DateTime::now();
    let users: Vec<UserDoc> = (0..args.members)
        .map(|i| {
            let name = format!("{} Export", FIRST[i % FIRST.len()]);
            let email = format!("export.member{i:02}@example.com");
            UserDoc::new(
                oid(ID_EPOCH_SECS, 11, i as u32),
                name,
                email,
                hash.clone(),
                None,
                now,
            )
        })
        .collect();
    let ids: Vec<ObjectId> = users.iter().map(|u| u.id).collect();
    let group = GroupDoc {
        id: oid(ID_EPOCH_SECS, 12, 0),
        name: "Export trip".into(),
        description: "The export scenario's group".into(),
        members: ids
            .iter()
            .enumerate()
            .map(|(k, user)| MemberDoc {
                id: oid(ID_EPOCH_SECS, 13, k as u32),
                user: *user,
                role: if k == 0 { Role::Admin } else { Role::Member },
                joined_at: now,
            })
            .collect(),
        created_by: ids[0],
        is_active: true,
        created_at: now,
        updated_at: now,
        expense_months: Default::default(),
        // As this release keeps it: everyone in its expenses.
        people: ids.clone(),
        people_complete: true,
        version: 1,
    };
    db.collection::<UserDoc>("users")
        .insert_many(&users)
        .await?;
    db.collection::<GroupDoc>("groups")
        .insert_one(&group)
        .await?;
    let coll = db.collection::<Document>("expenses");
    let (rows, batch, group_id) = (args.rows, args.batch, group.id);
    let ids = &ids;
    let starts: Vec<usize> = (0..rows).step_by(batch).collect();
    let mut inserts = futures_util::stream::iter(starts)
        .map(|from| {
            let coll = coll.clone();
            async move {
                let docs = (from..(from + batch).min(rows))
                    .map(|k| document(k, group_id, ids))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                coll.insert_many(docs).ordered(false).await?;
                Ok::<(), BoxError>(())
            }
        })
        .buffer_unordered(2);
    while inserts.try_next().await?.is_some() {}
    db.collection::<Document>("meta")
        .insert_one(doc! { "_id": "schema", "version": splitlyr::store::upgrade::SCHEMA_VERSION })
        .await?;
    let keys = JwtKeys::new(
        &SecretString::from(args.jwt_secret.clone()),
        Duration::from_secs(2 * 86_400),
    );
    let exp = splitlyr::auth::jwt::now_secs() + keys.ttl().as_secs();
    let data = json!({
        "group": group.id.to_hex(),
        "token": keys.issue_without_session(ids[0], exp)?,
        "rows": rows,
        "members": args.members,
        "people": users.iter().map(|u| json!({ "id": u.id.to_hex(), "name": u.name })).collect::<Vec<_>>(),
        "seed_s": round3(started.elapsed().as_secs_f64()),
    });
    std::fs::create_dir_all(&args.out)?;
    std::fs::write(args.out.join("export.json"), data.to_string() + "\n")?;
    println!("{data}");
    Ok(())
}

/// Document `k` of `rows`, a minute apart, oldest first: an expense paid by
/// one member and split between four, or a payment between two (recorded
/// settled, its one share not: as the server writes them).
fn document(
    k: usize,
    group: ObjectId,
    members: &[ObjectId],
) -> std::result::Result<Document, mongodb::bson::ser::Error> {
    let n = members.len();
    let first_ms = DateTime::now().timestamp_millis() - 400 * DAY_MS;
    let date = DateTime::from_millis(first_ms + (k as i64) * 60_000);
    let id = oid((date.timestamp_millis() / 1000) as u32, 14, k as u32);
    let payer = members[k % n];
    let currency = if k % 10 == 9 { "EUR" } else { "USD" };
    let currency = Currency::parse(currency).unwrap_or_default();
    let amount = 1000 + ((k * 37) % 9000) as i64;
    let payment = k % PAYMENT_EVERY == PAYMENT_EVERY - 1;
    let sharers: Vec<ObjectId> = if payment {
        vec![members[(k + 1) % n]]
    } else {
        (0..4.min(n)).map(|j| members[(k + j) % n]).collect()
    };
    let parts = sharers.len() as i64;
    let split_with = sharers
        .iter()
        .enumerate()
        .map(|(j, user)| SplitDoc {
            id: oid(
                (date.timestamp_millis() / 1000) as u32,
                15,
                (k * 4 + j) as u32,
            ),
            user: *user,
            amount: amount / parts + i64::from((j as i64) < amount % parts),
            settled: false,
            settled_at: None,
            weight: None,
        })
        .collect();
    let mut e = ExpenseDoc {
        description: if payment {
            "Payment".into()
        } else {
            format!("Dinner, round {k}")
        },
        amount,
        currency,
        paid_by: payer,
        payers: vec![PayerDoc {
            user: payer,
            amount,
            weight: None,
        }],
        split_with,
        category: Category::ALL[k % Category::ALL.len()].into(),
        date,
        group: Some(group),
        is_settled: payment,
        ..ExpenseDoc::blank(
            if payment {
                Kind::Payment
            } else {
                Kind::Expense
            },
            id,
            payer,
            date,
        )
    };
    e.refresh_participants();
    let mut d = mongodb::bson::to_document(&e)?;
    d.insert("jv", e.version);
    Ok(d)
}

/// What one download measured.
struct Download {
    status: u16,
    head_ms: f64,
    first_body_ms: f64,
    total_ms: f64,
    bytes: u64,
    /// Expense and payment rows: the lines between the two blank ones.
    rows: u64,
}

pub(crate) fn export(args: &ExportArgs) -> Result<()> {
    let data: Value = serde_json::from_str(&std::fs::read_to_string(&args.data)?)?;
    let group = data["group"].as_str().ok_or("no group in the data file")?;
    let token = data["token"].as_str().ok_or("no token in the data file")?;
    let addr = args
        .base
        .strip_prefix("http://")
        .ok_or("--base must be http://HOST:PORT")?
        .trim_end_matches('/')
        .to_owned();
    let path = format!("/v1/groups/{group}/export.csv");
    let before_kb = status_kb(args.pid, "VmRSS").ok_or("no server process")?;
    let mut runs = Vec::new();
    for _ in 0..args.runs.max(1) {
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = sample_peak(args.pid, args.interval_ms, sampling.clone());
        let measured = download(&addr, &path, token);
        sampling.store(false, Ordering::Relaxed);
        let peak_kb = sampler.join().map_err(|_| "the sampler panicked")?;
        let d = measured?;
        if d.status != 200 {
            return Err(format!("GET {path}: HTTP {}", d.status).into());
        }
        runs.push(json!({
            "status": d.status, "head_ms": round3(d.head_ms),
            "first_body_byte_ms": round3(d.first_body_ms), "total_ms": round3(d.total_ms),
            "bytes": d.bytes, "rows": d.rows, "peak_rss_mib": round3(peak_kb as f64 / 1024.0),
        }));
    }
    let max = |key: &str| {
        runs.iter()
            .filter_map(|r| r[key].as_f64())
            .fold(0.0, f64::max)
    };
    let summary = json!({
        "path": path, "runs": runs, "rss_before_mib": round3(before_kb as f64 / 1024.0),
        "max_first_body_byte_ms": max("first_body_byte_ms"), "max_total_ms": max("total_ms"),
        "max_peak_rss_mib": max("peak_rss_mib"),
        "hwm_mib": status_kb(args.pid, "VmHWM").map(|kb| round3(kb as f64 / 1024.0)),
        "interval_ms": args.interval_ms,
    });
    std::fs::write(&args.out, summary.to_string() + "\n")?;
    println!("{summary}");
    Ok(())
}

/// Samples `pid`'s VmRSS every `interval_ms` while `on`; the largest, kB.
fn sample_peak(pid: u32, interval_ms: u64, on: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while on.load(Ordering::Relaxed) {
            peak = peak.max(status_kb(pid, "VmRSS").unwrap_or(0));
            std::thread::sleep(Duration::from_millis(interval_ms));
        }
        peak
    })
}

/// One GET over its own connection; the body de-chunked as it arrives.
fn download(addr: &str, path: &str, token: &str) -> Result<Download> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let head_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut chunked = false;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        chunked |= header.starts_with("transfer-encoding:") && header.contains("chunked");
    }
    let mut counter = Rows::default();
    let mut first_body_ms = None;
    let mut buf = vec![0u8; 64 * 1024];
    let mut read = |reader: &mut BufReader<TcpStream>, most: usize| -> Result<usize> {
        let n = reader.read(&mut buf[..most.min(64 * 1024)])?;
        first_body_ms.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1000.0);
        counter.feed(&buf[..n]);
        Ok(n)
    };
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).map_err(|_| "a bad chunk size")?;
            if size == 0 {
                break;
            }
            let mut left = size;
            while left > 0 {
                match read(&mut reader, left)? {
                    0 => return Err("the answer broke off".into()),
                    n => left -= n,
                }
            }
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else {
        while read(&mut reader, usize::MAX)? > 0 {}
    }
    Ok(Download {
        status,
        head_ms,
        first_body_ms: first_body_ms.unwrap_or(f64::NAN),
        total_ms: started.elapsed().as_secs_f64() * 1000.0,
        bytes: counter.bytes,
        rows: counter.rows,
    })
}

/// Counts the bytes, and the lines between the first and second blank line.
#[derive(Default)]
struct Rows {
    bytes: u64,
    rows: u64,
    blanks: u32,
    line_len: u64,
}

impl Rows {
    fn feed(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        for &b in bytes {
            if b != b'\n' {
                self.line_len += u64::from(b != b'\r');
                continue;
            }
            if self.line_len == 0 {
                self.blanks += 1;
            } else if self.blanks == 1 {
                self.rows += 1;
            }
            self.line_len = 0;
        }
    }
}
