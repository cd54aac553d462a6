//! The mail aggregate on DynamoDB.
//!
//! | pk                  | sk             | item                                                          |
//! |---------------------|----------------|---------------------------------------------------------------|
//! | `MAILTOKEN#<userId>` | `TOKEN#<hash>` | a [`MailToken`] (hash only), in a partition of its user's tokens; `ttl` |
//! | `OUTBOX#<id>`       | `MAIL`         | an [`OutboxMail`]; `gsi1pk` = `OUTBOX#<shard>` ([`mail_index_partition`]), `gsi1sk` = `MAIL#<createdAt>#<id>`; `ttl` |
//! | `MAILLIMIT#<email>` | `RESET`        | the [`MailLimit`] of reset mails to an address; `ttl`         |
//! | `MAILLIMIT#<email>` | `INVITE`       | the [`MailLimit`] of invitations to an address; `ttl`         |
//! | `MAILLIMIT#ORG#<orgId>` | `INVITE`   | the [`MailLimit`] of an organization's invitations; `ttl`     |
//! | `MAILLIMIT#USER#<userId>` | `VERIFY` | the [`MailLimit`] of resent verification mails; `ttl`         |
//! | `MAILPAD#<id>`      | `TOKEN`/`MAIL` | what a reset request for an address without account writes in place of the token and mail: the same sizes (the mail's stand-in in `gsi1` too, partition `MAILPAD#<shard>`); `ttl` |
//!
//! Tokens and counts live outside the user's own partition, so that IAM
//! (`dynamodb:LeadingKeys`) lets the public mail functions write them and
//! nothing of a profile. A token carries its user's id: the account and its
//! tokens are read together, a BatchGetItem and a Query at once. The
//! table's stream carries each new `OUTBOX#` item to the mailer
//! (template.yaml filters the event source mapping to them). (An address
//! holds an `@`, so `MAILLIMIT#ORG#…` and `MAILLIMIT#USER#…` never meet one.)
//!
//! The outbox's index entries are spread over [`MAIL_INDEX_SHARDS`]
//! partitions: in one, every mail of the service would share one index
//! partition's 1,000 writes a second (SCALE.md). Listing the outbox queries
//! them one after another (16 requests; only the operator's tool and the
//! local delivery loop list it).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, ReturnValue, TransactWriteItem};

use super::{
    Condition, DynamoStore, GSI1PK, GSI1SK, Item, NOT_EXISTS, PK, Reason, SK, SK_PROFILE, TTL,
    WriteProof, decide_sign_in, decode, email_key, key, key_owned, n, s, session_item, store_error,
    table_keys, user_item,
};
use crate::model::mail::{
    CountedLimit, MailGrant, MailLimit, MailToken, OUTBOX_KEEP_SECONDS, OutboxMail,
};
use crate::model::{Session, User};
use crate::store::mail::{InvitationLimits, MailStore, ResetGrant, ResetLookup, UserTokens};
use crate::store::{StoreError, StoreResult};

const TOKEN_PREFIX: &str = "TOKEN#";
const TOKEN_PARTITION: &str = "MAILTOKEN#";
const SK_INVITE: &str = "INVITE";
const SK_MAIL: &str = "MAIL";
const SK_RESET: &str = "RESET";
const OUTBOX_PARTITION: &str = "OUTBOX";
/// How long the stand-ins for an unknown address's token and mail are kept.
const PADDING_SECONDS: i64 = 3600;
/// The index partitions of the outbox record's stand-ins: never queried.
const PADDING_PARTITION: &str = "MAILPAD";

/// How many `gsi1` partitions the outbox (and its stand-ins) spread over.
/// API Gateway's default account limit is 10,000 requests a second: even
/// if every one wrote a mail, each partition takes 625 inserts a second
/// (and as many TTL deletions later), under DynamoDB's 1,000.
pub const MAIL_INDEX_SHARDS: u32 = 16;

/// The `gsi1` partition of a mail record (`kind` `OUTBOX`) or of its
/// stand-in (`MAILPAD`) with id `id`: `<kind>#<shard>`, the shard an FNV-1a
/// hash of the id (any stable spread does; ids are random).
pub fn mail_index_partition(kind: &str, id: &str) -> String {
    let hash = id.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    format!("{kind}#{:02}", hash % MAIL_INDEX_SHARDS)
}

fn encode<T: serde::Serialize>(record: &T, pk: String, sk: String) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(record).map_err(|_| {
        StoreError::Internal(format!(
            "cannot encode {} as an item",
            std::any::type_name::<T>()
        ))
    })?;
    item.extend(key_owned(pk, sk));
    Ok(item)
}

fn token_item(token: &MailToken) -> StoreResult<Item> {
    let mut item = encode(
        token,
        format!("{TOKEN_PARTITION}{}", token.user_id),
        format!("{TOKEN_PREFIX}{}", token.hash),
    )?;
    item.insert(TTL.into(), n(token.expires_at));
    Ok(item)
}

