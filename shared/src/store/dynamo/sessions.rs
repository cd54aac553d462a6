//! Sessions: refresh-token families and their revocation.

use super::*;
use crate::store::SessionStore;

impl DynamoStore {
    /// A sign-in transaction's first item: organization `org_id` does not
    /// enforce MFA (a record written before the field: it does not).
    /// [`decide_sign_in`] reads its failure as `MfaEnforced`.
    pub(super) fn tx_not_enforcing(&self, org_id: &str) -> StoreResult<TransactWriteItem> {
        let (pk, sk) = org_key(org_id);
        let condition = Condition::new("attribute_not_exists(#m) OR #m = :false")
            .name("#m", "mfaEnforced")
            .value(":false", AttributeValue::Bool(false));
        self.tx_check(key(pk, sk), condition)
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        self.put_once(session_item(session)?, Condition::new(NOT_EXISTS))
            .await
    }

    async fn create_sign_in_session(&self, session: &Session, org_id: &str) -> StoreResult<()> {
        // A ConditionCheck rather than a read first: the organization costs
        // the sign-in no round trip of its own.
        let proof = WriteProof::stamp(session_item(session)?)?;
        let items = vec![
            self.tx_not_enforcing(org_id)?,
            self.tx_put(proof.item.clone(), Condition::new(NOT_EXISTS))?,
        ];
        self.transact(items, decide_sign_in, None, &proof).await
    }

    async fn session(&self, session_id: &str) -> StoreResult<Option<Session>> {
        self.get(session_key(session_id)).await
    }

    async fn user_and_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> StoreResult<(Option<User>, Option<Session>)> {
        const OP: &str = "BatchGetItem";
        let (user_pk, user_sk) = user_key(user_id);
        let (session_pk, session_sk) = session_key(session_id);
        let items = self
            .batch_get(vec![
                key(user_pk.clone(), user_sk),
                key(session_pk.clone(), session_sk),
            ])
            .await?;
        let (mut user, mut session) = (None, None);
        for item in items {
            match item.get(PK) {
                Some(AttributeValue::S(pk)) if *pk == user_pk => user = Some(decode(OP, item)?),
                Some(AttributeValue::S(pk)) if *pk == session_pk => {
                    session = Some(decode(OP, item)?)
                }
                _ => return Err(StoreError::Internal(format!("{OP}: unexpected item"))),
            }
        }
        Ok((user, session))
    }

    async fn user_sessions(&self, user_id: &str) -> StoreResult<Vec<Session>> {
        // The index names the sessions; their records come from the table.
        let listed = self
            .query_index(format!("USER#{user_id}"), SESSION_PREFIX)
            .await?;
        self.batch_get(table_keys(listed)?)
            .await?
            .into_iter()
            .map(|item| decode("BatchGetItem", item))
            .collect()
    }

    async fn unrevoked_session_ids(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let listed = self
            .query_index(format!("USER#{user_id}"), SESSION_PREFIX)
            .await?;
        // The index holds keys and `revoked` only: the id is the key's.
        Ok(listed
            .into_iter()
            .filter(|item| !matches!(item.get("revoked"), Some(AttributeValue::Bool(true))))
            .filter_map(|item| match item.get(PK) {
                Some(AttributeValue::S(pk)) => pk.strip_prefix(SESSION_PREFIX).map(str::to_owned),
                _ => None,
            })
            .collect())
    }

    async fn rotate_session(
        &self,
        session: &Session,
        expected_token_hash: &str,
    ) -> StoreResult<()> {
        let condition = Condition::new("#th = :expected AND #r = :false")
            .name("#th", "tokenHash")
            .name("#r", "revoked")
            .value(":expected", s(expected_token_hash))
            .value(":false", AttributeValue::Bool(false));
        self.put_once(session_item(session)?, condition).await
    }

    async fn revoke_session(&self, session_id: &str) -> StoreResult<()> {
        match self
            .update_session(
                session_id,
                "SET #r = :true",
                Condition::new("attribute_exists(pk)").revoking(),
            )
            .await
        {
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn revoke_live_session(
        &self,
        user_id: &str,
        session_id: &str,
        epoch: u64,
        now: i64,
    ) -> StoreResult<bool> {
        let live = Condition::new("#u = :user AND #r = :false AND #e = :epoch AND #x > :now")
            .revoking()
            .name("#u", "userId")
            .name("#e", "epoch")
            .name("#x", "expiresAt")
            .value(":user", s(user_id))
            .value(":false", AttributeValue::Bool(false))
            .value(":epoch", n(epoch))
            .value(":now", n(now));
        match self
            .update_session(session_id, "SET #r = :true", live)
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn move_session_to_epoch(&self, session_id: &str, epoch: u64) -> StoreResult<()> {
        let condition = Condition::new("#r = :false")
            .name("#r", "revoked")
            .name("#e", "epoch")
            .value(":false", AttributeValue::Bool(false))
            .value(":epoch", n(epoch));
        self.update_session(session_id, "SET #e = :epoch", condition)
            .await
    }
}

impl Condition {
    /// The names and values of `SET #r = :true` (`revoked`).
    fn revoking(self) -> Self {
        self.name("#r", "revoked")
            .value(":true", AttributeValue::Bool(true))
    }
}

impl DynamoStore {
    /// One conditional update of a session record; `condition` names every
    /// placeholder of both expressions. `Conflict` when the condition fails
    /// (which covers a session that is gone).
    pub(super) async fn update_session(
        &self,
        session_id: &str,
        update: &'static str,
        condition: Condition,
    ) -> StoreResult<()> {
        let (pk, sk) = session_key(session_id);
        self.client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(update)
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
    }
}
