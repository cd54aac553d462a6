//! The DynamoDB store: one table, every record addressed by a string
//! partition key `pk` and sort key `sk`.
//!
//! The key layout is `keys.rs`; records become items in `codec.rs`; SDK
//! errors become [`StoreError`]s in `errors.rs`.
//!
//! Records are stored with `serde_dynamo`, so their attributes carry the
//! models' serde (camelCase) names; the key, index and TTL attributes are
//! added next to them and ignored when reading back. The global secondary
//! index `gsi1` (`gsi1pk`/`gsi1sk`) lists an organization's users
//! (`members`), a user's sessions (`user_sessions`) and the plans
//! (`plans`). It projects the keys and [`GSI1_PROJECTED`] only: no
//! password or token hash is copied into it, and a refresh (which changes
//! neither) writes nothing to it. Whatever else a query needs is read from
//! the table by key. DynamoDB's TTL deletes expired sessions and throttle
//! records on its own, some time after `ttl`.
//!
//! Every read of a record is strongly consistent. The index is not: `members`
//! takes the list of ids from it and then reads the records consistently;
//! `user_sessions` may miss a session created a moment before (ending
//! sessions does not depend on it: the user's session epoch does that).
//! Every write that the contract makes conditional is one conditional request
//! or one transaction, so races are settled by DynamoDB, not by
//! read-then-write:
//!
//! - `create_account`: 5 Puts (7 with the verification token and its
//!   mail), each only where nothing exists yet.
//! - `add_member`: the organization must exist (and gains an owner if the
//!   user is one), the caller must be at its read version, plus the user
//!   and its email lock.
//! - `change_role`: the target at its read version, the caller at its read
//!   version, and the organization's `ownerCount` moved, never below 1.
//!
//! A transaction cancelled by a concurrent one (`TransactionConflict`) is
//! retried a few times (`TX_ATTEMPTS`) with backoff.
//!
//! A lost answer must not become a wrong one. The SDK retries a request
//! whose answer did not arrive (a broken connection, a timeout), and a
//! conditional write that was in fact applied then fails its own condition
//! ("the email is taken": by itself). So every transaction carries a
//! `ClientRequestToken` (DynamoDB then answers an identical retry with the
//! first outcome, for 10 minutes), and every conditional write stamps a
//! fresh `writeId` on an item it writes (the user, the session, the throttle
//! record): when a condition fails, that item is read back, and finding its
//! own `writeId` there means the write was done, by the attempt whose answer
//! was lost. The second check is what works where the token is ignored
//! (moto), and costs one read only on failed conditions.
//!
//! Error strings carry the operation and the error code only, never item
//! contents (hashes, tokens, emails).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, GlobalSecondaryIndex,
    IndexStatus, KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put,
    ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
};
use serde::de::DeserializeOwned;

use super::{LoginLookup, MemberAddition, RoleChange, StatusChange, StoreError, StoreResult};
use crate::model::{
    Identity, LoginThrottle, NewAccount, Organization, Plan, Session, Subscription, UsageKey, User,
};
use crate::role::Role;

mod codec;
mod errors;
mod keys;
mod mail;
mod members;
mod mfa;
mod plans;
mod sessions;
mod settings;
mod table;
mod users;

use codec::*;
use errors::*;
use keys::*;

pub use keys::GSI1_PROJECTED;
pub use mail::{MAIL_INDEX_SHARDS, mail_index_partition};
pub use table::create_table;

type Item = HashMap<String, AttributeValue>;

/// Attempts of a subtraction that races other updates of its counter.
const USAGE_ATTEMPTS: u32 = 8;

/// Only ever written where the item must not exist yet.
const NOT_EXISTS: &str = "attribute_not_exists(pk)";
/// Written whatever is there (create or replace).
const ANY: &str = "attribute_not_exists(pk) OR attribute_exists(pk)";

