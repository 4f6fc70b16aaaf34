//! `seed`: writes the data set into MongoDB with the server's own document
//! types, and the Lua data file wrk reads.
//!
//! `lua` writes the data file, `balances` works out the balances of the
//! summary.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::{oid::ObjectId, DateTime};
use secrecy::SecretString;
use serde_json::json;
use splitlyr::auth::JwtKeys;
use splitlyr::configuration::{DatabaseSettings, WriteConcern};
use splitlyr::store::{GroupDoc, Store, UserDoc};

use crate::args::{bcrypt_cost, SeedArgs};
use crate::dataset::{expenses, people, Shape};
use crate::{legacy, ratio, round3, BoxError, Result, PASSWORD};

mod balances;
mod lua;

use balances::balance_shape;
use lua::{edit_targets, lua_data};

/// A store on database `name` of `uri`, as the seeders write with it.
pub(crate) async fn connect(uri: &str, name: &str) -> Result<Store> {
    let settings = DatabaseSettings {
        uri: SecretString::from(uri.to_owned()),
        name: name.to_owned(),
        server_selection_timeout_ms: 10_000,
        health_timeout_ms: 1000,
        max_pool_size: 8,
        upgrade_batch_size: 500,
        write_concern: WriteConcern::Majority,
        journal: true,
        request_deadline_ms: 10_000,
        backfill_minutes: 0,
        backfill_interval_ms: 10_000,
    };
    Ok(Store::connect(&settings, None).await?)
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
    let store = connect(&args.db_uri, &args.db_name).await?;
    let db = store.database();
    if args.drop {
        db.drop().await?;
    } else if !db.list_collection_names().await?.is_empty() {
        return Err(format!(
            "database {} is not empty (pass --drop to replace it)",
            args.db_name
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
                            // Written by this release: journaled history.
                            mongodb::bson::to_document(e).map(|mut d| {
                                d.insert("jv", e.version);
                                d
                            })
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
        journal(&store, &expenses).await?;
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
        "db_name": args.db_name,
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

/// The history the activity and sync scenarios read: one `expense.created`
/// entry per expense, numbered into every viewer's feed as the server's
/// sequencer does it.
async fn journal(store: &Store, expenses: &[splitlyr::store::ExpenseDoc]) -> Result<()> {
    use splitlyr::store::journal::{expense_entry, ExpenseChange};
    let coll = store
        .database()
        .collection::<mongodb::bson::Document>("journal");
    for chunk in expenses.chunks(1000) {
        let docs = chunk
            .iter()
            .filter_map(|e| expense_entry(ExpenseChange::Created, e.created_by, None, Some(e)))
            .map(|entry| mongodb::bson::to_document(&entry))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        coll.insert_many(docs).await?;
    }
    // The sequencer reads through the journal's indexes.
    store
        .ensure_indexes(splitlyr::store::upgrade::SCHEMA_VERSION)
        .await?;
    let mut numbered = 0;
    loop {
        let n = store.sequence_journal(1000).await?;
        if n == 0 {
            break;
        }
        numbered += n;
    }
    eprintln!("splitlyr-bench seed: {numbered} journal entries numbered into the feeds");
    Ok(())
}
