//! How a store operation fails, in the domain's words: the leaf that the
//! domain error (`crate::error`) maps from, so that it imports no store.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another account already holds this email address.
    #[error("email already registered")]
    EmailTaken,
    /// A conditional write lost to a concurrent one (or its precondition no
    /// longer holds). Callers re-read and decide.
    #[error("conditional write failed")]
    Conflict,
    /// The store is throttling or out of reach; worth retrying later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The change would leave the organization without an owner.
    #[error("the organization would have no owner")]
    LastOwner,
    /// A sign-in's new session refused: the organization enforces MFA and
    /// the member has no second factor yet (it enrolls first).
    #[error("the organization enforces MFA")]
    MfaEnforced,
    /// Anything else: a bug or corrupt data. Logged, answered with a 500.
    #[error("store error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
