//! Sessions: refresh-token families and their revocation.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Revokes every session of the user except `keep`; returns how many.
    async fn revoke_user_sessions(&self, user_id: &str, keep: Option<&str>) -> StoreResult<usize>;

    async fn create_session(&self, session: &Session) -> StoreResult<()>;

    async fn session(&self, session_id: &str) -> StoreResult<Option<Session>>;

    /// Replaces the session only if it is not revoked and its current token
    /// hash is still `expected_token_hash`: of two rotations of one token,
    /// exactly one wins. `Conflict` for the loser.
    async fn rotate_session(&self, session: &Session, expected_token_hash: &str)
    -> StoreResult<()>;

    /// Marks the session revoked. Unknown ids are not an error.
    async fn revoke_session(&self, session_id: &str) -> StoreResult<()>;
}
