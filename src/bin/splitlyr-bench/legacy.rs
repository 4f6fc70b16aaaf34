//! `seed --legacy`: the seeded history written as the old Node server stored
//! it, for measuring the upgrade that takes such a database over: amounts as
//! major-unit numbers (a whole total as an int32), equal splits as the
//! device's float quotients (`100 / 3`), mongoose's `__v`, the profile
//! placeholders, no `payers`, `participants` or recorded schema.

use mongodb::bson::{doc, Bson, Document};
use splitlyr::store::ExpenseDoc;

/// Major units as the old server stored them.
fn major(minor: i64, per_major: i64) -> Bson {
    match i32::try_from(minor / per_major) {
        Ok(whole) if minor % per_major == 0 => Bson::Int32(whole),
        _ => Bson::Double(minor as f64 / per_major as f64),
    }
}

pub fn expense(e: &ExpenseDoc) -> Document {
    let per_major = e.currency.minor_per_major();
    let parts: Vec<i64> = e.split_with.iter().map(|s| s.amount).collect();
    let equal = parts
        .iter()
        .max()
        .zip(parts.iter().min())
        .is_some_and(|(a, b)| a - b <= 1);
    let device_share = e.amount as f64 / per_major as f64 / parts.len().max(1) as f64;
    let splits: Vec<Document> = e
        .split_with
        .iter()
        .map(|s| {
            let amount = if equal {
                Bson::Double(device_share)
            } else {
                major(s.amount, per_major)
            };
            doc! { "user": s.user, "amount": amount, "settled": s.settled, "_id": s.id }
        })
        .collect();
    doc! {
        "_id": e.id,
        "description": &e.description,
        "amount": major(e.amount, per_major),
        "currency": e.currency.code(),
        "createdBy": e.created_by,
        "paidBy": e.paid_by,
        "splitWith": splits,
        "category": e.category.as_str(),
        "date": e.date,
        "group": e.group.map_or(Bson::Null, Bson::ObjectId),
        "isSettled": e.is_settled,
        "createdAt": e.created_at,
        "updatedAt": e.updated_at,
        "__v": 0,
    }
}
