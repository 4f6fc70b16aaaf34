//! Reading a Splitwise group export (the layout of [`super::splitwise`]):
//! its header, then its records one at a time in exact minor units, and
//! what each row books. Nothing here holds more than one record: a file is
//! read twice (checked whole, then written in batches), never kept as rows.
//!
//! What a row books, so that every member's balance moves by exactly their
//! net in that row:
//! - a `Payment` row: one member with a positive net handed that much to
//!   the one member with the opposite net;
//! - any other row: the members with a negative net owe its magnitude (their
//!   share); the members with a positive net are the payers, and the rest
//!   of the cost (`Cost` minus what the others owe) is their own share,
//!   divided equally between them (largest remainder, leftmost column
//!   first); each payer paid their net plus their share. With one payer,
//!   that is Splitwise's "paid the cost, owes the rest".
//!   A member with a zero net is not in the expense (paying exactly one's
//!   own share leaves no trace in the file). A row without any net moves
//!   no money and is skipped.

use std::fmt;

use csv::{ReaderBuilder, StringRecord};
use sha2::{Digest, Sha256};

use super::money::{Currency, Decimal};
use super::splitwise::{unneutralize, FIXED_COLUMNS, PAYMENT, TOTAL_BALANCE};

/// Most member columns a file may have.
pub const MAX_MEMBERS: usize = 200;
/// Most rows a file may have.
pub const MAX_ROWS: usize = 50_000;

/// Why a file is refused; `Display` is the sentence for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// Not a Splitwise group export at all.
    NotAnExport(String),
    /// A row (its line in the file) that cannot be read or booked.
    Row { line: u64, message: String },
    /// Too large to import in one file.
    TooLarge(String),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::NotAnExport(why) => write!(
                f,
                "This is not a Splitwise group export ({why}); expected a header \
                 `Date,Description,Category,Cost,Currency,<member>...`, one row per \
                 expense and `Total balance` rows at the end"
            ),
            FileError::Row { line, message } => write!(f, "Line {line}: {message}"),
            FileError::TooLarge(why) => f.write_str(why),
        }
    }
}

/// A data row: one expense or payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    /// Its line in the file (1 is the header).
    pub line: u64,
    /// `YYYY-MM-DD`, as written.
    pub date: String,
    pub description: String,
    /// Splitwise's category name, as written.
    pub category: String,
    /// Minor units.
    pub cost: i64,
    pub currency: Currency,
    /// Each member column's net, minor units, in column order.
    pub nets: Vec<i64>,
    /// Its cells as written, for the row's import key.
    fingerprint: [u8; 32],
}

impl SourceRow {
    pub fn is_payment(&self) -> bool {
        self.category.eq_ignore_ascii_case(PAYMENT)
    }