fn outbox_key(id: &str) -> Item {
    key(format!("OUTBOX#{id}"), SK_MAIL)
}

pub(super) fn outbox_item(mail: &OutboxMail) -> StoreResult<Item> {
    let mut item = encode(mail, format!("OUTBOX#{}", mail.id), SK_MAIL.into())?;
    item.insert(
        GSI1PK.into(),
        s(mail_index_partition(OUTBOX_PARTITION, &mail.id)),
    );
    item.insert(
        GSI1SK.into(),
        s(format!("MAIL#{:012}#{}", mail.created_at, mail.id)),
    );
    item.insert(TTL.into(), n(mail.expires_at));
    Ok(item)
}

fn limit_key(email: &str) -> (String, &'static str) {
    (format!("MAILLIMIT#{email}"), SK_RESET)
}

fn limit_item(email: &str, limit: &MailLimit) -> StoreResult<Item> {
    let (pk, sk) = limit_key(email);
    counted_item(limit, pk, sk)
}

fn counted_item(limit: &MailLimit, pk: String, sk: &str) -> StoreResult<Item> {
    let mut item = encode(limit, pk, sk.into())?;
    item.insert(TTL.into(), n(limit.expires_at));
    Ok(item)
}

fn org_invite_pk(org_id: &str) -> String {
    format!("MAILLIMIT#ORG#{org_id}")
}

fn address_invite_pk(email: &str) -> String {
    format!("MAILLIMIT#{email}")
}

/// `item` under a key of its own that nothing reads, expiring soon. An
/// item the index lists (the outbox record) is listed by it in a partition
/// of its own, so that the index does the same work for it too.
fn padding(mut item: Item, sk: &str, now: i64) -> Item {
    let id = uuid::Uuid::new_v4().simple().to_string();
    if item.contains_key(GSI1PK) {
        item.insert(
            GSI1PK.into(),
            s(mail_index_partition(PADDING_PARTITION, &id)),
        );
    }
    item.extend(key_owned(format!("{PADDING_PARTITION}#{id}"), sk.into()));
    item.insert(TTL.into(), n(now + PADDING_SECONDS));
    item
}

/// Any failed condition is `Conflict`.
fn decide_nothing(_: &[Reason]) -> Option<StoreError> {
    None
}

