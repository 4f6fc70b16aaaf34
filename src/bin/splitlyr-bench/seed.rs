//! `seed`: writes the data set into MongoDB with the server's own document
//! types, and the Lua data file wrk reads.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::{oid::ObjectId, DateTime};
use secrecy::SecretString;
use serde_json::{json, Value};
use splitlyr::auth::JwtKeys;
use splitlyr::configuration::{DatabaseSettings, WriteConcern};
use splitlyr::store::{ExpenseDoc, GroupDoc, Store, UserDoc};

use crate::args::{bcrypt_cost, SeedArgs};
use crate::dataset::{expenses, people, People, Shape};
use crate::{legacy, ratio, round3, BoxError, Result, PASSWORD};

/// Average, minimum and maximum of some counts.
fn spread(xs: &[usize]) -> Value {
    json!({
        "avg": ratio(xs.iter().sum::<usize>() as f64, xs.len() as f64),
        "min": xs.iter().min(),
        "max": xs.iter().max(),
    })
}

/// What the balance endpoints find for some users and groups in the seeded
/// data, computed like the server's ledger (unsettled splits of someone other
/// than the payer, per pair or group member and currency, zero nets dropped):
/// `friend_balances`, the entries of `GET /v1/users/balances` (friends with a
/// non-zero balance); `counterparties` and `ledger_rows`, the non-zero pair
/// documents that request reads (with non-friends, per currency);
/// `nonzero_members` and `group_ledger_rows` for `GET
/// /v1/expenses/group/:id/balance` (whose response lists every member).
fn balance_shape(p: &People, expenses: &[ExpenseDoc], users: &[usize], groups: &[usize]) -> Value {
    let index: HashMap<ObjectId, usize> =
        p.users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let group_index: HashMap<ObjectId, usize> = p
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.id, i))
        .collect();
    let mut pairs: HashMap<(usize, usize, &str), i64> = HashMap::new();
    let mut members: HashMap<(usize, usize, &str), i64> = HashMap::new();
    for e in expenses {
        let payer = index[&e.paid_by];
        for s in e
            .split_with
            .iter()
            .filter(|s| !s.settled && s.user != e.paid_by)
        {
            let debtor = index[&s.user];
            let (a, b, inc) = if payer < debtor {
                (payer, debtor, s.amount)
            } else {
                (debtor, payer, -s.amount)
            };
            *pairs.entry((a, b, e.currency.as_str())).or_default() += inc;
            if let Some(g) = e.group {
                let g = group_index[&g];
                *members.entry((g, payer, e.currency.as_str())).or_default() += s.amount;
                *members.entry((g, debtor, e.currency.as_str())).or_default() -= s.amount;
            }
        }
    }
    let mut rows_of: Vec<usize> = vec![0; p.users.len()];
    let mut with: Vec<BTreeSet<usize>> = vec![Default::default(); p.users.len()];
    for (&(a, b, _), _) in pairs.iter().filter(|(_, &net)| net != 0) {
        rows_of[a] += 1;
        rows_of[b] += 1;
        with[a].insert(b);
        with[b].insert(a);
    }
    let mut member_rows: Vec<usize> = vec![0; p.groups.len()];
    let mut nonzero: Vec<BTreeSet<usize>> = vec![Default::default(); p.groups.len()];
    for (&(g, u, _), _) in members.iter().filter(|(_, &net)| net != 0) {
        member_rows[g] += 1;
        nonzero[g].insert(u);
    }
    let pick =
        |xs: &[usize], of: &dyn Fn(usize) -> usize| xs.iter().map(|&i| of(i)).collect::<Vec<_>>();
    json!({
        "users": users.len(),
        "friend_balances": spread(&pick(users, &|u| p.friends[u].iter().filter(|f| with[u].contains(f)).count())),
        "counterparties": spread(&pick(users, &|u| with[u].len())),
        "ledger_rows": spread(&pick(users, &|u| rows_of[u])),
        "groups": groups.len(),
        "group_members": spread(&pick(groups, &|g| p.members[g].len())),
        "nonzero_members": spread(&pick(groups, &|g| nonzero[g].len())),
        "group_ledger_rows": spread(&pick(groups, &|g| member_rows[g])),
    })
}

