//! GET /user/quota, and recording usage for other services.

use super::caller::caller_from;
use super::plans;
use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};
use crate::model::{Capability, Plan, Subscription, UsageKey};
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct CapabilityUsage {
    pub capability: Capability,
    pub current: u64,
    pub max: u64,
    pub percentage: u64,
}

#[derive(Debug, Clone)]
pub struct Quota {
    pub subscription: Subscription,
    pub plan: Plan,
    pub usage: Vec<CapabilityUsage>,
}

/// current / max × 100, rounded to the nearest integer; 0 when max is 0.
pub fn percentage(current: u64, max: u64) -> u64 {
    if max == 0 {
        return 0;
    }
    let (current, max) = (u128::from(current), u128::from(max));
    ((current * 200 + max) / (max * 2)) as u64
}

/// The caller's organization's active subscription and its usage. The
/// caller and the subscription are read together, then the plan and the
/// usage counters together: two round trips.
pub async fn quota(app: &App, claims: AccessClaims) -> Result<Quota> {
    let org_id = claims.org_id.clone();
    let (records, subscription) = tokio::join!(
        app.store.user_and_session(&claims.sub, &claims.sid),
        app.store.subscription(&org_id)
    );
    let caller = caller_from(app, claims, records?)?;
    caller.org_id()?;
    let now = app.now();
    let subscription = subscription?
        .filter(|s| s.is_active_at(now))
        .ok_or(Error::NoActiveSubscription)?;
    let periods = current_periods(now);
    let (plan, counters) = tokio::join!(
        plans::plan(app.store.as_ref(), &subscription.plan_id),
        app.store.usage(&org_id, &periods)
    );
    let plan = plan?.ok_or_else(|| {
        Error::Internal(format!(
            "subscription names unknown plan {}",
            subscription.plan_id
        ))
    })?;
    let counters = counters?;
    let usage = plan
        .capabilities
        .iter()
        .map(|capability| {
            let key = usage_key(&org_id, capability, now);
            let current = counters
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(0, |(_, amount)| *amount);
            CapabilityUsage {
                capability: capability.clone(),
                current,
                max: capability.limit,
                percentage: percentage(current, capability.limit),
            }
        })
        .collect();
    Ok(Quota {
        subscription,
        plan,
        usage,
    })
}

fn current_periods(now: i64) -> Vec<String> {
    crate::model::PeriodType::ALL
        .iter()
        .map(|p| p.period_key(now))
        .collect()
}

fn usage_key(org_id: &str, capability: &Capability, now: i64) -> UsageKey {
    UsageKey {
        org_id: org_id.to_owned(),
        capability: capability.code.clone(),
        period: capability.period_type.period_key(now),
    }
}

/// Records `amount` (negative to give back) of a capability for an
/// organization, in the current period of that capability in the
/// organization's plan. The counter never goes below zero. Returns the new
/// total. For other services (storage, egress metering) and the operator tool.
pub async fn record_usage(
    store: &dyn Store,
    org_id: &str,
    code: &str,
    amount: i64,
    now: i64,
) -> Result<u64> {
    let subscription = store
        .subscription(org_id)
        .await?
        .ok_or(Error::NoActiveSubscription)?;
    let plan = plans::plan(store, &subscription.plan_id)
        .await?
        .ok_or_else(|| {
            Error::Internal(format!(
                "subscription names unknown plan {}",
                subscription.plan_id
            ))
        })?;
    let capability = plan
        .capabilities
        .iter()
        .find(|c| c.code == code)
        .ok_or_else(|| Error::validation(format!("plan {} has no capability {code}", plan.id)))?;
    Ok(store
        .add_usage(&usage_key(org_id, capability, now), amount)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::percentage;

    #[test]
    fn percentages_round_to_the_nearest_integer() {
        assert_eq!(percentage(5_368_709_120, 10_737_418_240), 50);
        assert_eq!(percentage(1, 3), 33);
        assert_eq!(percentage(2, 3), 67);
        assert_eq!(percentage(1, 200), 1); // 0.5 rounds up
        assert_eq!(percentage(0, 10), 0);
        assert_eq!(percentage(10, 0), 0);
        assert_eq!(percentage(30, 10), 300);
        assert_eq!(percentage(u64::MAX, u64::MAX), 100);
    }
}
