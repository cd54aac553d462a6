//! The table's key layout: one string partition key `pk` and sort key `sk`
//! per record, and the index and TTL attributes beside them.
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
//! | `IDENTITY#<provider>#<subject>` | `IDENTITY` | a linked provider [`Identity`](crate::model::Identity)  |
//! | `USER#<id>`        | `MFA`     | the user's [`MfaRecord`](crate::model::mfa::MfaRecord) (secrets sealed) |
//! | `THROTTLE#mfa:<userId>` | `LOGIN` | the user's MFA code attempts, a [`LoginThrottle`]                    |

use std::collections::HashMap;

use super::Item;
use crate::model::UsageKey;
use aws_sdk_dynamodb::types::AttributeValue;

pub(super) const PK: &str = "pk";
pub(super) const SK: &str = "sk";
pub(super) const GSI1: &str = "gsi1";
pub(super) const GSI1PK: &str = "gsi1pk";
pub(super) const GSI1SK: &str = "gsi1sk";
/// The attributes `gsi1` projects besides the keys: a session's `revoked`,
/// so that revoking a user's sessions skips those already revoked.
/// template.yaml's index must project the same (tests/deployment.rs).
pub const GSI1_PROJECTED: &[&str] = &["revoked"];
pub(super) const TTL: &str = "ttl";
/// The attribute of an email lock naming its user.
pub(super) const LOCK_USER_ID: &str = "userId";
/// A fresh id stamped on each conditional write, so that the write is
/// recognised as its own if its answer was lost and the retry then failed
/// the write's own condition.
pub(super) const WRITE_ID: &str = "writeId";

pub(super) const SK_PROFILE: &str = "PROFILE";
pub(super) const SK_EMAIL: &str = "EMAIL";
pub(super) const SK_META: &str = "META";
pub(super) const SK_SUB: &str = "SUB";
pub(super) const SK_SESSION: &str = "SESSION";
pub(super) const SK_LOGIN: &str = "LOGIN";
pub(super) const SK_IDENTITY: &str = "IDENTITY";
pub(super) const SK_MFA: &str = "MFA";
pub(super) const SESSION_PREFIX: &str = "SESSION#";
/// Usage counters sort under their organization: `USAGE#<capability>#<period>`.
pub(super) const USAGE_PREFIX: &str = "USAGE#";
/// The index partition that lists every plan.
pub(super) const PLANS_PARTITION: &str = "PLANS";
/// The email lock's own attributes.
#[derive(serde::Deserialize)]
pub(super) struct EmailLock {
    #[serde(rename = "userId")]
    pub(super) user_id: String,
}

pub(super) fn user_key(id: &str) -> (String, &'static str) {
    (format!("USER#{id}"), SK_PROFILE)
}

pub(super) fn email_key(email: &str) -> (String, &'static str) {
    (format!("EMAIL#{email}"), SK_EMAIL)
}

pub(super) fn org_key(id: &str) -> (String, &'static str) {
    (format!("ORG#{id}"), SK_META)
}

pub(super) fn subscription_key(org_id: &str) -> (String, &'static str) {
    (format!("ORG#{org_id}"), SK_SUB)
}

pub(super) fn session_key(id: &str) -> (String, &'static str) {
    (format!("SESSION#{id}"), SK_SESSION)
}

pub(super) fn throttle_key(email: &str) -> (String, &'static str) {
    (format!("THROTTLE#{email}"), SK_LOGIN)
}

pub(super) fn mfa_key(user_id: &str) -> (String, &'static str) {
    (format!("USER#{user_id}"), SK_MFA)
}

pub(super) fn identity_key(provider: &str, subject: &str) -> (String, &'static str) {
    (format!("IDENTITY#{provider}#{subject}"), SK_IDENTITY)
}

pub(super) fn plan_key(id: &str) -> (String, &'static str) {
    (format!("PLAN#{id}"), SK_META)
}

pub(super) fn usage_key(key: &UsageKey) -> (String, String) {
    (
        format!("ORG#{}", key.org_id),
        format!("{USAGE_PREFIX}{}#{}", key.capability, key.period),
    )
}

pub(super) fn key(pk: String, sk: &str) -> Item {
    key_owned(pk, sk.to_owned())
}

pub(super) fn key_owned(pk: String, sk: String) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(pk)),
        (SK.to_string(), AttributeValue::S(sk)),
    ])
}
