//! Sessions: refresh-token families and their revocation.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &Session) -> StoreResult<()>;

    /// A sign-in's new session (as [`create_session`](Self::create_session)),
    /// only while organization `org_id` does not enforce MFA: `MfaEnforced`
    /// when it does. The organization is checked in the session's own write,
    /// so a sign-in racing enforcement's start is either a session that
    /// existed before it or refused.
    async fn create_sign_in_session(&self, session: &Session, org_id: &str) -> StoreResult<()>;

    async fn session(&self, session_id: &str) -> StoreResult<Option<Session>>;

    /// The user and one session, read together in one round trip: what every
    /// authenticated request checks (the session need not be the user's; the
    /// caller compares).
    async fn user_and_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> StoreResult<(Option<User>, Option<Session>)>;

    /// Every session record of the user, ended ones included, read
    /// consistently (order unspecified). A session created a moment ago
    /// may be missing (DynamoDB's index lags).
    async fn user_sessions(&self, user_id: &str) -> StoreResult<Vec<Session>>;

    /// The ids of the user's sessions not marked revoked (expired ones and
    /// those of an earlier epoch included): a cheap upper bound of how many
    /// are live, one request on DynamoDB.
    async fn unrevoked_session_ids(&self, user_id: &str) -> StoreResult<Vec<String>>;

    /// Replaces the session only if it is not revoked and its current token
    /// hash is still `expected_token_hash`: of two rotations of one token,
    /// exactly one wins. `Conflict` for the loser.
    async fn rotate_session(&self, session: &Session, expected_token_hash: &str)
    -> StoreResult<()>;

    /// Marks the session revoked. Unknown ids are not an error.
    async fn revoke_session(&self, session_id: &str) -> StoreResult<()>;

    /// Marks the session revoked only if it is `user_id`'s, in `epoch`, not
    /// revoked and not past its end at `now`; whether it was.
    async fn revoke_live_session(
        &self,
        user_id: &str,
        session_id: &str,
        epoch: u64,
        now: i64,
    ) -> StoreResult<bool>;

    /// Moves a session that is not revoked into `epoch`: the caller's own
    /// session outliving the epoch change of a password change. `Conflict`
    /// when it is revoked or gone.
    async fn move_session_to_epoch(&self, session_id: &str, epoch: u64) -> StoreResult<()>;
}
