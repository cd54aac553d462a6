//! Sessions: refresh-token families and their revocation.

use super::*;
use crate::store::SessionStore;

fn read_session(conn: &Connection, id: &str) -> StoreResult<Option<Session>> {
    read_json(conn, "SELECT data FROM sessions WHERE id = ?1", id)
}

#[async_trait]
impl SessionStore for EmbeddedStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let session = session.clone();
        self.run(move |conn| insert_session(conn, &session)).await
    }

    async fn create_sign_in_session(&self, session: &Session, org_id: &str) -> StoreResult<()> {
        let (session, org_id) = (session.clone(), org_id.to_owned());
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            check_not_enforcing(&tx, &org_id)?;
            insert_session(&tx, &session)?;
            tx.commit().map_err(sqlite_error)
        })
        .await
    }

    async fn session(&self, session_id: &str) -> StoreResult<Option<Session>> {
        let id = session_id.to_owned();
        self.run(move |conn| read_session(conn, &id)).await
    }

    async fn user_and_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> StoreResult<(Option<User>, Option<Session>)> {
        let (user_id, session_id) = (user_id.to_owned(), session_id.to_owned());
        self.run(move |conn| {
            let user = read_json(conn, "SELECT data FROM users WHERE id = ?1", &user_id)?;
            Ok((user, read_session(conn, &session_id)?))
        })
        .await
    }

    async fn user_sessions(&self, user_id: &str) -> StoreResult<Vec<Session>> {
        let user_id = user_id.to_owned();
        self.run(move |conn| {
            read_all_json(
                conn,
                "SELECT data FROM sessions WHERE user_id = ?1",
                [&user_id],
            )
        })
        .await
    }

    async fn unrevoked_session_ids(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let user_id = user_id.to_owned();
        self.run(move |conn| {
            let mut statement = conn
                .prepare("SELECT id FROM sessions WHERE user_id = ?1 AND revoked = 0")
                .map_err(sqlite_error)?;
            let rows = statement
                .query_map([&user_id], |row| row.get::<_, String>(0))
                .map_err(sqlite_error)?;
            rows.map(|row| row.map_err(sqlite_error)).collect()
        })
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
            one_row_changed(changed)
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

    async fn revoke_live_session(
        &self,
        user_id: &str,
        session_id: &str,
        epoch: u64,
        now: i64,
    ) -> StoreResult<bool> {
        let (user_id, id) = (user_id.to_owned(), session_id.to_owned());
        self.run(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE sessions SET revoked = 1, data = json_set(data, '$.revoked', json('true'))
                     WHERE id = ?1 AND user_id = ?2 AND revoked = 0
                       AND IFNULL(json_extract(data, '$.epoch'), 0) = ?3
                       AND json_extract(data, '$.expiresAt') > ?4",
                    params![id, user_id, epoch as i64, now],
                )
                .map_err(sqlite_error)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn move_session_to_epoch(&self, session_id: &str, epoch: u64) -> StoreResult<()> {
        let id = session_id.to_owned();
        self.run(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE sessions SET data = json_set(data, '$.epoch', ?2)
                     WHERE id = ?1 AND revoked = 0",
                    params![id, epoch as i64],
                )
                .map_err(sqlite_error)?;
            one_row_changed(changed)
        })
        .await
    }
}
