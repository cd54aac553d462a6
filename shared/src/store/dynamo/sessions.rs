//! Sessions: refresh-token families and their revocation.

use super::*;
use crate::store::SessionStore;

#[async_trait]
impl SessionStore for DynamoStore {
    async fn revoke_user_sessions(&self, user_id: &str, keep: Option<&str>) -> StoreResult<usize> {
        // The index may lag behind a session created a moment ago, and may
        // still show one revoked a moment ago as active: the updates are
        // conditional, so only real revocations count.
        let listed = self
            .query_index(format!("USER#{user_id}"), "SESSION#")
            .await?;
        // The index holds keys and `revoked` only: the id is the key's.
        let ids: Vec<String> = listed
            .into_iter()
            .filter(|item| !matches!(item.get("revoked"), Some(AttributeValue::Bool(true))))
            .filter_map(|item| match item.get(PK) {
                Some(AttributeValue::S(pk)) => pk.strip_prefix(SESSION_PREFIX).map(str::to_owned),
                _ => None,
            })
            .filter(|id| Some(id.as_str()) != keep)
            .collect();
        let mut revoked = 0;
        for batch in ids.chunks(REVOKE_CONCURRENCY) {
            let mut tasks = tokio::task::JoinSet::new();
            for id in batch {
                let (store, id) = (self.clone(), id.clone());
                tasks.spawn(async move { store.revoke_if_active(&id).await });
            }
            while let Some(result) = tasks.join_next().await {
                let was_active = result.map_err(|_| {
                    StoreError::Internal("UpdateItem: revocation task failed".into())
                })??;
                revoked += usize::from(was_active);
            }
        }
        Ok(revoked)
    }

    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        self.put_once(session_item(session)?, Condition::new(NOT_EXISTS))
            .await
    }

    async fn session(&self, session_id: &str) -> StoreResult<Option<Session>> {
        self.get(session_key(session_id)).await
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
        let (pk, sk) = session_key(session_id);
        let result = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression("SET #r = :true")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#r", "revoked")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        match result.map_err(|e| store_error("UpdateItem", e)) {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl DynamoStore {
    /// Marks one session revoked if it is not yet; whether it was.
    async fn revoke_if_active(&self, session_id: &str) -> StoreResult<bool> {
        let (pk, sk) = session_key(session_id);
        let result = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression("SET #r = :true")
            .condition_expression("#r = :false")
            .expression_attribute_names("#r", "revoked")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        match result.map_err(|e| store_error("UpdateItem", e)) {
            Ok(_) => Ok(true),
            // Already revoked, or gone (TTL).
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
