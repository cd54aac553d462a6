//! The DynamoDB store: one table, every record addressed by a string
//! partition key `pk` and sort key `sk`.
//!
//! | pk                 | sk        | item                                                                        |
//! |--------------------|-----------|-----------------------------------------------------------------------------|
//! | `USER#<id>`        | `PROFILE` | the [`User`]; `gsi1pk` = `ORG#<orgId>`, `gsi1sk` = `USER#<id>`              |
//! | `EMAIL#<email>`    | `EMAIL`   | uniqueness lock of a (normalized) email: `userId`                           |
//! | `ORG#<id>`         | `META`    | the [`Organization`]                                                        |
//! | `ORG#<id>`         | `SUB`     | the [`Subscription`]                                                        |
//! | `SESSION#<id>`     | `SESSION` | the [`Session`]; `gsi1pk` = `USER#<userId>`, `gsi1sk` = `SESSION#<id>`, `ttl` = `expiresAt` |
//! | `THROTTLE#<email>` | `LOGIN`   | the [`LoginThrottle`]; `ttl` = `expiresAt`                                  |
//! | `ORG#<id>`         | `USAGE#<capability>#<period>` | usage counter: `orgId`, `capability`, `period`, `amount`        |
//! | `PLAN#<id>`        | `META`    | the [`Plan`]; `gsi1pk` = `PLANS`, `gsi1sk` = `PLAN#<id>`                    |
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
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, GlobalSecondaryIndex,
    IndexStatus, KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put,
    ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{LoginLookup, MemberAddition, RoleChange, StatusChange, StoreError, StoreResult};
use crate::model::{
    LoginThrottle, NewAccount, Organization, Plan, Session, Subscription, UsageKey, User,
};
use crate::role::Role;

mod mail;
mod plans;
mod sessions;
mod table;
mod users;

pub use table::create_table;

type Item = HashMap<String, AttributeValue>;

const PK: &str = "pk";
const SK: &str = "sk";
const GSI1: &str = "gsi1";
const GSI1PK: &str = "gsi1pk";
const GSI1SK: &str = "gsi1sk";
/// The attributes `gsi1` projects besides the keys: a session's `revoked`,
/// so that revoking a user's sessions skips those already revoked.
/// template.yaml's index must project the same (tests/deployment.rs).
pub const GSI1_PROJECTED: &[&str] = &["revoked"];
const TTL: &str = "ttl";
/// The attribute of an email lock naming its user.
const LOCK_USER_ID: &str = "userId";
/// A fresh id stamped on each conditional write, so that the write is
/// recognised as its own if its answer was lost and the retry then failed
/// the write's own condition.
const WRITE_ID: &str = "writeId";

const SK_PROFILE: &str = "PROFILE";
const SK_EMAIL: &str = "EMAIL";
const SK_META: &str = "META";
const SK_SUB: &str = "SUB";
const SK_SESSION: &str = "SESSION";
const SK_LOGIN: &str = "LOGIN";
const SESSION_PREFIX: &str = "SESSION#";
/// Usage counters sort under their organization: `USAGE#<capability>#<period>`.
const USAGE_PREFIX: &str = "USAGE#";
/// The index partition that lists every plan.
const PLANS_PARTITION: &str = "PLANS";
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

/// Error codes that mean "busy or briefly out of reach: try again later".
const UNAVAILABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "Throttling",
    "LimitExceededException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Cancellation reason codes of a transaction that lost to a concurrent one.
const CONTENTION_REASONS: &[&str] = &["TransactionConflict", "TransactionInProgress"];
/// Cancellation reason codes of a transaction refused for capacity.
const THROTTLE_REASONS: &[&str] = &["ProvisionedThroughputExceeded", "ThrottlingError"];

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

/// The email lock's own attributes.
#[derive(serde::Deserialize)]
struct EmailLock {
    #[serde(rename = "userId")]
    user_id: String,
}

fn user_key(id: &str) -> (String, &'static str) {
    (format!("USER#{id}"), SK_PROFILE)
}

