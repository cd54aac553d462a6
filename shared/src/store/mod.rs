//! Persistence behind one trait, with two implementations that pass the same
//! conformance suite: DynamoDB (production) and SQLite (local, tests).
//!
//! The trait speaks in domain operations, not in keys and items, so that each
//! implementation can use its natural tools (transactions, conditions, UNIQUE
//! constraints) and so that every operation costs a known number of round trips.
//!
//! The trait is split by aggregate (`users`, `sessions`, `plans`), each
//! with its own file here and in each implementation; `Store` is all of them.

pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod error;
mod mail;
mod mfa;
mod plans;
mod sessions;
mod settings;
mod users;

pub use error::{StoreError, StoreResult};
pub use mail::{InvitationLimits, MailStore, ResetGrant, ResetLookup, UserTokens};
pub use mfa::{MfaState, MfaStore};
pub use plans::PlanStore;
pub use sessions::SessionStore;
pub use settings::{MAX_SETTINGS_BYTES, MAX_SETTINGS_KEYS, Settings, SettingsOwner, SettingsStore};
pub use users::UserStore;

use crate::model::{
    Identity, LoginThrottle, NewAccount, Organization, Plan, Session, Subscription, UsageKey, User,
};
use crate::role::Role;

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
    /// How the organization's owner count moves. It counts active owners:
    /// a deactivated one's role changes move nothing.
    pub fn owner_delta(&self) -> i64 {
        if !self.updated.is_active() {
            return 0;
        }
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

/// An account deactivated or reactivated. The organization's owner count
/// counts active owners, so an owner leaving or returning moves it.
#[derive(Debug, Clone)]
pub struct StatusChange {
    /// The user with its new status, `version` already bumped (and its
    /// `session_epoch` moved on when its sessions end).
    pub updated: User,
    /// -1 for an owner leaving, +1 for one returning, 0 otherwise.
    pub owner_delta: i64,
    /// Refuse (`LastOwner`) rather than leave the organization without an
    /// active owner.
    pub keep_an_owner: bool,
    /// Who decided it (id, version read), when another member did: written
    /// only if that member is unchanged since.
    pub caller: Option<(String, u64)>,
}

impl StatusChange {
    /// The lowest owner count the change may start from.
    pub fn min_owner_count(&self) -> i64 {
        let floor = i64::from(self.keep_an_owner);
        (floor - self.owner_delta).max(0)
    }
}

/// A new member, with who adds it: it is written only if the caller is
/// still as it was read when the request was decided (not demoted or
/// deactivated meanwhile), and only if the invitation counts are still as
/// they were read.
#[derive(Debug, Clone)]
pub struct MemberAddition {
    pub user: User,
    pub caller_id: String,
    pub caller_version: u64,
    /// The invitation's token and mail, written with the member.
    pub invitation: crate::model::mail::MailGrant,
    /// The organization's invitation count after this one.
    pub org_limit: crate::model::mail::CountedLimit,
    /// The address's invitation count after this one.
    pub address_limit: crate::model::mail::CountedLimit,
}

/// A member removed from its organization by another member: the user
/// (inactive, `deleted_at` set, its session epoch moved on, `version`
/// bumped), the organization's owner count (never below one) and the
/// release of its email lock, all or nothing; only if the user and the
/// caller are as they were read.
#[derive(Debug, Clone)]
pub struct MemberRemoval {
    pub updated: User,
    /// -1 when the member was an active owner, else 0.
    pub owner_delta: i64,
    pub caller_id: String,
    pub caller_version: u64,
}

/// A fresh invitation for a member who has not accepted one: the member
/// (`version` bumped, so that the reissue is ordered with every other write
/// of it) is written only at the version read, its older verification
/// tokens are spent and the new token and its mail written, all or nothing.
#[derive(Debug, Clone)]
pub struct InvitationReissue {
    pub updated: User,
    /// Hashes of the tokens that die with it.
    pub spent: Vec<String>,
    pub grant: crate::model::mail::MailGrant,
    /// The organization's and the address's invitation counts after this
    /// one: a resend counts under the invitation caps.
    pub org_limit: crate::model::mail::CountedLimit,
    pub address_limit: crate::model::mail::CountedLimit,
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

/// Everything the service keeps, by aggregate. Code that holds a store
/// names this trait; it calls the aggregates' methods with their traits in
/// scope (`use crate::store::{UserStore, SessionStore, PlanStore, MailStore,
/// SettingsStore, MfaStore}`).
pub trait Store:
    UserStore + SessionStore + PlanStore + MailStore + SettingsStore + MfaStore
{
}

impl<T: UserStore + SessionStore + PlanStore + MailStore + SettingsStore + MfaStore + ?Sized> Store
    for T
{
}
