//! Why the history store failed: it could not be opened, a query failed, or it has stopped.

/// The store could not be opened or did not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be used (not a chatd database, a newer schema, unreadable).
    #[error("{path}: {message}")]
    Open {
        /// The file or database.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A query failed.
    #[error("history store: {0}")]
    Query(String),
    /// The writer has stopped (the node is shutting down).
    #[error("the history store has stopped")]
    Stopped,
}