    /// The row's key in `group` (hex): the same row of the same file, or of
    /// a later export that repeats it, has the same key. `occurrence` tells
    /// identical rows apart (the second identical taxi ride is its own
    /// expense): 0 for the first in the file, 1 for the next, ...
    pub fn key(&self, group: &str, occurrence: u32) -> String {
        let mut h = Sha256::new();
        h.update(group.as_bytes());
        h.update([0x1f]);
        h.update(self.fingerprint);
        h.update(occurrence.to_be_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The row's content, for counting identical rows.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
}

/// One record of the file after its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Row(SourceRow),
    /// A closing `Total balance` row: each member's balance in `currency`.
    Total {
        line: u64,
        currency: Currency,
        nets: Vec<i64>,
    },
}

/// The header's member columns, in order.
pub fn member_columns(csv: &str) -> Result<Vec<String>, FileError> {
    let mut reader = reader(csv);
    let mut header = StringRecord::new();
    let read = reader
        .read_record(&mut header)
        .map_err(|e| FileError::NotAnExport(format!("it is not CSV: {e}")))?;
    if !read {
        return Err(FileError::NotAnExport("it is empty".into()));
    }
    let cells: Vec<&str> = header
        .iter()
        .map(|c| c.trim_start_matches('\u{feff}').trim())
        .collect();
    let fixed_ok = cells.len() > FIXED_COLUMNS.len()
        && cells
            .iter()
            .zip(FIXED_COLUMNS)
            .all(|(c, want)| c.eq_ignore_ascii_case(want));
    if !fixed_ok {
        return Err(FileError::NotAnExport(format!(
            "its header is `{}`",
            cells.iter().take(8).copied().collect::<Vec<_>>().join(",")
        )));
    }
    let members: Vec<String> = cells[FIXED_COLUMNS.len()..]
        .iter()
        .map(|c| unneutralize(c).to_owned())
        .collect();
    if members.len() > MAX_MEMBERS {
        return Err(FileError::TooLarge(format!(
            "A file may have at most {MAX_MEMBERS} member columns"
        )));
    }
    for (i, m) in members.iter().enumerate() {
        if m.is_empty() {
            return Err(FileError::NotAnExport("a member column has no name".into()));
        }
        if members[..i].contains(m) {
            return Err(FileError::NotAnExport(format!(
                "the column `{m}` appears twice"
            )));
        }
    }
    Ok(members)
}

fn reader(csv: &str) -> csv::Reader<&[u8]> {
    ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_bytes())
}

/// The records after the header, read one at a time.
pub struct Records<'a> {
    text: &'a [u8],
    reader: csv::Reader<&'a [u8]>,
    members: usize,
    record: StringRecord,
    rows: usize,
    /// The line at byte `at` (counted as records are read: the reader's
    /// own line numbers skip blank lines).
    line: (u64, usize),
}

impl<'a> Records<'a> {
    /// `members`: how many member columns the header has.
    pub fn new(csv: &'a str, members: usize) -> Self {
        let mut reader = reader(csv);
        let mut header = StringRecord::new();
        // The header was read by `member_columns`.
        let _ = reader.read_record(&mut header);
        Self {
            text: csv.as_bytes(),
            reader,
            members,
            record: StringRecord::new(),
            rows: 0,
            line: (1, 0),
        }
    }

    /// The line of the file byte `offset` is on.
    fn line_at(&mut self, offset: usize) -> u64 {
        let (line, at) = self.line;
        let mut offset = offset.clamp(at, self.text.len());
        // A record's position may be the blank lines before it.
        while matches!(self.text.get(offset), Some(b'\n' | b'\r')) {
            offset += 1;
        }
        let more = memchr::memchr_iter(b'\n', &self.text[at..offset]).count();
        self.line = (line + more as u64, offset);
        self.line.0
    }

    fn parse(&self, line: u64) -> Result<Record, FileError> {
        let r = &self.record;
        let cell = |i: usize| r.get(i).unwrap_or("").trim();
        let fail = |message: String| FileError::Row { line, message };
        if r.len() != FIXED_COLUMNS.len() + self.members {
            return Err(fail(format!(
                "expected {} cells, found {}",
                FIXED_COLUMNS.len() + self.members,
                r.len()
            )));
        }
        let currency = Currency::parse(cell(4))
            .map_err(|_| fail(format!("`{}` is not a currency code", cell(4))))?;
        let amount = |i: usize, name: &str| {
            minor(cell(i), currency).map_err(|m| fail(format!("{name}: {m}")))
        };
        let mut nets = Vec::with_capacity(self.members);
        for i in 0..self.members {
            nets.push(amount(FIXED_COLUMNS.len() + i, "a member's amount")?);
        }
        if cell(1) == TOTAL_BALANCE {
            return Ok(Record::Total {
                line,
                currency,
                nets,
            });
        }
        let date = cell(0);
        if !is_iso_date(date) {
            return Err(fail(format!("the date `{date}` is not YYYY-MM-DD")));
        }
        let cost = amount(3, "Cost")?;
        if cost < 0 {
            return Err(fail("Cost is negative".into()));
        }
        let mut h = Sha256::new();
        for c in r.iter() {
            h.update(c.trim().as_bytes());
            h.update([0x1f]);
        }
        Ok(Record::Row(SourceRow {
            line,
            date: date.to_owned(),
            description: unneutralize(cell(1)).to_owned(),
            category: unneutralize(cell(2)).to_owned(),
            cost,
            currency,
            nets,
            fingerprint: h.finalize().into(),
        }))
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Err(e) => {
                    let offset = e.position().map_or(0, |p| p.byte() as usize);
                    let line = self.line_at(offset);
                    return Some(Err(FileError::Row {
                        line,
                        message: format!("not readable as CSV ({e})"),
                    }));
                }
                Ok(true) => {}
            }
            let offset = self.record.position().map_or(0, |p| p.byte() as usize);
            let line = self.line_at(offset);
            // Blank lines separate the parts of the file.
            if self.record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            self.rows += 1;
            if self.rows > MAX_ROWS {
                return Some(Err(FileError::TooLarge(format!(
                    "A file may have at most {MAX_ROWS} rows; split it by date"
                ))));
            }
            return Some(self.parse(line));
        }
    }
}

