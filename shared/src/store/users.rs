//! Users, their organizations and email locks, and the login throttle.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Writes the user, its email lock, its organization, the subscription,
    /// the first session and the provider identity if any, all or nothing.
    /// `Conflict` when the identity is already linked. `EmailTaken` when the (normalized)
    /// email is already registered, even by a concurrent call.
    async fn create_account(&self, account: &NewAccount) -> StoreResult<()>;

    async fn user(&self, user_id: &str) -> StoreResult<Option<User>>;

    /// The identity of a provider's subject, if it is linked to an account.
    async fn identity(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>>;

    /// Links a provider identity to its user. `Conflict` when that identity
    /// is already linked (to this account or another).
    async fn link_identity(&self, identity: &Identity) -> StoreResult<()>;

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;

    async fn organization(&self, org_id: &str) -> StoreResult<Option<Organization>>;

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

    /// Writes a status change and moves the owner count with it, all or
    /// nothing. `LastOwner` when the count would fall below what the change
    /// allows; `Conflict` if the user changed since read.
    async fn change_status(&self, change: &StatusChange) -> StoreResult<()>;

    /// Removes a member for good (see [`MemberRemoval`]). `LastOwner` if the
    /// organization would be left without an active owner; `Conflict` if
    /// the member or the caller changed since read.
    async fn remove_member(&self, removal: &MemberRemoval) -> StoreResult<()>;

    /// Writes a fresh invitation (see [`InvitationReissue`]). `Conflict` if
    /// the member changed since read.
    async fn reissue_invitation(&self, reissue: &InvitationReissue) -> StoreResult<()>;

    /// Replaces the organization's own fields with `org`'s, only if its
    /// version is still `org.version - 1` and its owner count is still
    /// `org.owner_count` (the count itself is never written here).
    /// `Conflict` otherwise.
    async fn update_organization(&self, org: &Organization) -> StoreResult<()>;
}