fn email_key(email: &str) -> (String, &'static str) {
    (format!("EMAIL#{email}"), SK_EMAIL)
}

fn org_key(id: &str) -> (String, &'static str) {
    (format!("ORG#{id}"), SK_META)
}

fn subscription_key(org_id: &str) -> (String, &'static str) {
    (format!("ORG#{org_id}"), SK_SUB)
}

fn session_key(id: &str) -> (String, &'static str) {
    (format!("SESSION#{id}"), SK_SESSION)
}

fn throttle_key(email: &str) -> (String, &'static str) {
    (format!("THROTTLE#{email}"), SK_LOGIN)
}

fn plan_key(id: &str) -> (String, &'static str) {
    (format!("PLAN#{id}"), SK_META)
}

fn usage_key(key: &UsageKey) -> (String, String) {
    (
        format!("ORG#{}", key.org_id),
        format!("{USAGE_PREFIX}{}#{}", key.capability, key.period),
    )
}

fn plan_item(plan: &Plan) -> StoreResult<Item> {
    item(
        plan,
        plan_key(&plan.id),
        [
            (GSI1PK, s(PLANS_PARTITION)),
            (GSI1SK, s(format!("PLAN#{}", plan.id))),
        ],
    )
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

/// `record`'s attributes plus its key and `extra` (index and TTL) attributes.
fn item<T: Serialize>(
    record: &T,
    (pk, sk): (String, &'static str),
    extra: impl IntoIterator<Item = (&'static str, AttributeValue)>,
) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(record).map_err(|_| {
        StoreError::Internal(format!(
            "cannot encode {} as an item",
            std::any::type_name::<T>()
        ))
    })?;
    item.extend(key(pk, sk));
    item.extend(
        extra
            .into_iter()
            .map(|(name, value)| (name.to_string(), value)),
    );
    Ok(item)
}

/// The serde error would quote the offending value: leave it out.
/// Key, index and TTL attributes are dropped first: a record reads back
/// exactly what it wrote, even where its type refuses unknown fields.
fn decode<T: DeserializeOwned>(op: &'static str, mut item: Item) -> StoreResult<T> {
    for attribute in [PK, SK, GSI1PK, GSI1SK, TTL, WRITE_ID] {
        item.remove(attribute);
    }
    serde_dynamo::from_item(item).map_err(|_| {
        StoreError::Internal(format!(
            "{op}: stored item is not a valid {}",
            std::any::type_name::<T>()
        ))
    })
}

fn user_item(user: &User) -> StoreResult<Item> {
    item(
        user,
        user_key(&user.id),
        [
            (GSI1PK, s(format!("ORG#{}", user.org_id))),
            (GSI1SK, s(format!("USER#{}", user.id))),
        ],
    )
}

fn email_lock_item(email: &str, user_id: &str) -> Item {
    let (pk, sk) = email_key(email);
    let mut item = key(pk, sk);
    item.insert(LOCK_USER_ID.into(), s(user_id));
    item
}

fn org_item(org: &Organization) -> StoreResult<Item> {
    item(org, org_key(&org.id), [])
}

fn subscription_item(subscription: &Subscription) -> StoreResult<Item> {
    item(subscription, subscription_key(&subscription.org_id), [])
}

fn session_item(session: &Session) -> StoreResult<Item> {
    item(
        session,
        session_key(&session.id),
        [
            (GSI1PK, s(format!("USER#{}", session.user_id))),
            (GSI1SK, s(format!("SESSION#{}", session.id))),
            (TTL, n(session.expires_at)),
        ],
    )
}

fn throttle_item(email: &str, throttle: &LoginThrottle) -> StoreResult<Item> {
    item(
        throttle,
        throttle_key(email),
        [(TTL, n(throttle.expires_at))],
    )
}

/// The one mapping of SDK errors onto [`StoreError`]: conditional-check
/// failures are `Conflict`, throttling and transport trouble `Unavailable`,
/// anything else `Internal`. Only the operation and the error code/kind go
/// into the message.
fn store_error<E, R>(op: &'static str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(e) => code_error(op, e.err().code()),
        SdkError::TimeoutError(_) => StoreError::Unavailable(format!("{op}: timeout")),
        SdkError::DispatchFailure(e) => {
            let kind = if e.is_timeout() {
                "timeout"
            } else if e.is_io() {
                "connection failure"
            } else {
                "dispatch failure"
            };
            StoreError::Unavailable(format!("{op}: {kind}"))
        }
        SdkError::ResponseError(_) => StoreError::Unavailable(format!("{op}: unreadable response")),
        SdkError::ConstructionFailure(_) => {
            StoreError::Internal(format!("{op}: request construction failed"))
        }
        _ => StoreError::Internal(format!("{op}: unknown SDK error")),
    }
}

fn code_error(op: &'static str, code: Option<&str>) -> StoreError {
    match code {
        Some("ConditionalCheckFailedException") => StoreError::Conflict,
        Some(code) if UNAVAILABLE_CODES.contains(&code) => {
            StoreError::Unavailable(format!("{op}: {code}"))
        }
        Some(code) => StoreError::Internal(format!("{op}: {code}")),
        None => StoreError::Internal(format!("{op}: service error without a code")),
    }
}

/// Why a transaction did not commit.
enum TxFailure {
    /// Lost to a concurrent transaction: nothing was written; worth retrying.
    Contended,
    Failed(StoreError),
}

/// One cancellation reason, as far as the decisions need it.
#[derive(Debug, Default)]
struct Reason {
    /// None also for the "None" real DynamoDB reports for the fine items.
    code: Option<String>,
    /// Whether the item existed (only returned where ALL_OLD was asked for).
    has_item: bool,
}

impl Reason {
    fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }
}