impl DynamoStore {
    pub(super) fn tx_delete(
        &self,
        key: Item,
        condition: Option<Condition>,
    ) -> StoreResult<TransactWriteItem> {
        let mut delete = Delete::builder().table_name(&self.table).set_key(Some(key));
        if let Some(condition) = condition {
            delete = delete
                .condition_expression(condition.expression)
                .set_expression_attribute_names(condition.names)
                .set_expression_attribute_values(condition.values);
        }
        let delete = delete
            .build()
            .map_err(|_| StoreError::Internal("TransactWriteItems: invalid Delete".into()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    pub(super) fn token_key(user_id: &str, hash: &str) -> Item {
        key_owned(
            format!("{TOKEN_PARTITION}{user_id}"),
            format!("{TOKEN_PREFIX}{hash}"),
        )
    }

    /// Deletes of a user's tokens that may be gone already.
    pub(super) fn token_deletes(
        &self,
        user_id: &str,
        hashes: &[String],
    ) -> StoreResult<Vec<TransactWriteItem>> {
        hashes
            .iter()
            .map(|h| self.tx_delete(Self::token_key(user_id, h), None))
            .collect()
    }

    /// Spending a presented token: its Delete (it must still be there), the
    /// user's Put (version-checked) and the Deletes of `others`; the user's
    /// item is the stamped proof.
    fn spend(
        &self,
        token_hash: &str,
        others: &[String],
        user: &User,
    ) -> StoreResult<(WriteProof, Vec<TransactWriteItem>)> {
        let proof = WriteProof::stamp(user_item(user)?)?;
        let mut items = vec![
            self.tx_delete(
                Self::token_key(&user.id, token_hash),
                Some(Condition::new("attribute_exists(pk)")),
            )?,
            self.tx_put(proof.item.clone(), Self::user_condition(user)?)?,
        ];
        let others: Vec<String> = others
            .iter()
            .filter(|h| *h != token_hash)
            .cloned()
            .collect();
        items.extend(self.token_deletes(&user.id, &others)?);
        Ok((proof, items))
    }

    /// A count's Put, where it is still what was read.
    pub(super) fn count_put(
        &self,
        counted: &CountedLimit,
        pk: String,
        sk: &str,
    ) -> StoreResult<TransactWriteItem> {
        self.tx_put(
            counted_item(&counted.limit, pk, sk)?,
            count_condition(counted.expected),
        )
    }

    /// The Puts of an invitation's counts, its organization's and its address's.
    pub(super) fn invitation_count_puts(
        &self,
        org_id: &str,
        email: &str,
        org: &CountedLimit,
        address: &CountedLimit,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        Ok(vec![
            self.count_put(org, org_invite_pk(org_id), SK_INVITE)?,
            self.count_put(address, address_invite_pk(email), SK_INVITE)?,
        ])
    }

    fn user_condition(user: &User) -> StoreResult<Condition> {
        let previous = user.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        Ok(Condition::new("#v = :previous AND #e = :email")
            .name("#v", "version")
            .name("#e", "email")
            .value(":previous", n(previous))
            .value(":email", s(&user.email)))
    }

    /// The token and outbox Puts of a grant, each where nothing exists yet.
    pub(super) fn grant_puts(&self, grant: &MailGrant) -> StoreResult<Vec<TransactWriteItem>> {
        Ok(vec![
            self.tx_put(token_item(&grant.token)?, Condition::new(NOT_EXISTS))?,
            self.tx_put(outbox_item(&grant.mail)?, Condition::new(NOT_EXISTS))?,
        ])
    }

    async fn update_outbox(
        &self,
        id: &str,
        update: &str,
        condition: Condition,
        return_new: bool,
    ) -> StoreResult<Option<Item>> {
        let result = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(outbox_key(id)))
            .update_expression(update)
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .return_values(if return_new {
                ReturnValue::AllNew
            } else {
                ReturnValue::None
            })
            .send()
            .await;
        match result.map_err(|e| store_error("UpdateItem", e)) {
            Ok(out) => Ok(out.attributes),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

const SK_RESEND_LIMIT: &str = "VERIFY";

fn resend_limit_pk(user_id: &str) -> String {
    format!("MAILLIMIT#USER#{user_id}")
}

fn resend_limit_item(user_id: &str, limit: &MailLimit) -> StoreResult<Item> {
    counted_item(limit, resend_limit_pk(user_id), SK_RESEND_LIMIT)
}

/// Only where the count is still `expected` (None: where there is none).
fn count_condition(expected: Option<u32>) -> Condition {
    match expected {
        None => Condition::new(NOT_EXISTS),
        Some(count) => Condition::new("#c = :expected")
            .name("#c", "count")
            .value(":expected", n(count)),
    }
}

#[async_trait]
impl MailStore for DynamoStore {
    async fn resend_verification(
        &self,
        limit: &MailLimit,
        expected: Option<u32>,
        grant: &MailGrant,
        address: Option<&CountedLimit>,
    ) -> StoreResult<()> {
        let proof = WriteProof::stamp(resend_limit_item(&grant.token.user_id, limit)?)?;
        let mut items = vec![self.tx_put(proof.item.clone(), count_condition(expected))?];
        items.extend(self.grant_puts(grant)?);
        if let Some(address) = address {
            items.push(self.count_put(
                address,
                address_invite_pk(&grant.token.email),
                SK_INVITE,
            )?);
        }
        self.transact(items, decide_nothing, None, &proof).await
    }

    async fn invitation_limits(&self, org_id: &str, email: &str) -> StoreResult<InvitationLimits> {
        let org_pk = org_invite_pk(org_id);
        let items = self
            .batch_get(vec![
                key(org_pk.clone(), SK_INVITE),
                key(address_invite_pk(email), SK_INVITE),
            ])
            .await?;
        let mut limits = InvitationLimits::default();
        for item in items {
            let is_org = matches!(item.get(PK), Some(AttributeValue::S(pk)) if *pk == org_pk);
            let limit = Some(decode("BatchGetItem", item)?);
            if is_org {
                limits.org = limit;
            } else {
                limits.address = limit;
            }
        }
        Ok(limits)
    }

    async fn reset_lookup(&self, email: &str) -> StoreResult<ResetLookup> {
        let (lock_pk, lock_sk) = email_key(email);
        let (limit_pk, limit_sk) = limit_key(email);
        let items = self
            .batch_get(vec![key(lock_pk.clone(), lock_sk), key(limit_pk, limit_sk)])
            .await?;
        let mut lookup = ResetLookup::default();
        for item in items {
            match item.get(PK) {
                Some(AttributeValue::S(pk)) if *pk == lock_pk => {
                    lookup.user_id =
                        Some(decode::<super::EmailLock>("BatchGetItem", item)?.user_id);
                }
                Some(AttributeValue::S(_)) => lookup.limit = Some(decode("BatchGetItem", item)?),
                _ => return Err(StoreError::Internal("BatchGetItem: item without pk".into())),
            }
        }
        Ok(lookup)
    }

    async fn request_reset(
        &self,
        email: &str,
        limit: &MailLimit,
        expected: Option<u32>,
        grant: ResetGrant<'_>,
    ) -> StoreResult<()> {
        let proof = WriteProof::stamp(limit_item(email, limit)?)?;
        let mut items = vec![self.tx_put(proof.item.clone(), count_condition(expected))?];
        match grant {
            ResetGrant::Account(grant) => items.extend(self.grant_puts(grant)?),
            ResetGrant::StandIn(stand_in) => {
                let now = stand_in.mail.created_at;
                items.push(self.tx_put(
                    padding(token_item(&stand_in.token)?, "TOKEN", now),
                    Condition::new(NOT_EXISTS),
                )?);
                items.push(self.tx_put(
                    padding(outbox_item(&stand_in.mail)?, SK_MAIL, now),
                    Condition::new(NOT_EXISTS),
                )?);
            }
        }
        self.transact(items, decide_nothing, None, &proof).await
    }

    async fn user_tokens(&self, user_id: &str) -> StoreResult<UserTokens> {
        const OP: &str = "Query";
        let request = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(format!("{TOKEN_PARTITION}{user_id}")))
            .consistent_read(true);
        let (user_pk, user_sk) = super::user_key(user_id);
        let (tokens, records) = tokio::join!(
            self.query_all(request),
            self.batch_get(vec![
                key(user_pk, user_sk),
                key(resend_limit_pk(user_id), SK_RESEND_LIMIT),
            ])
        );
        let mut found = UserTokens::default();
        for item in tokens? {
            found.tokens.push(decode(OP, item)?);
        }
        for item in records? {
            match item.get(SK) {
                Some(AttributeValue::S(sk)) if sk == SK_PROFILE => {
                    found.user = Some(decode("BatchGetItem", item)?)
                }
                _ => found.resend_limit = Some(decode("BatchGetItem", item)?),
            }
        }
        Ok(found)
    }

    async fn redeem_verification(
        &self,
        token_hash: &str,
        others: &[String],
        user: &User,
        session: &Session,
    ) -> StoreResult<()> {
        let (proof, spent) = self.spend(token_hash, others, user)?;
        let mut items = vec![self.tx_not_enforcing(&user.org_id)?];
        items.extend(spent);
        items.push(self.tx_put(session_item(session)?, Condition::new(NOT_EXISTS))?);
        self.transact(items, decide_sign_in, None, &proof).await
    }

    async fn redeem_reset(
        &self,
        token_hash: &str,
        others: &[String],
        user: &User,
    ) -> StoreResult<()> {
        let (proof, items) = self.spend(token_hash, others, user)?;
        self.transact(items, decide_nothing, None, &proof).await
    }

    async fn claim_mail(&self, id: &str, now: i64, until: i64) -> StoreResult<Option<OutboxMail>> {
        let condition = Condition::new(
            "attribute_exists(pk) AND attribute_not_exists(#sent) \
             AND (attribute_not_exists(#claim) OR #claim < :now)",
        )
        .name("#sent", "sentAt")
        .name("#claim", "claimedUntil")
        .value(":now", n(now))
        .value(":until", n(until));
        self.update_outbox(id, "SET #claim = :until", condition, true)
            .await?
            .map(|item| decode("UpdateItem", item))
            .transpose()
    }

    async fn release_mail(&self, id: &str) -> StoreResult<()> {
        let condition = Condition::new("attribute_exists(pk)").name("#claim", "claimedUntil");
        self.update_outbox(id, "REMOVE #claim", condition, false)
            .await
            .map(drop)
    }

    async fn mark_mail_sent(&self, id: &str, now: i64) -> StoreResult<()> {
        let condition = Condition::new("attribute_exists(pk)")
            .name("#sent", "sentAt")
            .name("#claim", "claimedUntil")
            .name("#token", "token")
            .name("#ttl", TTL)
            .value(":now", n(now))
            .value(":ttl", n(now + OUTBOX_KEEP_SECONDS));
        self.update_outbox(
            id,
            "SET #sent = :now, #ttl = :ttl REMOVE #claim, #token",
            condition,
            false,
        )
        .await
        .map(drop)
    }

    async fn outbox(&self) -> StoreResult<Vec<OutboxMail>> {
        // One shard after another: a listing is the operator's or the local
        // loop's, and sixteen queries at once queue behind each other on a
        // single-threaded local server (moto) past the SDK's timeout.
        let mut listed = Vec::new();
        for shard in 0..MAIL_INDEX_SHARDS {
            let partition = format!("{OUTBOX_PARTITION}#{shard:02}");
            listed.extend(self.query_index(partition, "MAIL#").await?);
        }
        let mut mails = self
            .batch_get(table_keys(listed)?)
            .await?
            .into_iter()
            .map(|item| decode::<OutboxMail>("BatchGetItem", item))
            .collect::<StoreResult<Vec<_>>>()?;
        mails.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(mails)
    }
}
