use proptest::prelude::*;

use super::*;

const FILE: &str = "Date,Description,Category,Cost,Currency,Al,Bo,\"Cy, Jr.\"\n\
\n\
2026-03-01,\"Dinner, \"\"the good one\"\"\",Dining out,60.00,USD,40.00,-20.00,-20.00\n\
2026-03-02,Bo paid Al,Payment,20.00,USD,-20.00,20.00,0.00\n\
2026-03-03,Hotel,Hotel,90.00,USD,30.00,30.00,-60.00\n\
2026-03-04,Sushi,Dining out,3000,JPY,0,-1000,1000\n\
2026-03-05,Nothing owed,General,10.00,USD,0.00,0.00,0.00\n\
\n\
2026-12-07,Total balance, , ,USD,50.00,30.00,-80.00\n\
2026-12-07,Total balance, , ,JPY,0,-1000,1000\n";

fn records(csv: &str) -> Vec<Result<Record, FileError>> {
    let members = member_columns(csv).unwrap().len();
    Records::new(csv, members).collect()
}

fn rows(csv: &str) -> Vec<SourceRow> {
    records(csv)
        .into_iter()
        .filter_map(|r| match r.unwrap() {
            Record::Row(row) => Some(row),
            Record::Total { .. } => None,
        })
        .collect()
}

#[test]
fn the_header_names_the_member_columns() {
    assert_eq!(member_columns(FILE).unwrap(), ["Al", "Bo", "Cy, Jr."]);
    for bad in ["", "a,b,c\n", "Date,Description,Category,Cost,Currency\n"] {
        assert!(
            matches!(member_columns(bad), Err(FileError::NotAnExport(_))),
            "{bad:?}"
        );
    }
    let twice = "Date,Description,Category,Cost,Currency,Al,Al\n";
    assert!(member_columns(twice)
        .unwrap_err()
        .to_string()
        .contains("`Al` appears twice"));
}

#[test]
fn rows_and_totals_are_read_in_minor_units_with_quotes_and_blank_lines() {
    let all = records(FILE);
    assert_eq!(all.len(), 7);
    let first = rows(FILE).remove(0);
    assert_eq!(first.line, 3);
    assert_eq!(first.description, "Dinner, \"the good one\"");
    assert_eq!(
        (first.cost, first.nets.clone()),
        (6000, vec![4000, -2000, -2000])
    );
    assert_eq!(
        all[6],
        Ok(Record::Total {
            line: 10,
            currency: Currency::parse("JPY").unwrap(),
            nets: vec![0, -1000, 1000]
        })
    );
}

#[test]
fn a_bad_cell_names_its_line() {
    let bad = FILE.replace("40.00,-20.00,-20.00", "40.001,-20.00,-20.00");
    let err = records(&bad).into_iter().find_map(Result::err).unwrap();
    assert_eq!(
        err,
        FileError::Row {
            line: 3,
            message: "a member's amount: `40.001` has more decimals than USD has".into()
        }
    );
    let short = FILE.replace(
        "Hotel,90.00,USD,30.00,30.00,-60.00",
        "Hotel,90.00,USD,30.00",
    );
    let err = records(&short).into_iter().find_map(Result::err).unwrap();
    assert!(
        err.to_string()
            .starts_with("Line 5: expected 8 cells, found 6"),
        "{err}"
    );
}

#[test]
fn one_payer_paid_the_cost_and_owes_the_rest() {
    let row = &rows(FILE)[0];
    let b = booking(row).unwrap().unwrap();
    assert_eq!(b.payers, vec![(0, 6000)]);
    assert_eq!(b.shares, vec![(0, 2000), (1, 2000), (2, 2000)]);
}

#[test]
fn several_payers_share_the_rest_equally() {
    let row = &rows(FILE)[2];
    let b = booking(row).unwrap().unwrap();
    // 90 - 60 owed = 30 left to Al and Bo, 15 each; each paid net + 15.
    assert_eq!(b.payers, vec![(0, 4500), (1, 4500)]);
    assert_eq!(b.shares, vec![(0, 1500), (1, 1500), (2, 6000)]);
}

#[test]
fn payments_and_rows_without_money() {
    let all = rows(FILE);
    assert!(all[1].is_payment());
    let b = booking(&all[1]).unwrap().unwrap();
    assert_eq!((b.payers, b.shares), (vec![(1, 2000)], vec![(0, 2000)]));
    assert_eq!(booking(&all[4]).unwrap(), None);
}

#[test]
fn impossible_rows_are_refused() {
    let mut row = rows(FILE).remove(0);
    row.nets[0] += 1;
    assert!(booking(&row)
        .unwrap_err()
        .to_string()
        .contains("do not add up to zero"));
    row.nets = vec![1000, -7000, 6000];
    assert!(booking(&row)
        .unwrap_err()
        .to_string()
        .contains("owe more than the cost"));
}

#[test]
fn keys_tell_groups_rows_and_repeats_apart() {
    let all = rows(FILE);
    let k = all[0].key("g1", 0);
    assert_eq!(k.len(), 64);
    assert_eq!(k, all[0].key("g1", 0));
    assert_ne!(k, all[0].key("g2", 0));
    assert_ne!(k, all[0].key("g1", 1));
    assert_ne!(k, all[2].key("g1", 0));
}

proptest! {
    /// Every member's balance moves by exactly their net, and what was paid
    /// and what is owed both add up to the cost.
    #[test]
    fn a_booking_reproduces_the_nets(
        owed in proptest::collection::vec(0i64..100_000, 1..6),
        paid in proptest::collection::vec(1i64..100_000, 1..4),
        own in 0i64..100_000,
    ) {
        let mut nets: Vec<i64> = owed.iter().map(|o| -o).collect();
        let total_owed: i64 = owed.iter().sum();
        // Split what is owed among the payers as their nets.
        let weight: i64 = paid.iter().sum();
        let mut given = 0;
        for (k, p) in paid.iter().enumerate() {
            let n = if k + 1 == paid.len() { total_owed - given } else { total_owed * p / weight };
            given += n;
            nets.push(n);
        }
        prop_assume!(nets.iter().any(|n| *n > 0));
        let row = SourceRow {
            line: 2,
            date: "2026-01-01".into(),
            description: "x".into(),
            category: "General".into(),
            cost: total_owed + own,
            currency: Currency::parse("USD").unwrap(),
            nets: nets.clone(),
            fingerprint: [0; 32],
        };
        let b = booking(&row).unwrap().unwrap();
        let paid_sum: i64 = b.payers.iter().map(|p| p.1).sum();
        let share_sum: i64 = b.shares.iter().map(|s| s.1).sum();
        prop_assert_eq!(paid_sum, row.cost);
        prop_assert_eq!(share_sum, row.cost);
        for (i, net) in nets.iter().enumerate() {
            let p: i64 = b.payers.iter().filter(|x| x.0 == i).map(|x| x.1).sum();
            let s: i64 = b.shares.iter().filter(|x| x.0 == i).map(|x| x.1).sum();
            prop_assert_eq!(p - s, *net);
        }
        prop_assert!(b.payers.iter().chain(&b.shares).all(|x| x.1 > 0));
    }
}