fn condition_failed_at(reasons: &[Reason], index: usize) -> bool {
    reasons.get(index).is_some_and(Reason::condition_failed)
}

/// Classifies a failed TransactWriteItems: `decide` maps the failed
/// conditions that mean something to the operation; lost races are
/// `Contended`; any other failed condition is `Conflict`.
fn tx_failure<R>(
    err: SdkError<TransactWriteItemsError, R>,
    decide: impl Fn(&[Reason]) -> Option<StoreError>,
) -> TxFailure {
    const OP: &str = "TransactWriteItems";
    let service = match err {
        SdkError::ServiceError(e) => e.into_err(),
        other => return TxFailure::Failed(store_error(OP, other)),
    };
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = service else {
        return match service.code() {
            Some(code) if CONTENTION_REASONS.iter().any(|r| code.starts_with(r)) => {
                TxFailure::Contended
            }
            code => TxFailure::Failed(code_error(OP, code)),
        };
    };
    let reasons: Vec<Reason> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|r| Reason {
            code: r.code().filter(|c| *c != "None").map(str::to_owned),
            has_item: r.item().is_some_and(|item| !item.is_empty()),
        })
        .collect();
    let any = |wanted: &[&str]| {
        reasons
            .iter()
            .filter_map(|r| r.code.as_deref())
            .any(|c| wanted.contains(&c))
    };
    if let Some(e) = decide(&reasons) {
        TxFailure::Failed(e)
    } else if any(CONTENTION_REASONS) {
        TxFailure::Contended
    } else if reasons.iter().any(Reason::condition_failed) {
        TxFailure::Failed(StoreError::Conflict)
    } else if any(THROTTLE_REASONS) {
        TxFailure::Failed(StoreError::Unavailable(format!(
            "{OP}: cancelled for capacity"
        )))
    } else {
        let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code.as_deref()).collect();
        TxFailure::Failed(StoreError::Internal(format!(
            "{OP}: cancelled ({})",
            codes.join(", ")
        )))
    }
}

/// create_account's Puts: user, email lock, organization, subscription, session.
fn decide_account(reasons: &[Reason]) -> Option<StoreError> {
    condition_failed_at(reasons, 1).then_some(StoreError::EmailTaken)
}

