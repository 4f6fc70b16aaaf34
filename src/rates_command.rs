//! The `rates` subcommand: `splitlyr rates import FILE` loads an ECB euro
//! reference rate CSV (the daily file or the whole history) into the rate
//! table, prints what it stored, and exits. A day already in the table is
//! replaced, so loading a file again changes nothing.

use std::io::Read;
use std::process::ExitCode;

use crate::app::rates::{import_ecb, MAX_FILE_BYTES};
use crate::configuration::Settings;
use crate::store::Store;

pub async fn import(settings: &Settings, path: &str) -> ExitCode {
    let text = match read(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("splitlyr rates import: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let store = match Store::connect(&settings.database, None).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("splitlyr rates import: database configuration: {e}");
            return ExitCode::from(2);
        }
    };
    match import_ecb(&store, &text).await {
        Ok(done) => {
            let tables = &done.parsed.tables;
            let days: Vec<String> = tables.iter().map(|t| t.day()).collect();
            let (first, last) = (days.iter().min(), days.iter().max());
            println!(
                "{} days of rates stored ({} new), {} to {}",
                tables.len(),
                done.new_days,
                first.map_or("-", String::as_str),
                last.map_or("-", String::as_str),
            );
            println!("values not available (N/A): {}", done.parsed.missing);
            if !done.parsed.unknown_codes.is_empty() {
                println!(
                    "columns skipped (not an ISO 4217 currency we know): {}",
                    done.parsed.unknown_codes.join(", ")
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("splitlyr rates import: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The file's text, refused past [`MAX_FILE_BYTES`].
fn read(path: &str) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(text)
}
