//! What the operator tool does to the data, as plain operations.

use super::{plans, validate};
use crate::error::{Error, Result};
use crate::model::{Plan, Subscription, SubscriptionStatus, UserStatus};
use crate::store::Store;

/// Creates or replaces a plan, after checking it.
pub async fn put_plan(store: &dyn Store, plan: &Plan) -> Result<()> {
    plans::validate(plan)?;
    Ok(store.put_plan(plan).await?)
}

/// Puts an organization on a plan from `now` until `until` (open-ended if
/// None; a past `until` leaves it expired).
pub async fn set_subscription(
    store: &dyn Store,
    org_id: &str,
    plan_id: &str,
    until: Option<i64>,
    now: i64,
) -> Result<Subscription> {
    if store.organization(org_id).await?.is_none() {
        return Err(Error::validation(format!("no organization {org_id}")));
    }
    if plans::plan(store, plan_id).await?.is_none() {
        return Err(Error::validation(format!("no plan {plan_id}")));
    }
    let subscription = Subscription {
        org_id: org_id.to_owned(),
        plan_id: plan_id.to_owned(),
        status: SubscriptionStatus::Active,
        starts_at: now.min(until.unwrap_or(now)),
        ends_at: until,
    };
    store.put_subscription(&subscription).await?;
    Ok(subscription)
}

pub async fn cancel_subscription(store: &dyn Store, org_id: &str) -> Result<Subscription> {
    let mut subscription = store
        .subscription(org_id)
        .await?
        .ok_or_else(|| Error::validation(format!("organization {org_id} has no subscription")))?;
    subscription.status = SubscriptionStatus::Cancelled;
    store.put_subscription(&subscription).await?;
    Ok(subscription)
}

/// Activates or deactivates the account of an email. A deactivated account
/// cannot sign in or refresh, and every one of its sessions ends at once.
pub async fn set_user_status(
    store: &dyn Store,
    email: &str,
    status: UserStatus,
    now: i64,
) -> Result<()> {
    let email = validate::normalize_email(email)?;
    let user = store
        .user_by_email(&email)
        .await?
        .ok_or(Error::UserNotFound)?;
    super::account_status::set_user_status(store, &user.id, status, now).await
}
