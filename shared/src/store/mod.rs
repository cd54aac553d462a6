//! Persistence behind one trait, with two implementations that pass the same
//! conformance suite: DynamoDB (production) and SQLite (local, tests).
//!
//! The trait speaks in domain operations, not in keys and items, so that each
//! implementation can use its natural tools (transactions, conditions, UNIQUE
//! constraints) and so that every operation costs a known number of round trips.

pub mod dynamo;
pub mod embedded;

use async_trait::async_trait;

use crate::model::{
    LoginThrottle, NewAccount, Organization, Plan, Session, Subscription, UsageKey, User,
};
use crate::role::Role;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another account already holds this email address.
    #[error("email already registered")]
    EmailTaken,
    /// A conditional write lost to a concurrent one (or its precondition no
    /// longer holds). Callers re-read and decide.
    #[error("conditional write failed")]
    Conflict,
    /// The store is throttling or out of reach; worth retrying later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The change would leave the organization without an owner.
    #[error("the organization would have no owner")]
    LastOwner,
    /// Anything else: a bug or corrupt data. Logged, answered with a 500.
    #[error("store error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A role change, with what it was decided on: it is written only if the
/// target and the caller are still as they were read.
#[derive(Debug, Clone)]
pub struct RoleChange {
    /// The target with its new role, `version` already bumped.
    pub updated: User,
    pub previous_role: Role,
    pub caller_id: String,
    pub caller_version: u64,
}

impl RoleChange {
    /// How the organization's owner count moves.
    pub fn owner_delta(&self) -> i64 {
        match (
            self.previous_role == Role::Owner,
            self.updated.org_role == Role::Owner,
        ) {
            (true, false) => -1,
            (false, true) => 1,
            _ => 0,
        }
    }
}

/// A new member, with who adds it: it is written only if the caller is
/// still as it was read when the request was decided (not demoted or
/// deactivated while the new password hashed).
#[derive(Debug, Clone)]
pub struct MemberAddition {
    pub user: User,
    pub caller_id: String,
    pub caller_version: u64,
}

/// What login reads first, together: whose address it is and how many
/// attempts it has had. The account itself is read next, alongside the
/// counting of the attempt, whether or not there is one (see
/// `service::login`), so that both cases cost the same requests.
#[derive(Debug, Clone, Default)]
pub struct LoginLookup {
    pub user_id: Option<String>,
    pub throttle: Option<LoginThrottle>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Writes the user, its email lock, its organization, the subscription and
    /// the first session, all or nothing. `EmailTaken` when the (normalized)
    /// email is already registered, even by a concurrent call.
    async fn create_account(&self, account: &NewAccount) -> StoreResult<()>;

    async fn user(&self, user_id: &str) -> StoreResult<Option<User>>;

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;

    async fn organization(&self, org_id: &str) -> StoreResult<Option<Organization>>;

    async fn subscription(&self, org_id: &str) -> StoreResult<Option<Subscription>>;

    /// The id of the account (if any) and the attempt record (if any) of an
    /// email, in one round trip.
    async fn login_lookup(&self, email: &str) -> StoreResult<LoginLookup>;

    async fn login_throttle(&self, email: &str) -> StoreResult<Option<LoginThrottle>>;

    /// Replaces the throttle record only if its failure count is still
    /// `expected_failures` (None: only if there is no record). `Conflict` otherwise.
    async fn put_login_throttle(
        &self,
        email: &str,
        throttle: &LoginThrottle,
        expected_failures: Option<u32>,
    ) -> StoreResult<()>;

    async fn clear_login_throttle(&self, email: &str) -> StoreResult<()>;

    /// Replaces the stored user only if its version is still `user.version - 1`
    /// and its email, organization and role are unchanged (those move only
    /// through their own operations). The caller bumps `version` before
    /// calling. `Conflict` otherwise.
    async fn update_user(&self, user: &User) -> StoreResult<()>;

    /// Every member of an organization (order unspecified).
    async fn members(&self, org_id: &str) -> StoreResult<Vec<User>>;

    /// Adds a user (and its email lock) to an existing organization, counting
    /// it among the owners if it is one. `Conflict` when the caller changed
    /// since read or the organization does not exist; otherwise `EmailTaken`
    /// as for `create_account`.
    async fn add_member(&self, addition: &MemberAddition) -> StoreResult<()>;

    /// Writes a role change and moves the owner count with it, all or
    /// nothing. `LastOwner` if the organization would be left without an
    /// owner; `Conflict` if the target or the caller changed since read.
    async fn change_role(&self, change: &RoleChange) -> StoreResult<()>;

    /// Revokes every session of the user except `keep`; returns how many.
    async fn revoke_user_sessions(&self, user_id: &str, keep: Option<&str>) -> StoreResult<usize>;

    async fn create_session(&self, session: &Session) -> StoreResult<()>;

    async fn session(&self, session_id: &str) -> StoreResult<Option<Session>>;

    /// Replaces the session only if it is not revoked and its current token
    /// hash is still `expected_token_hash`: of two rotations of one token,
    /// exactly one wins. `Conflict` for the loser.
    async fn rotate_session(&self, session: &Session, expected_token_hash: &str)
    -> StoreResult<()>;

    /// Marks the session revoked. Unknown ids are not an error.
    async fn revoke_session(&self, session_id: &str) -> StoreResult<()>;

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
