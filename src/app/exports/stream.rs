//! The body of an export as a stream of chunks of about [`CHUNK`] bytes,
//! produced on demand from the cursor: the client's reading paces the
//! database reads, and memory holds one batch of documents and one chunk,
//! whatever the size of the export. A failure after the first chunk (the
//! status is sent by then) is logged and ends the stream, so the client
//! sees a download that broke off, never a file that looks complete.

use std::time::Duration;

use futures_util::stream::LocalBoxStream;
use futures_util::{StreamExt, TryStreamExt};

use crate::error::ApiError;
use crate::store::exports::{ExportCursor, Exported};

/// The size a chunk reaches before it is sent.
pub const CHUNK: usize = 32 * 1024;
/// Documents read (and their names looked up) at a time.
pub const BATCH: usize = 500;
/// How long one read from the cursor may take before the export gives up.
const READ_LIMIT: Duration = Duration::from_secs(30);

/// The bytes of an export, chunk by chunk.
pub type Body = LocalBoxStream<'static, Result<Vec<u8>, ApiError>>;

/// What an export writes: its start, a row per document, its end.
pub(super) trait Rows {
    /// What comes before the first row.
    fn start(&mut self, out: &mut Vec<u8>) -> Result<(), ApiError>;
    /// Runs before the rows of each batch (looks up the names they need).
    async fn prepare(&mut self, _batch: &[Exported]) -> Result<(), ApiError> {
        Ok(())
    }
    fn row(&mut self, doc: &Exported, out: &mut Vec<u8>) -> Result<(), ApiError>;
    /// What comes after the last row.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ApiError>;
}

enum Stage {
    Start,
    Rows,
    Done,
}

struct Producer<R> {
    docs: ExportCursor,
    rows: R,
    stage: Stage,
    /// The rest of the batch read last, not written yet.
    pending: std::vec::IntoIter<Exported>,
}

/// The export of `docs` written by `rows`, as a stream of chunks.
pub(super) fn body<R: Rows + 'static>(docs: ExportCursor, rows: R) -> Body {
    let producer = Producer {
        docs,
        rows,
        stage: Stage::Start,
        pending: Vec::new().into_iter(),
    };
    futures_util::stream::unfold(producer, |mut p| async move {
        match p.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), p)),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = ?e, "export broken off");
                p.stage = Stage::Done;
                p.pending = Vec::new().into_iter();
                Some((Err(e), p))
            }
        }
    })
    .boxed_local()
}

impl<R: Rows> Producer<R> {
    /// The next chunk, None after the last.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        let mut out = Vec::with_capacity(CHUNK + CHUNK / 4);
        while out.len() < CHUNK {
            match self.stage {
                Stage::Start => {
                    self.rows.start(&mut out)?;
                    self.stage = Stage::Rows;
                }
                Stage::Rows => {
                    if let Some(doc) = self.pending.next() {
                        self.rows.row(&doc, &mut out)?;
                        continue;
                    }
                    let batch = self.read_batch().await?;
                    if batch.is_empty() {
                        self.rows.finish(&mut out)?;
                        self.stage = Stage::Done;
                    } else {
                        self.rows.prepare(&batch).await?;
                        self.pending = batch.into_iter();
                    }
                }
                Stage::Done => break,
            }
        }
        Ok((!out.is_empty()).then_some(out))
    }

    /// Up to [`BATCH`] documents; none at the end of the cursor.
    async fn read_batch(&mut self) -> Result<Vec<Exported>, ApiError> {
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            let next = tokio::time::timeout(READ_LIMIT, self.docs.try_next())
                .await
                .map_err(|_| ApiError::internal("the database did not answer an export's read"))?;
            match next? {
                Some(doc) => batch.push(doc),
                None => break,
            }
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ExpenseDoc, Kind, StoreError};
    use mongodb::bson::{oid::ObjectId, DateTime};

    /// One line per document between a start and an end line.
    struct Lines;

    impl Rows for Lines {
        fn start(&mut self, out: &mut Vec<u8>) -> Result<(), ApiError> {
            out.extend_from_slice(b"start\n");
            Ok(())
        }
        fn row(&mut self, doc: &Exported, out: &mut Vec<u8>) -> Result<(), ApiError> {
            out.extend_from_slice(format!("{:>99}\n", doc.expense.amount).as_bytes());
            Ok(())
        }
        fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ApiError> {
            out.extend_from_slice(b"end\n");
            Ok(())
        }
    }

    fn docs(n: i64, fail_at: Option<i64>) -> ExportCursor {
        let id = ObjectId::new();
        futures_util::stream::iter(0..n)
            .map(move |i| {
                if Some(i) == fail_at {
                    return Err(StoreError::internal("the cursor broke"));
                }
                let mut expense = ExpenseDoc::blank(Kind::Expense, id, id, DateTime::now());
                expense.amount = i;
                Ok(Exported {
                    expense,
                    exchange: None,
                })
            })
            .boxed()
    }

    #[tokio::test]
    async fn chunks_are_bounded_and_carry_every_row_in_order() {
        let chunks: Vec<Vec<u8>> = body(docs(2000, None), Lines).try_collect().await.unwrap();
        assert!(chunks.len() >= 6, "{} chunks", chunks.len());
        for chunk in &chunks {
            assert!(
                chunk.len() < CHUNK + 100,
                "a chunk of {} bytes",
                chunk.len()
            );
        }
        let text = String::from_utf8(chunks.concat()).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(lines.len(), 2002);
        assert_eq!((lines[0], lines[1], lines[2000]), ("start", "0", "1999"));
        assert_eq!(lines[2001], "end");
    }

    #[tokio::test]
    async fn a_failure_ends_the_stream_without_its_end() {
        let items: Vec<Result<Vec<u8>, ApiError>> =
            body(docs(2000, Some(1200)), Lines).collect().await;
        assert!(items.last().unwrap().is_err());
        let written: Vec<u8> = items.into_iter().filter_map(Result::ok).flatten().collect();
        let text = String::from_utf8(written).unwrap();
        assert!(!text.contains("end"), "no end after a failure");
    }
}