/// add_member's items: organization check, user, email lock, caller check.
/// A caller that changed is answered before a taken email: the request is
/// decided again on the caller as it is now.
fn decide_member(reasons: &[Reason]) -> Option<StoreError> {
    if condition_failed_at(reasons, 0) || condition_failed_at(reasons, 3) {
        Some(StoreError::Conflict)
    } else {
        condition_failed_at(reasons, 2).then_some(StoreError::EmailTaken)
    }
}

/// change_role's items: target, organization, caller (when another user).
fn decide_role(reasons: &[Reason]) -> Option<StoreError> {
    if condition_failed_at(reasons, 0) || condition_failed_at(reasons, 2) {
        Some(StoreError::Conflict)
    } else if condition_failed_at(reasons, 1) {
        // The organization was there: its owner count was the obstacle.
        Some(if reasons[1].has_item {
            StoreError::LastOwner
        } else {
            StoreError::Conflict
        })
    } else {
        None
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

fn key_owned(pk: String, sk: String) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

/// How long one DynamoDB call may take. A Lambda here runs for at most 10 s,
/// and a store that is out of reach must cost the caller a 503 well before
/// that, not a gateway timeout:
///
/// - connect: 1 s. In-region (or loopback) a connection takes milliseconds;
///   a connect that hangs means a black hole, not a busy server.
/// - one attempt: 2 s. DynamoDB answers in milliseconds (a transaction in
///   tens of them); an attempt this slow is stuck, and another attempt on a
///   fresh connection has a better chance than waiting longer.
/// - the whole call, retries and backoff included: 4 s. The first call that
///   fails ends the request, so a request fails within about 4 s plus its
///   own work, under half the Lambda timeout.
pub fn dynamodb_timeouts() -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(4))
        .build()
}

/// How DynamoDB calls are retried: the SDK's standard strategy (throttling,
/// 5xx, timeouts and broken connections; never a failed condition), 3
/// attempts in all, with exponential backoff and full jitter starting at
/// 200 ms (waits of up to 0.2 s, then up to 0.4 s). A throttled partition
/// gets two spread-out second chances before the caller sees a 503; a
/// refused connection fails in well under a second. The whole-call timeout
/// above bounds it all. Broken connections are not reused.
pub fn dynamodb_retries() -> aws_config::retry::RetryConfig {
    use std::time::Duration;
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(1))
}

/// The standard AWS configuration chain with the timeouts and retries
/// above: what every AWS client of the service is built from (DynamoDB, and
/// Secrets Manager for the keys, whose reads want the same bounds). Loading
/// it makes no network call but reads the root certificates: load it once
/// per process.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(dynamodb_timeouts())
        .retry_config(dynamodb_retries())
        .load()
        .await
}

/// The DynamoDB client, from [`aws_config`]. Building it makes no network call.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&aws_config().await)
}

#[cfg(test)]
mod tests {
    //! The mapping of transaction cancellations, including what only real
    //! DynamoDB sends (`"None"` reasons, `TransactionConflict`).

    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;

    use super::*;

    /// A cancellation; reasons with a `+` after their code carry an item.
    fn cancelled(codes: &[Option<&str>]) -> SdkError<TransactWriteItemsError, ()> {
        let mut e = TransactionCanceledException::builder().meta(
            ErrorMetadata::builder()
                .code("TransactionCanceledException")
                .build(),
        );
        for code in codes {
            let mut reason = CancellationReason::builder();
            if let Some(code) = code {
                reason = reason.code(code.trim_end_matches('+'));
                if code.ends_with('+') {
                    reason = reason.item("pk", s("ORG#o"));
                }
            }
            e = e.cancellation_reasons(reason.build());
        }
        SdkError::service_error(
            TransactWriteItemsError::TransactionCanceledException(e.build()),
            (),
        )
    }

    fn failed(decide: fn(&[Reason]) -> Option<StoreError>, codes: &[Option<&str>]) -> StoreError {
        match tx_failure(cancelled(codes), decide) {
            TxFailure::Failed(e) => e,
            TxFailure::Contended => panic!("contended: {codes:?}"),
        }
    }