/// Attempts of a transaction cancelled by concurrent transactions rather
/// than by a condition.
const TX_ATTEMPTS: u32 = 4;
/// Keys per BatchGetItem request (the service's limit).
const BATCH_GET_LIMIT: usize = 100;
/// Attempts of a BatchGetItem while keys come back unprocessed.
const BATCH_ATTEMPTS: u32 = 5;
/// DescribeTable polls while waiting for a new table (and its index).
const TABLE_POLLS: u32 = 120;
const TABLE_POLL_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct DynamoStore {
    /// Built before the store is (at a Lambda's init, not on its first
    /// request: init is not billed to the caller the way a request is, and
    /// AWS builds SDK clients there too).
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn client(&self) -> &Client {
        &self.client
    }

    /// Consistent GetItem of one record.
    async fn get<T: DeserializeOwned>(
        &self,
        (pk, sk): (String, &'static str),
    ) -> StoreResult<Option<T>> {
        const OP: &str = "GetItem";
        let out = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(OP, e))?;
        out.item.map(|item| decode(OP, item)).transpose()
    }

    /// PutItem of a whole item under `condition`.
    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        self.client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .send()
            .await
            .map_err(|e| store_error("PutItem", e))?;
        Ok(())
    }

    /// A conditional PutItem that is recognised as done when its answer was
    /// lost (see the module documentation): stamped with a fresh write id,
    /// and a failed condition read back against it.
    async fn put_once(&self, item: Item, condition: Condition) -> StoreResult<()> {
        let proof = WriteProof::stamp(item)?;
        let item = proof.item.clone();
        match self.put(item, condition).await {
            Err(StoreError::Conflict) if self.written(&proof).await? => Ok(()),
            other => other,
        }
    }

    /// Whether the item of `proof` holds its write id: the write was applied.
    async fn written(&self, proof: &WriteProof) -> StoreResult<bool> {
        const OP: &str = "GetItem";
        let out = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .set_key(Some(proof.key()))
            .consistent_read(true)
            .projection_expression("#w")
            .expression_attribute_names("#w", WRITE_ID)
            .send()
            .await
            .map_err(|e| store_error(OP, e))?;
        let stored = out.item.as_ref().and_then(|item| item.get(WRITE_ID));
        let applied = matches!(stored, Some(AttributeValue::S(id)) if *id == proof.write_id);
        if applied {
            tracing::info!(
                event = "store_retry",
                "a write whose answer was lost had been applied"
            );
        }
        Ok(applied)
    }

    fn tx_put(&self, item: Item, condition: Condition) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .build()
            .map_err(|_| StoreError::Internal("TransactWriteItems: invalid Put".into()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An Update that reports the item it found when its condition fails.
    fn tx_update(
        &self,
        key: Item,
        update: &'static str,
        condition: Condition,
    ) -> StoreResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|_| StoreError::Internal("TransactWriteItems: invalid Update".into()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn tx_check(&self, key: Item, condition: Condition) -> StoreResult<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .build()
            .map_err(|_| {
                StoreError::Internal("TransactWriteItems: invalid ConditionCheck".into())
            })?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Runs one transaction, again (bounded, with backoff) while it loses to
    /// concurrent transactions. With `email`: a lost race after which the
    /// email lock exists is `EmailTaken`. Out of attempts: `Conflict`.
    /// `proof` is one of the items, stamped: a failed condition is first
    /// checked against it, in case it failed against this very transaction.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        decide: fn(&[Reason]) -> Option<StoreError>,
        email: Option<&str>,
        proof: &WriteProof,
    ) -> StoreResult<()> {
        for attempt in 1..=TX_ATTEMPTS {
            // One token per attempt: the SDK's own retries of the attempt
            // resend it, and an attempt of this loop follows a cancelled one.
            let result = self
                .client()
                .await
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(uuid::Uuid::new_v4().to_string())
                .send()
                .await;
            let Err(err) = result else {
                return Ok(());
            };
            match tx_failure(err, decide) {
                TxFailure::Failed(
                    e @ (StoreError::Conflict | StoreError::EmailTaken | StoreError::LastOwner),
                ) => {
                    return if self.written(proof).await? {
                        Ok(())
                    } else {
                        Err(e)
                    };
                }
                TxFailure::Failed(e) => return Err(e),
                TxFailure::Contended => {
                    tracing::debug!(attempt, "transaction lost to a concurrent one");
                    if let Some(email) = email
                        && self.email_lock_owner(email).await?.is_some()
                    {
                        return if self.written(proof).await? {
                            Ok(())
                        } else {
                            Err(StoreError::EmailTaken)
                        };
                    }
                    if attempt < TX_ATTEMPTS {
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                }
            }
        }
        Err(StoreError::Conflict)
    }

    /// Every item a query finds, page after page.
    async fn query_all(&self, request: QueryFluentBuilder) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = request
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Every item of one `gsi1` partition whose `gsi1sk` starts with
    /// `prefix`. The index is eventually consistent.
    async fn query_index(&self, partition: String, prefix: &str) -> StoreResult<Vec<Item>> {
        let request = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", GSI1PK)
            .expression_attribute_names("#sk", GSI1SK)
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":prefix", s(prefix));
        self.query_all(request).await
    }

    async fn email_lock_owner(&self, email: &str) -> StoreResult<Option<String>> {
        let lock: Option<EmailLock> = self.get(email_key(email)).await?;
        Ok(lock.map(|l| l.user_id))
    }

    /// Consistent BatchGetItem of `keys` (any number; order of the answer
    /// unspecified), retrying unprocessed keys a bounded number of times.
    async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        const OP: &str = "BatchGetItem";
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH_GET_LIMIT) {
            let mut pending = chunk.to_vec();
            for attempt in 0.. {
                if attempt == BATCH_ATTEMPTS {
                    return Err(StoreError::Unavailable(format!(
                        "{OP}: keys still unprocessed after {BATCH_ATTEMPTS} attempts"
                    )));
                }
                if attempt > 0 {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|_| StoreError::Internal(format!("{OP}: invalid keys")))?;
                let out = self
                    .client()
                    .await
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| store_error(OP, e))?;
                if let Some(mut responses) = out.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
            }
        }
        Ok(found)
    }
}

