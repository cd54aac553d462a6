//! Plans, subscriptions and usage counters.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait PlanStore: Send + Sync {
    async fn subscription(&self, org_id: &str) -> StoreResult<Option<Subscription>>;

    async fn plan(&self, plan_id: &str) -> StoreResult<Option<Plan>>;

    /// Every stored plan (order unspecified).
    async fn plans(&self) -> StoreResult<Vec<Plan>>;

    /// Creates or replaces a plan.
    async fn put_plan(&self, plan: &Plan) -> StoreResult<()>;

    /// Writes a plan only if no plan has its id: seeding never overwrites an
    /// operator's change, even when two processes seed at once.
    async fn seed_plan(&self, plan: &Plan) -> StoreResult<()>;

    /// Creates or replaces an organization's subscription.
    async fn put_subscription(&self, subscription: &Subscription) -> StoreResult<()>;

    /// Adds `amount` (which may be negative) to a usage counter, atomically,
    /// never going below zero; returns the new total. A missing counter is 0.
    async fn add_usage(&self, key: &UsageKey, amount: i64) -> StoreResult<u64>;

    /// An organization's counters for any of the given periods.
    async fn usage(&self, org_id: &str, periods: &[String]) -> StoreResult<Vec<(UsageKey, u64)>>;
}
