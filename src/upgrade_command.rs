//! The `upgrade` subcommand: `splitlyr upgrade --dry-run` prints what taking
//! over the database would do without writing; `splitlyr upgrade` does it
//! (indexes, schema upgrade, ledger; waiting for another process that holds
//! the upgrade lease) and prints the report, then exits.

use std::process::ExitCode;

use crate::configuration::Settings;
use crate::store::readiness::Readiness;
use crate::store::upgrade::UpgradeReport;
use crate::store::Store;

pub async fn run(settings: &Settings, dry_run: bool) -> ExitCode {
    let store = match Store::connect(&settings.database, None).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("splitlyr upgrade: database configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let name = &settings.database.name;
    let outcome = if dry_run {
        store.upgrade_dry_run(|moved| println!("  {moved}")).await
    } else {
        let batch = settings.database.upgrade_batch_size;
        match store.prepare(&Readiness::default(), batch).await {
            Ok(()) => store.upgrade_report().await,
            Err(e) => Err(e),
        }
    };
    match outcome {
        Ok(report) => {
            print!("{}", describe(name, &report));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("splitlyr upgrade: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The report as the operator reads it.
fn describe(database: &str, r: &UpgradeReport) -> String {
    let mode = if r.dry_run {
        "dry run, nothing written"
    } else {
        "done"
    };
    let documents: Vec<String> = r
        .documents
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    let mut out = format!(
        "database {database}: schema {} -> {} ({mode})\ndocuments: {}\n",
        r.from_version,
        r.to_version,
        documents.join(", ")
    );
    if r.from_version >= r.to_version && r.dry_run {
        out.push_str("already at the current schema: the upgrade has nothing to convert\n");
        return out;
    }
    out.push_str(&format!(
        "pending friends: {} repeating an earlier one's adder and email or phone removed\n",
        r.pending_duplicates
    ));
    out.push_str(&format!(
        "expenses of an earlier Splitlyr: {} typed as expenses split exactly (schema 3)\n",
        r.typed_expenses
    ));
    out.push_str(&format!(
        "profile photos kept inline by the old server: {} stored as pictures, {} not pictures we accept removed (schema 4)\n",
        r.inline_photos, r.dropped_photos
    ));
    if r.from_version >= 1 {
        return out;
    }
    let e = &r.expenses;
    out.push_str(&format!(
        "expenses: {} converted to integer minor units, {} already in Splitlyr's format, {} cannot be converted (moved to upgradequarantine)\n",
        e.converted, e.already_current, e.quarantined
    ));
    out.push_str(&format!(
        "users: {} placeholder profile images and {} empty phone numbers cleared\n",
        r.users.placeholder_images, r.users.empty_phones
    ));
    out.push_str(&format!(
        "{} expenses had a split moved by more than half a minor unit by rounding{}\n",
        r.moved_expenses,
        if r.dry_run {
            " (listed above)"
        } else {
            " (listed in the log and in the migrationroundings collection)"
        }
    ));
    out
}