/// Exact minor units of a cell (`-6.25`, `0`, `1500.00` JPY); more decimals
/// than the currency has is an error, not a rounding.
fn minor(text: &str, currency: Currency) -> Result<i64, String> {
    let value = Decimal::parse(text).map_err(|_| format!("`{text}` is not a number"))?;
    value
        .to_fixed(currency.decimals())
        .ok_or_else(|| format!("`{text}` has more decimals than {currency} has"))
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// What a row books, by member column index: who paid what and who owes
/// what (minor units, nothing zero listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// The one who paid most first.
    pub payers: Vec<(usize, i64)>,
    pub shares: Vec<(usize, i64)>,
}

/// The booking of `row` (see the module docs); None when it moves no money.
pub fn booking(row: &SourceRow) -> Result<Option<Booking>, FileError> {
    let fail = |message: &str| FileError::Row {
        line: row.line,
        message: message.into(),
    };
    if row.nets.iter().sum::<i64>() != 0 {
        return Err(fail("the members' amounts do not add up to zero"));
    }
    let positive: Vec<(usize, i64)> = nonzero(row, |n| n > 0);
    let negative: Vec<(usize, i64)> = nonzero(row, |n| n < 0)
        .into_iter()
        .map(|(i, n)| (i, -n))
        .collect();
    if positive.is_empty() {
        return Ok(None);
    }
    if row.is_payment() {
        return match (&positive[..], &negative[..]) {
            ([from], [to]) => Ok(Some(Booking {
                payers: vec![*from],
                shares: vec![*to],
            })),
            _ => Err(fail("a payment is between exactly two members")),
        };
    }
    let owed: i64 = negative.iter().map(|(_, n)| n).sum();
    let rest = row.cost - owed;
    if rest < 0 {
        return Err(fail("the members owe more than the cost"));
    }
    let count = i64::try_from(positive.len()).unwrap_or(1);
    let (each, extra) = (rest / count, rest % count);
    let mut payers = Vec::with_capacity(positive.len());
    let mut shares = negative;
    for (k, (i, net)) in positive.into_iter().enumerate() {
        let own = each + i64::from(i64::try_from(k).unwrap_or(i64::MAX) < extra);
        payers.push((i, net + own));
        if own > 0 {
            shares.push((i, own));
        }
    }
    // The main payer first; ties keep column order.
    payers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    shares.sort_by_key(|(i, _)| *i);
    Ok(Some(Booking { payers, shares }))
}

fn nonzero(row: &SourceRow, keep: impl Fn(i64) -> bool) -> Vec<(usize, i64)> {
    row.nets
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, n)| keep(*n))
        .collect()
}

#[cfg(test)]
#[path = "splitwise_import_tests.rs"]
mod tests;
