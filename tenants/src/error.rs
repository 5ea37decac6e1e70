//! The error type of every storage operation, translated from the database where SQL lives.

/// What went wrong in a storage operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row, tenant or token asked for does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique value (slug, e-mail, host name, token name) is already taken.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The input was rejected before it reached the database.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field that was rejected.
        field: &'static str,
        /// Why, in words an operator can act on.
        reason: String,
    },
    /// The request is valid but the present state forbids it (a ticket that cannot be
    /// reopened, an invoiced time entry, a ticket awaiting approval).
    #[error("{code}: {reason}")]
    Refused {
        /// A stable snake_case code clients match on.
        code: &'static str,
        /// Why, in words a person can act on.
        reason: String,
    },
    /// The tenant exists but cannot be used in its present state.
    #[error("tenant is {0}")]
    TenantUnavailable(&'static str),
    /// A migration found in the database differs from the one embedded in this binary.
    #[error("migration {version} was changed after it was applied")]
    MigrationChanged {
        /// The version whose checksum differs.
        version: i64,
    },
    /// The database holds a schema newer than this binary knows.
    #[error("schema version {found} is newer than this binary's {known}")]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this binary embeds.
        known: i64,
    },
    /// The database failed or could not be reached.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// A file of the embedded backend could not be created or removed.
    #[error("file system error on {path}")]
    Io {
        /// The file or folder concerned.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// Translates a database error, naming the conflicting value for known unique constraints.
    pub fn from_db(error: sqlx::Error, what: &'static str) -> Self {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound(what),
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::Database(error),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound("row"),
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict("value"),
            _ => StoreError::Database(error),
        }
    }
}
