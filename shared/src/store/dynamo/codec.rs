//! Records to items and back: `serde_dynamo` with the models' own (camelCase)
//! names, the key, index and TTL attributes added beside them.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::*;
use super::{Item, StoreError, StoreResult};
use crate::model::{Identity, LoginThrottle, Organization, Plan, Session, Subscription, User};
use aws_sdk_dynamodb::types::AttributeValue;

pub(super) fn plan_item(plan: &Plan) -> StoreResult<Item> {
    item(
        plan,
        plan_key(&plan.id),
        [
            (GSI1PK, s(PLANS_PARTITION)),
            (GSI1SK, s(format!("PLAN#{}", plan.id))),
        ],
    )
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// `record`'s attributes plus its key and `extra` (index and TTL) attributes.
pub(super) fn item<T: Serialize>(
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
pub(super) fn decode<T: DeserializeOwned>(op: &'static str, mut item: Item) -> StoreResult<T> {
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

pub(super) fn user_item(user: &User) -> StoreResult<Item> {
    item(
        user,
        user_key(&user.id),
        [
            (GSI1PK, s(format!("ORG#{}", user.org_id))),
            (GSI1SK, s(format!("USER#{}", user.id))),
        ],
    )
}

pub(super) fn email_lock_item(email: &str, user_id: &str) -> Item {
    let (pk, sk) = email_key(email);
    let mut item = key(pk, sk);
    item.insert(LOCK_USER_ID.into(), s(user_id));
    item
}

pub(super) fn identity_item(identity: &Identity) -> StoreResult<Item> {
    item(
        identity,
        identity_key(&identity.provider, &identity.subject),
        [],
    )
}

pub(super) fn org_item(org: &Organization) -> StoreResult<Item> {
    item(org, org_key(&org.id), [])
}

pub(super) fn subscription_item(subscription: &Subscription) -> StoreResult<Item> {
    item(subscription, subscription_key(&subscription.org_id), [])
}

pub(super) fn session_item(session: &Session) -> StoreResult<Item> {
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

pub(super) fn throttle_item(email: &str, throttle: &LoginThrottle) -> StoreResult<Item> {
    item(
        throttle,
        throttle_key(email),
        [(TTL, n(throttle.expires_at))],
    )
}
