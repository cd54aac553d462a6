//! Sessions: refresh-token families and their revocation.

use super::*;
use crate::store::SessionStore;

#[async_trait]
impl SessionStore for EmbeddedStore {
    async fn revoke_user_sessions(&self, user_id: &str, keep: Option<&str>) -> StoreResult<usize> {
        let (user_id, keep) = (user_id.to_owned(), keep.unwrap_or_default().to_owned());
        self.run(move |conn| {
            conn.execute(
                "UPDATE sessions SET revoked = 1, data = json_set(data, '$.revoked', json('true'))
                 WHERE user_id = ?1 AND id != ?2 AND revoked = 0",
                params![user_id, keep],
            )
            .map_err(sqlite_error)
        })
        .await
    }

    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let data = to_json(session)?;
        let s = session.clone();
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO sessions (id, user_id, token_hash, revoked, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.id, s.user_id, s.token_hash, s.revoked, data],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict
                } else {
                    sqlite_error(e)
                }
            })?;
            Ok(())
        })
        .await
    }

    async fn session(&self, session_id: &str) -> StoreResult<Option<Session>> {
        let id = session_id.to_owned();
        self.run(move |conn| read_json(conn, "SELECT data FROM sessions WHERE id = ?1", &id))
            .await
    }

    async fn rotate_session(
        &self,
        session: &Session,
        expected_token_hash: &str,
    ) -> StoreResult<()> {
        let data = to_json(session)?;
        let (id, hash, expected) = (
            session.id.clone(),
            session.token_hash.clone(),
            expected_token_hash.to_owned(),
        );
        self.run(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE sessions SET token_hash = ?2, data = ?3
                     WHERE id = ?1 AND token_hash = ?4 AND revoked = 0",
                    params![id, hash, data, expected],
                )
                .map_err(sqlite_error)?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict)
            }
        })
        .await
    }

    async fn revoke_session(&self, session_id: &str) -> StoreResult<()> {
        let id = session_id.to_owned();
        self.run(move |conn| {
            conn.execute(
                "UPDATE sessions SET revoked = 1, data = json_set(data, '$.revoked', json('true'))
                 WHERE id = ?1",
                [id],
            )
            .map_err(sqlite_error)?;
            Ok(())
        })
        .await
    }
}
