//! Second factors: a user's MFA record, and the writes that spend a code
//! together with what the code was for.

use async_trait::async_trait;

use super::*;
use crate::model::mail::OutboxMail;
use crate::model::mfa::MfaRecord;

/// What a code check reads first, in one consistent read: the account, its
/// MFA record and its code attempts so far.
#[derive(Debug, Clone, Default)]
pub struct MfaState {
    pub user: Option<User>,
    pub record: Option<MfaRecord>,
    pub throttle: Option<LoginThrottle>,
}

#[async_trait]
pub trait MfaStore: Send + Sync {
    /// The user, its MFA record and the attempt count kept under
    /// `throttle_key` (see `service::throttle`), in one read.
    async fn mfa_state(&self, user_id: &str, throttle_key: &str) -> StoreResult<MfaState>;

    /// Writes `record` only where the stored record's version is
    /// `record.version - 1` (version 1: where none is stored); `Conflict`
    /// otherwise. So of two requests that read the same record and spend
    /// the same code, one writes.
    async fn put_mfa(&self, record: &MfaRecord) -> StoreResult<()>;

    /// `record` (as [`put_mfa`](Self::put_mfa)) and `user` (as
    /// `update_user`: at `user.version - 1`), all or nothing: a method
    /// turned on or off moves the user's `mfa_required` (and, turned on, its
    /// session epoch) in the same write.
    async fn put_mfa_with_user(&self, record: &MfaRecord, user: &User) -> StoreResult<()>;

    /// verify-login: `record` (as [`put_mfa`](Self::put_mfa)) and the new
    /// `session` (only where its id is unused: a pending sign-in starts one
    /// session at most), all or nothing. With `user` (an enrollment's
    /// verify-setup: MFA turned on as the session starts), the user too, as
    /// [`put_mfa_with_user`](Self::put_mfa_with_user) writes it.
    async fn mfa_sign_in(
        &self,
        record: &MfaRecord,
        user: Option<&User>,
        session: &Session,
    ) -> StoreResult<()>;

    /// `record` (as [`put_mfa`](Self::put_mfa)) and a new outbox `mail`,
    /// all or nothing: a mailed link's hash and the mail carrying it.
    async fn put_mfa_with_mail(&self, record: &MfaRecord, mail: &OutboxMail) -> StoreResult<()>;

    /// A live session (not revoked) moved into `epoch` and stamped as
    /// having passed a second factor (of RFC 8176 `amr`) at `at`;
    /// `Conflict` when it is gone.
    async fn verify_session(
        &self,
        session_id: &str,
        epoch: u64,
        at: i64,
        amr: &str,
    ) -> StoreResult<()>;
}