fn lua_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:03}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// Expenses a user may edit (created by them, open) and splits they owe
/// (open, not the payer's), for the edit and settle scenarios.
#[derive(Default)]
struct EditTargets {
    own: Vec<ObjectId>,
    owe: Vec<ObjectId>,
}

const OWN_PER_USER: usize = 5;
const OWE_PER_USER: usize = 40;

fn edit_targets(expenses: &[ExpenseDoc]) -> HashMap<ObjectId, EditTargets> {
    let mut targets: HashMap<ObjectId, EditTargets> = HashMap::new();
    for e in expenses.iter().filter(|e| !e.is_settled) {
        let own = &mut targets.entry(e.created_by).or_default().own;
        if own.len() < OWN_PER_USER {
            own.push(e.id);
        }
        for split in e
            .split_with
            .iter()
            .filter(|s| !s.settled && s.user != e.paid_by)
        {
            let owe = &mut targets.entry(split.user).or_default().owe;
            if owe.len() < OWE_PER_USER {
                owe.push(e.id);
            }
        }
    }
    targets
}

/// The wrk data file: `return { password = ..., users = { {id=..., token=..., ...}, ... },
/// focus_users = { 1, 2, ... }, focus_groups = { {id=..., members={...}}, ... } }`
/// (focus users and group members as 1-based indices into `users`).
fn lua_data(
    p: &People,
    keys: &JwtKeys,
    counts: &HashMap<ObjectId, usize>,
    edits: &HashMap<ObjectId, EditTargets>,
    shape: &Shape,
) -> Result<String> {
    let mut s = String::new();
    s.push_str("-- Generated by `splitlyr-bench seed`: benchmark users, tokens and relations.\n");
    let _ = writeln!(
        s,
        "return {{\npassword = {},\nusers = {{",
        lua_str(PASSWORD)
    );
    for (i, u) in p.users.iter().enumerate() {
        // Tokens without a session, as the old server issued them: the
        // profile scenarios measure the path today's app takes.
        let exp = splitlyr::auth::jwt::now_secs() + keys.ttl().as_secs();
        let token = keys.issue_without_session(u.id, exp)?;
        let friend = p.users[p.friends[i][0]].id.to_hex();
        let (group_id, mates) = match p.groups_of[i].first() {
            Some(&g) => (
                lua_str(&p.groups[g].id.to_hex()),
                p.members[g]
                    .iter()
                    .filter(|&&m| m != i)
                    .map(|&m| lua_str(&p.users[m].id.to_hex()))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            None => ("nil".to_string(), String::new()),
        };
        let targets = edits.get(&u.id);
        let ids = |list: Option<&Vec<ObjectId>>| {
            list.into_iter()
                .flatten()
                .map(|id| lua_str(&id.to_hex()))
                .collect::<Vec<_>>()
                .join(",")
        };
        let _ = writeln!(
            s,
            "{{id={},token={},email={},friend={},group={},groupmates={{{}}},expenses={},own={{{}}},owe={{{}}}}},",
            lua_str(&u.id.to_hex()),
            lua_str(&token),
            lua_str(&u.email),
            lua_str(&friend),
            group_id,
            mates,
            counts.get(&u.id).copied().unwrap_or(0),
            ids(targets.map(|t| &t.own)),
            ids(targets.map(|t| &t.owe)),
        );
    }
    s.push_str("},\nfocus_users = {");
    let focus: Vec<String> = (1..=shape.focus_users).map(|i| i.to_string()).collect();
    s.push_str(&focus.join(","));
    s.push_str("},\nfocus_groups = {\n");
    for g in 0..shape.focus_groups {
        let members: Vec<String> = p.members[g].iter().map(|m| (m + 1).to_string()).collect();
        let _ = writeln!(
            s,
            "{{id={},members={{{}}}}},",
            lua_str(&p.groups[g].id.to_hex()),
            members.join(",")
        );
    }
    s.push_str("}\n}\n");
    Ok(s)
}

pub(crate) async fn seed(args: &SeedArgs) -> Result<()> {
    let started = Instant::now();
    let shape = Shape {
        users: args.users,
        friends: args.friends,
        groups: args.groups,
        expenses: args.expenses,
        seed: args.seed,
        focus_users: args.focus_users,
        focus_groups: args.focus_groups,
        concentrate: args.concentrate,
    };
    shape.check()?;
    let batch = args.batch;
    if batch == 0 {
        return Err("--batch must be positive".into());
    }
    let out = &args.out;
    let secret = SecretString::from(args.jwt_secret.clone());
    let keys = JwtKeys::new(&secret, std::time::Duration::from_secs(2 * 86_400));
    let cost = bcrypt_cost(args.bcrypt_cost, "bcrypt-cost")?;
    let settings = DatabaseSettings {
        uri: SecretString::from(args.db_uri.clone()),
        name: args.db_name.clone(),
        server_selection_timeout_ms: 10_000,
        health_timeout_ms: 1000,
        max_pool_size: 8,
        upgrade_batch_size: 500,
        write_concern: WriteConcern::Majority,
        journal: true,
    };
    let store = Store::connect(&settings, None).await?;
    let db = store.database();
    if args.drop {
        db.drop().await?;
    } else if !db.list_collection_names().await?.is_empty() {
        return Err(format!(
            "database {} is not empty (pass --drop to replace it)",
            settings.name
        )
        .into());
    }

    let hash_started = Instant::now();
    let hash = bcrypt::hash(PASSWORD, cost)?;
    let hash_ms = hash_started.elapsed().as_millis();
    let p = people(&shape, &hash);
    let now_ms = DateTime::now().timestamp_millis();
    let (expenses, stats) = expenses(&shape, &p, now_ms);
    let mut counts: HashMap<ObjectId, usize> = HashMap::new();
    for e in &expenses {
        for u in &e.participants {
            *counts.entry(*u).or_default() += 1;
        }
    }

    let insert_started = Instant::now();
    db.collection::<UserDoc>("users")
        .insert_many(&p.users)
        .await?;
    db.collection::<GroupDoc>("groups")
        .insert_many(&p.groups)
        .await?;
    let legacy = args.legacy;
    let coll = db.collection::<mongodb::bson::Document>("expenses");
    let total = expenses.len();
    let mut done = 0usize;
    let mut last_report = Instant::now();
    let mut inserts = futures_util::stream::iter(expenses.chunks(batch))
        .map(|chunk| {
            let coll = coll.clone();
            async move {
                let docs = chunk
                    .iter()
                    .map(|e| {
                        if legacy {
                            Ok(legacy::expense(e))
                        } else {
                            mongodb::bson::to_document(e)
                        }
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                coll.insert_many(docs).ordered(false).await?;
                Ok::<usize, BoxError>(chunk.len())
            }
        })
        .buffer_unordered(2);
    while let Some(n) = inserts.try_next().await? {
        done += n;
        if last_report.elapsed() > Duration::from_secs(5) || done == total {
            eprintln!("splitlyr-bench seed: {done}/{total} expenses inserted");
            last_report = Instant::now();
        }
    }
    if legacy {
        db.collection::<mongodb::bson::Document>("users")
            .update_many(
                mongodb::bson::doc! {},
                mongodb::bson::doc! { "$set": { "profileImage": splitlyr::store::upgrade::OLD_PLACEHOLDER_IMAGE, "phoneNumber": "", "__v": 0 } },
            )
            .await?;
    } else {
        // These are Splitlyr's documents: record their schema, so the first
        // start builds the ledger without running the upgrade from the old
        // server's.
        db.collection::<mongodb::bson::Document>("meta")
            .insert_one(mongodb::bson::doc! {
                "_id": "schema",
                "version": splitlyr::store::upgrade::SCHEMA_VERSION,
            })
            .await?;
    }
    let insert_s = insert_started.elapsed().as_secs_f64();

    std::fs::create_dir_all(out)?;
    let edits = edit_targets(&expenses);
    std::fs::write(
        out.join("users.lua"),
        lua_data(&p, &keys, &counts, &edits, &shape)?,
    )?;
    let mut per_user: Vec<usize> = p
        .users
        .iter()
        .map(|u| counts.get(&u.id).copied().unwrap_or(0))
        .collect();
    per_user.sort_unstable();
    let focus_users: HashSet<ObjectId> =
        p.users[..shape.focus_users].iter().map(|u| u.id).collect();
    let focus_groups: HashSet<ObjectId> = p.groups[..shape.focus_groups]
        .iter()
        .map(|g| g.id)
        .collect();
    let summary = json!({
        "db_name": settings.name,
        "users": shape.users,
        "friends_per_user": shape.friends,
        "groups": shape.groups,
        "group_sizes": {
            "min": p.members.iter().map(Vec::len).min(),
            "max": p.members.iter().map(Vec::len).max(),
        },
        "users_in_no_group": p.groups_of.iter().filter(|g| g.is_empty()).count(),
        "expenses": total,
        "group_expenses": stats.group,
        "friend_expenses": stats.friend,
        "paid_by_other": stats.paid_by_other,
        "weighted_splits_expenses": stats.weighted,
        "non_usd_expenses": stats.non_usd,
        "splits": stats.splits,
        "settled_splits": stats.settled_splits,
        "settled_split_share": ratio(stats.settled_splits as f64, stats.splits as f64),
        "settled_expenses": stats.settled_expenses,
        "expenses_per_user": {
            "min": per_user.first(),
            "median": per_user.get(per_user.len() / 2),
            "max": per_user.last(),
            "with_500_or_more": per_user.iter().filter(|&&c| c >= 500).count(),
        },
        "focus": {
            "users": shape.focus_users,
            "groups": shape.focus_groups,
            "concentrated": shape.concentrate,
            "expenses_of_focus": expenses.iter().filter(|e| {
                e.group.is_some_and(|g| focus_groups.contains(&g))
                    || e.participants.iter().any(|u| focus_users.contains(u))
            }).count(),
        },
        // What the balance endpoints return for the focus users and groups
        // (the rotation of the balance scenarios), and for everyone.
        "balances_focus": balance_shape(&p, &expenses, &(0..shape.focus_users).collect::<Vec<_>>(), &(0..shape.focus_groups).collect::<Vec<_>>()),
        "balances_all": balance_shape(&p, &expenses, &(0..shape.users).collect::<Vec<_>>(), &(0..shape.groups).collect::<Vec<_>>()),
        // The same number of expenses without --concentrate (spread over
        // everyone, as the @1k database was before), over all users and groups.
        "balances_all_if_spread": shape.concentrate.then(|| {
            let spread_shape = Shape { concentrate: false, ..shape };
            let (spread, _) = self::expenses(&spread_shape, &p, now_ms);
            balance_shape(&p, &spread, &(0..shape.users).collect::<Vec<_>>(), &(0..shape.groups).collect::<Vec<_>>())
        }),
        "bcrypt_cost": cost,
        "bcrypt_hash_ms": hash_ms,
        "insert_s": round3(insert_s),
        "total_s": round3(started.elapsed().as_secs_f64()),
    });
    std::fs::write(
        out.join("seed.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    println!("{summary}");
    Ok(())
}
