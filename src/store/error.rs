//! The store's own error: what went wrong with the database, and the few
//! refusals the store itself decides, carrying data rather than sentences.
//! What a client is told is decided where it is mapped to HTTP
//! (`impl From<StoreError> for StoreError`).

/// Any error, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database did not answer: no server could be selected, a
    /// connection broke, or its pool was cleared. Worth trying again shortly.
    #[error(transparent)]
    Unavailable(mongodb::error::Error),
    /// Anything else: a database error that trying again will not fix, a
    /// document that does not read, bytes that do not stream, a broken
    /// invariant.
    #[error(transparent)]
    Internal(BoxError),
    /// A new account's email is registered already (the unique index on
    /// `users.email` refused it).
    #[error("an account with this email exists already")]
    EmailTaken,
    /// Storing a picture would take its owner's pictures past `quota` bytes.
    #[error("pictures over the quota of {quota} bytes")]
    QuotaExceeded { quota: u64 },
}

impl StoreError {
    pub fn internal(e: impl Into<BoxError>) -> Self {
        Self::Internal(e.into())
    }
}

impl From<mongodb::error::Error> for StoreError {
    fn from(e: mongodb::error::Error) -> Self {
        use mongodb::error::ErrorKind;
        match *e.kind {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. } => Self::Unavailable(e),
            _ => Self::Internal(Box::new(e)),
        }
    }
}

/// True when the error is a duplicate-key violation (E11000).
pub fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().any(|w| w.code == 11000)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unreachable_database_is_unavailable() {
        let down = mongodb::error::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(matches!(StoreError::from(down), StoreError::Unavailable(_)));
        let other = mongodb::error::Error::custom("a bug");
        assert!(matches!(StoreError::from(other), StoreError::Internal(_)));
    }
}
