//! The recurring scheduler's cost: `recurring-seed` writes `--series` active
//! monthly series straight into the export scenario's database (templates:
//! group expenses of two of its members), not due for a day or more; with
//! `--due` they start today and are due at once, and `--wait` follows the
//! `occurrences` collection until the running server's scheduler has
//! created one occurrence of each, timed.

use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde_json::json;
use splitlyr::domain::recurrence::{Frequency, SeriesStatus};
use splitlyr::store::recurring::SeriesDoc;

use crate::args::RecurringSeedArgs;
use crate::{round3, Result};

pub(crate) async fn recurring_seed(args: &RecurringSeedArgs) -> Result<()> {
    let store = crate::seed::connect(&args.db_uri, &args.db_name).await?;
    let db = store.database();
    let group: Document = db
        .collection::<Document>("groups")
        .find_one(doc! {})
        .await?
        .ok_or("the export database has no group")?;
    let gid = group.get_object_id("_id")?;
    let members: Vec<ObjectId> = group
        .get_array("members")?
        .iter()
        .filter_map(|m| m.as_document()?.get_object_id("user").ok())
        .collect();
    if members.len() < 2 {
        return Err("the export group needs two members".into());
    }
    let occurrences = db.collection::<Document>("occurrences");
    // The collection's count from its metadata: the polls below cost the
    // database next to nothing, so they do not blur what the scheduler costs.
    let before = occurrences.estimated_document_count().await?;
    let today = Utc::now().date_naive();
    let now = DateTime::now();
    let started = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    for i in 0..args.series {
        let (a, b) = (members[i % members.len()], members[(i + 1) % members.len()]);
        // Not due: from tomorrow on, spread over four weeks.
        let ahead = if args.due { 0 } else { 1 + (i % 28) as u64 };
        let start = today + Days::new(ahead);
        let midnight = start.and_hms_opt(0, 0, 0).ok_or("a day has a midnight")?;
        let template = mongodb::bson::to_document(&json!({
            "description": format!("Rent {i}"),
            "amount": 10,
            "currency": "USD",
            "groupId": gid.to_hex(),
            "paidBy": a.to_hex(),
            "splitWith": [
                { "user": a.to_hex(), "amount": 5 },
                { "user": b.to_hex(), "amount": 5 },
            ],
        }))?;
        let day = start.format("%Y-%m-%d").to_string();
        let series = SeriesDoc {
            id: ObjectId::new(),
            created_by: a,
            group: Some(gid),
            people: vec![a, b],
            template,
            template_from: 1,
            frequency: Frequency::Monthly,
            interval: 1,
            start_date: day.clone(),
            time_zone: "UTC".into(),
            end_after: None,
            end_date: None,
            status: SeriesStatus::Active,
            paused_reason: None,
            next: 1,
            next_date: Some(day),
            due: Some(DateTime::from_millis(midnight.and_utc().timestamp_millis())),
            created_count: 0,
            skipped_count: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        batch.push(series);
        if batch.len() == 1000 || i + 1 == args.series {
            db.collection::<SeriesDoc>("recurring")
                .insert_many(std::mem::take(&mut batch))
                .await?;
        }
    }
    let seeded_s = started.elapsed().as_secs_f64();
    if !args.wait {
        println!(
            "{}",
            json!({ "series": args.series, "seed_s": round3(seeded_s) })
        );
        return Ok(());
    }
    let want = before + args.series as u64;
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let mut made = before;
    while made < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        made = occurrences.estimated_document_count().await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let created = made - before;
    println!(
        "{}",
        json!({
            "series": args.series,
            "created": created,
            "seconds": round3(seconds),
            "per_s": round3(created as f64 / seconds),
        })
    );
    if made < want {
        return Err(format!(
            "only {created} of {} occurrences within {} s",
            args.series, args.max_seconds
        )
        .into());
    }
    Ok(())
}
