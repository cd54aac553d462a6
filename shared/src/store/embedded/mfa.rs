//! Second factors: the MFA record, and the transactions that spend a code
//! with what it was for.

use super::mail::{insert_mail, write_user};
use super::*;
use crate::model::mail::OutboxMail;
use crate::model::mfa::MfaRecord;
use crate::store::{MfaState, MfaStore};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS mfa_records (
    user_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
"#;

/// Inside the caller's transaction: the record, one version after the
/// stored one (version 1: none stored), else `Conflict`.
fn write_record(conn: &Connection, record: &MfaRecord) -> StoreResult<()> {
    let data = to_json(record)?;
    let version = record.version as i64;
    let changed = match record.version {
        0 => return Err(StoreError::Internal("MFA record without a version".into())),
        1 => conn
            .execute(
                "INSERT INTO mfa_records (user_id, version, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id) DO NOTHING",
                params![record.user_id, version, data],
            )
            .map_err(sqlite_error)?,
        _ => conn
            .execute(
                "UPDATE mfa_records SET version = ?2, data = ?3
                 WHERE user_id = ?1 AND version = ?2 - 1",
                params![record.user_id, version, data],
            )
            .map_err(sqlite_error)?,
    };
    one_row_changed(changed)
}

#[async_trait]
impl MfaStore for EmbeddedStore {
    async fn mfa_state(&self, user_id: &str, throttle_key: &str) -> StoreResult<MfaState> {
        let (user_id, throttle_key) = (user_id.to_owned(), throttle_key.to_owned());
        self.run(move |conn| {
            Ok(MfaState {
                user: read_json(conn, USER_BY_ID, &user_id)?,
                record: read_json(
                    conn,
                    "SELECT data FROM mfa_records WHERE user_id = ?1",
                    &user_id,
                )?,
                throttle: read_json(conn, THROTTLE_BY_EMAIL, &throttle_key)?,
            })
        })
        .await
    }

    async fn put_mfa(&self, record: &MfaRecord) -> StoreResult<()> {
        let record = record.clone();
        self.run(move |conn| write_record(conn, &record)).await
    }

    async fn put_mfa_with_user(&self, record: &MfaRecord, user: &User) -> StoreResult<()> {
        let (record, user) = (record.clone(), user.clone());
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            write_record(&tx, &record)?;
            write_user(&tx, &user)?;
            tx.commit().map_err(sqlite_error)
        })
        .await
    }

    async fn mfa_sign_in(
        &self,
        record: &MfaRecord,
        user: Option<&User>,
        session: &Session,
    ) -> StoreResult<()> {
        let (record, user, session) = (record.clone(), user.cloned(), session.clone());
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            write_record(&tx, &record)?;
            if let Some(user) = &user {
                write_user(&tx, user)?;
            }
            insert_session(&tx, &session)?;
            tx.commit().map_err(sqlite_error)
        })
        .await
    }

    async fn put_mfa_with_mail(&self, record: &MfaRecord, mail: &OutboxMail) -> StoreResult<()> {
        let (record, mail) = (record.clone(), mail.clone());
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            write_record(&tx, &record)?;
            insert_mail(&tx, &mail)?;
            tx.commit().map_err(sqlite_error)
        })
        .await
    }

    async fn verify_session(
        &self,
        session_id: &str,
        epoch: u64,
        at: i64,
        amr: &str,
    ) -> StoreResult<()> {
        let (id, amr) = (session_id.to_owned(), amr.to_owned());
        self.run(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE sessions
                     SET data = json_set(data, '$.epoch', ?2, '$.mfaAt', ?3, '$.mfaAmr', ?4)
                     WHERE id = ?1 AND revoked = 0",
                    params![id, epoch as i64, at, amr],
                )
                .map_err(sqlite_error)?;
            one_row_changed(changed)
        })
        .await
    }
}
