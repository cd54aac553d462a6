//! Second factors: the MFA record beside the user's profile, and the
//! transactions that spend a code with what it was for.

use super::mail::outbox_item;
use super::members::at_version;
use super::*;
use crate::model::mail::OutboxMail;
use crate::model::mfa::MfaRecord;
use crate::store::{MfaState, MfaStore};

fn mfa_item(record: &MfaRecord) -> StoreResult<Item> {
    item(record, mfa_key(&record.user_id), [])
}

/// The record's write condition: one version after the stored one.
fn record_condition(record: &MfaRecord) -> StoreResult<Condition> {
    match record.version {
        0 => Err(StoreError::Internal("MFA record without a version".into())),
        1 => Ok(Condition::new(NOT_EXISTS)),
        v => Ok(at_version(v - 1)),
    }
}

fn decide_nothing(_: &[Reason]) -> Option<StoreError> {
    None
}

#[async_trait]
impl MfaStore for DynamoStore {
    async fn mfa_state(&self, user_id: &str, throttle_key_name: &str) -> StoreResult<MfaState> {
        const OP: &str = "BatchGetItem";
        let (user_pk, user_sk) = user_key(user_id);
        let (mfa_pk, mfa_sk) = mfa_key(user_id);
        let (throttle_pk, throttle_sk) = throttle_key(throttle_key_name);
        let items = self
            .batch_get(vec![
                key(user_pk.clone(), user_sk),
                key(mfa_pk, mfa_sk),
                key(throttle_pk.clone(), throttle_sk),
            ])
            .await?;
        let mut state = MfaState::default();
        for item in items {
            let pk = match item.get(PK) {
                Some(AttributeValue::S(pk)) => pk.clone(),
                _ => return Err(StoreError::Internal(format!("{OP}: item without key"))),
            };
            let sk = match item.get(SK) {
                Some(AttributeValue::S(sk)) => sk.clone(),
                _ => return Err(StoreError::Internal(format!("{OP}: item without key"))),
            };
            match (pk == user_pk, sk.as_str()) {
                (true, SK_PROFILE) => state.user = Some(decode(OP, item)?),
                (true, SK_MFA) => state.record = Some(decode(OP, item)?),
                _ if pk == throttle_pk => state.throttle = Some(decode(OP, item)?),
                _ => return Err(StoreError::Internal(format!("{OP}: unexpected item"))),
            }
        }
        Ok(state)
    }

    async fn put_mfa(&self, record: &MfaRecord) -> StoreResult<()> {
        self.put_once(mfa_item(record)?, record_condition(record)?)
            .await
    }

    async fn put_mfa_with_user(&self, record: &MfaRecord, user: &User) -> StoreResult<()> {
        let previous = user.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let proof = WriteProof::stamp(mfa_item(record)?)?;
        let items = vec![
            self.tx_put(proof.item.clone(), record_condition(record)?)?,
            self.tx_put(user_item(user)?, at_version(previous))?,
        ];
        self.transact(items, decide_nothing, None, &proof).await
    }

    async fn mfa_sign_in(
        &self,
        record: &MfaRecord,
        user: Option<&User>,
        session: &Session,
    ) -> StoreResult<()> {
        let proof = WriteProof::stamp(mfa_item(record)?)?;
        let mut items = vec![self.tx_put(proof.item.clone(), record_condition(record)?)?];
        if let Some(user) = user {
            let previous = user.version.checked_sub(1).ok_or(StoreError::Conflict)?;
            items.push(self.tx_put(user_item(user)?, at_version(previous))?);
        }
        items.push(self.tx_put(session_item(session)?, Condition::new(NOT_EXISTS))?);
        self.transact(items, decide_nothing, None, &proof).await
    }

    async fn put_mfa_with_mail(&self, record: &MfaRecord, mail: &OutboxMail) -> StoreResult<()> {
        let proof = WriteProof::stamp(mfa_item(record)?)?;
        let items = vec![
            self.tx_put(proof.item.clone(), record_condition(record)?)?,
            self.tx_put(outbox_item(mail)?, Condition::new(NOT_EXISTS))?,
        ];
        self.transact(items, decide_nothing, None, &proof).await
    }

    async fn verify_session(
        &self,
        session_id: &str,
        epoch: u64,
        at: i64,
        amr: &str,
    ) -> StoreResult<()> {
        let condition = Condition::new("attribute_exists(pk) AND #r = :false")
            .name("#r", "revoked")
            .name("#e", "epoch")
            .name("#m", "mfaAt")
            .name("#a", "mfaAmr")
            .value(":false", AttributeValue::Bool(false))
            .value(":epoch", n(epoch))
            .value(":at", n(at))
            .value(":amr", s(amr));
        self.update_session(
            session_id,
            "SET #e = :epoch, #m = :at, #a = :amr",
            condition,
        )
        .await
    }
}