    const NONE: Option<&str> = Some("None");
    const CCF: Option<&str> = Some("ConditionalCheckFailed");
    const CCF_ITEM: Option<&str> = Some("ConditionalCheckFailed+");
    const RACE: Option<&str> = Some("TransactionConflict");

    #[test]
    fn email_lock_condition_is_email_taken() {
        for codes in [
            [NONE, CCF, NONE, NONE, NONE],
            [None, CCF, None, None, None],
            [CCF, CCF, NONE, NONE, NONE],
            [NONE, CCF, NONE, NONE, RACE],
        ] {
            let e = failed(decide_account, &codes);
            assert!(matches!(e, StoreError::EmailTaken), "{codes:?}");
        }
        let e = failed(decide_member, &[NONE, NONE, CCF, NONE]);
        assert!(matches!(e, StoreError::EmailTaken));
    }

    #[test]
    fn other_conditions_are_conflicts() {
        for codes in [[CCF, NONE, NONE, NONE, NONE], [NONE, NONE, NONE, NONE, CCF]] {
            let e = failed(decide_account, &codes);
            assert!(matches!(e, StoreError::Conflict), "{codes:?}");
        }
        // A missing organization wins over a taken email, as in SQLite.
        let e = failed(decide_member, &[CCF, NONE, CCF, NONE]);
        assert!(matches!(e, StoreError::Conflict));
        // So does a caller that changed since read.
        let e = failed(decide_member, &[NONE, NONE, CCF, CCF]);
        assert!(matches!(e, StoreError::Conflict));
    }

    #[test]
    fn role_changes() {
        let role = |codes: &[Option<&str>]| failed(decide_role, codes);
        assert!(matches!(role(&[CCF, NONE, NONE]), StoreError::Conflict));
        assert!(matches!(role(&[NONE, NONE, CCF]), StoreError::Conflict));
        assert!(matches!(role(&[CCF, CCF_ITEM, NONE]), StoreError::Conflict));
        assert!(matches!(
            role(&[NONE, CCF_ITEM, NONE]),
            StoreError::LastOwner
        ));
        assert!(matches!(role(&[NONE, CCF_ITEM]), StoreError::LastOwner));
        // No organization at all.
        assert!(matches!(role(&[NONE, CCF, NONE]), StoreError::Conflict));
    }

    #[test]
    fn lost_races_are_contended() {
        for codes in [
            [NONE, RACE, NONE, NONE, NONE],
            [RACE, NONE, NONE, NONE, NONE],
            [None, None, Some("TransactionInProgress"), None, None],
        ] {
            assert!(
                matches!(
                    tx_failure(cancelled(&codes), decide_account),
                    TxFailure::Contended
                ),
                "{codes:?}"
            );
        }
        assert!(matches!(
            tx_failure(cancelled(&[NONE, RACE, NONE]), decide_role),
            TxFailure::Contended
        ));
    }

    #[test]
    fn capacity_and_validation_reasons() {
        let codes = [NONE, NONE, Some("ThrottlingError"), NONE, NONE];
        assert!(matches!(
            failed(decide_account, &codes),
            StoreError::Unavailable(_)
        ));
        let codes = [NONE, Some("ValidationError"), NONE, NONE, NONE];
        match failed(decide_account, &codes) {
            StoreError::Internal(msg) => {
                assert_eq!(msg, "TransactWriteItems: cancelled (ValidationError)")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_codes() {
        assert!(matches!(
            code_error("PutItem", Some("ConditionalCheckFailedException")),
            StoreError::Conflict
        ));
        for code in [
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "ThrottlingException",
        ] {
            match code_error("PutItem", Some(code)) {
                StoreError::Unavailable(msg) => assert_eq!(msg, format!("PutItem: {code}")),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            code_error("GetItem", Some("ValidationException")),
            StoreError::Internal(_)
        ));
        let timeout: SdkError<TransactWriteItemsError, ()> = SdkError::timeout_error("slow");
        assert!(matches!(
            tx_failure(timeout, decide_account),
            TxFailure::Failed(StoreError::Unavailable(_))
        ));
    }
}