/// A write condition with its placeholders.
struct Condition {
    expression: &'static str,
    names: Option<HashMap<String, String>>,
    values: Option<Item>,
}

impl Condition {
    fn new(expression: &'static str) -> Self {
        Self {
            expression,
            names: None,
            values: None,
        }
    }

    fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .get_or_insert_with(HashMap::new)
            .insert(placeholder.into(), attribute.into());
        self
    }

    fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values
            .get_or_insert_with(HashMap::new)
            .insert(placeholder.into(), value);
        self
    }
}

/// An item stamped with a fresh write id, and the id.
struct WriteProof {
    item: Item,
    write_id: String,
}

impl WriteProof {
    fn stamp(mut item: Item) -> StoreResult<WriteProof> {
        if !item.contains_key(PK) || !item.contains_key(SK) {
            return Err(StoreError::Internal("write proof: item without key".into()));
        }
        let write_id = uuid::Uuid::new_v4().to_string();
        item.insert(WRITE_ID.into(), s(&write_id));
        Ok(WriteProof { item, write_id })
    }

    fn key(&self) -> Item {
        [PK, SK]
            .into_iter()
            .filter_map(|k| Some((k.to_string(), self.item.get(k)?.clone())))
            .collect()
    }
}

/// Exponential backoff with full jitter: 0..(25ms * 2^attempt).
fn backoff(attempt: u32) -> Duration {
    let ceiling = 25u64 << attempt.min(6);
    let jitter = (uuid::Uuid::new_v4().as_u128() % u128::from(ceiling)) as u64;
    Duration::from_millis(jitter + 1)
}

/// The table keys (`pk`, `sk`) of items read from the index.
fn table_keys(listed: Vec<Item>) -> StoreResult<Vec<Item>> {
    listed
        .into_iter()
        .map(|mut item| match (item.remove(PK), item.remove(SK)) {
            (Some(pk), Some(sk)) => Ok(HashMap::from([(PK.into(), pk), (SK.into(), sk)])),
            _ => Err(StoreError::Internal("Query: index item without key".into())),
        })
        .collect()
}
