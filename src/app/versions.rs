//! Optimistic concurrency inside the application: every change of an
//! expense, a group or a user's friends is decided on the document as read
//! and written only if it is still at that version (the store's conditional
//! write); when it changed meanwhile, the decision is made again on the new
//! version, a bounded number of times. A precondition from the client
//! (`If-Match`, see `crate::http::versions`) turns another version into a
//! 409 `VERSION_CONFLICT` carrying the document as it is now.

use crate::error::ApiError;

/// How often a write without a precondition is re-applied to a document that
/// changed under it before the client is told to retry (409).
pub const ATTEMPTS: usize = 5;

/// The one version-checked retry: runs `attempt` (read, decide, write if
/// unchanged) until it writes (`Some`) or [`ATTEMPTS`] times; `None` when
/// every attempt found the document changed under it.
pub async fn retry<T>(
    mut attempt: impl AsyncFnMut() -> Result<Option<T>, ApiError>,
) -> Result<Option<T>, ApiError> {
    for _ in 0..ATTEMPTS {
        if let Some(done) = attempt().await? {
            return Ok(Some(done));
        }
    }
    Ok(None)
}

/// 409 `VERSION_CONFLICT` carrying the document as it is now (`current`, its
/// rendering; a failure to render is returned instead). `what`: "expense".
pub fn conflict<T: serde::Serialize>(what: &str, current: Result<T, ApiError>) -> ApiError {
    match current.map(serde_json::to_value) {
        Ok(Ok(view)) => ApiError::VersionConflict {
            message: format!("This {what} was changed meanwhile; review it and try again"),
            current: view,
        },
        Ok(Err(e)) => ApiError::internal(e),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_a_stale_write_a_bounded_number_of_times() {
        let mut tries = 0;
        let done = retry(async || {
            tries += 1;
            Ok((tries == 3).then_some(tries))
        })
        .await
        .unwrap();
        assert_eq!(done, Some(3));

        let mut tries = 0;
        let never: Option<()> = retry(async || {
            tries += 1;
            Ok(None)
        })
        .await
        .unwrap();
        assert_eq!((never, tries), (None, ATTEMPTS));
    }

    #[tokio::test]
    async fn an_error_stops_at_once() {
        let mut tries = 0;
        let result: Result<Option<()>, _> = retry(async || {
            tries += 1;
            Err(ApiError::bad_request("no"))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(tries, 1);
    }
}
