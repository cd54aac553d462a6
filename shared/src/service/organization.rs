//! Running an organization: a member read, edited, removed, reinvited or
//! reactivated by another member, and the organization's own record.
//!
//! Who may act on whom is the role change's ladder (`roles`); another
//! organization's member is `UserNotFound`, like a member that does not
//! exist. Every write is conditional on the member and the caller being as
//! they were read, so a caller demoted meanwhile decides nothing.

use super::caller::{self, Caller};
use super::users::{Names, caller_and_member};
use super::{mail_tokens, members, register, roles, validate};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};
use crate::model::mail::{MailKind, Recipient, TokenPurpose};
use crate::model::{ContactDetails, Organization, User, UserStatus};
use crate::role::Role;
use crate::store::{InvitationReissue, MemberRemoval, RoleChange, StatusChange, StoreError};

/// How often a write is decided again after losing to a concurrent one.
const WRITE_ATTEMPTS: usize = 3;

/// The caller and a member it may act on: not removed, in its organization.
pub(super) async fn caller_and_present_member(
    app: &App,
    claims: AccessClaims,
    target_id: &str,
) -> Result<(Caller, User)> {
    let (caller, target) = caller_and_member(app, claims, target_id).await?;
    if target.is_removed() {
        return Err(Error::UserNotFound);
    }
    Ok((caller, target))
}

/// The member again after a lost race, with the caller as it is now.
async fn reread(app: &App, claims: &AccessClaims, target_id: &str) -> Result<(Caller, User)> {
    caller_and_present_member(app, claims.clone(), target_id).await
}

/// GET /organization/users/{userId}: any member may read any other,
/// removed ones included (their `deletedAt` says so).
pub async fn member(app: &App, claims: AccessClaims, target_id: &str) -> Result<User> {
    Ok(caller_and_member(app, claims, target_id).await?.1)
}

#[derive(Debug, Clone, Default)]
pub struct MemberUpdate {
    pub name: Option<String>,
    pub last_name: Option<String>,
    pub org_role: Option<Role>,
}

/// PUT /organization/users/{userId}: names by `PUT /user/{userId}`'s rules,
/// the role by the role change's (the last owner kept), in one write.
pub async fn update_member(
    app: &App,
    claims: AccessClaims,
    target_id: &str,
    update: MemberUpdate,
) -> Result<User> {
    if update.name.is_none() && update.last_name.is_none() && update.org_role.is_none() {
        return Err(Error::validation(
            "nothing to update: give name, lastName or orgRole",
        ));
    }
    let names = Names::validated(update.name.as_deref(), update.last_name.as_deref())?;
    let (mut caller, mut target) =
        caller_and_present_member(app, claims.clone(), target_id).await?;
    for attempt in 1..=WRITE_ATTEMPTS {
        let own = caller.id() == target.id;
        match update.org_role {
            Some(role) => roles::check_change(caller.user.org_role, target.org_role, role)?,
            None if !own => roles::check_edit(caller.user.org_role, target.org_role)?,
            None => {}
        }
        let mut updated = target.clone();
        names.apply(&mut updated);
        updated.version += 1;
        updated.updated_at = app.now();
        let written = match update.org_role {
            Some(role) => {
                updated.org_role = role;
                let change = RoleChange {
                    updated: updated.clone(),
                    previous_role: target.org_role,
                    caller_id: caller.user.id.clone(),
                    caller_version: caller.user.version,
                };
                app.store.change_role(&change).await
            }
            None => app.store.update_user(&updated).await,
        };
        match written {
            Ok(()) => {
                tracing::info!(
                    event = "member_update",
                    user_id = %caller.user.id,
                    target_user_id = %updated.id,
                    org_id = %updated.org_id,
                    previous_role = target.org_role.value(),
                    new_role = updated.org_role.value(),
                    "member updated"
                );
                return Ok(updated);
            }
            Err(StoreError::Conflict) if attempt < WRITE_ATTEMPTS => {
                (caller, target) = reread(app, &claims, target_id).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}

/// DELETE /organization/users/{userId}: the member leaves for good. One
/// transaction: the member (inactive, `deletedAt`, its session epoch moved
/// on, so every session ends), the owner count (an owner leaving never
/// takes the last one), the caller unchanged, and the email lock released.
pub async fn remove_member(app: &App, claims: AccessClaims, target_id: &str) -> Result<()> {
    let (mut caller, mut target) =
        caller_and_present_member(app, claims.clone(), target_id).await?;
    for attempt in 1..=WRITE_ATTEMPTS {
        if caller.id() == target.id {
            return Err(Error::validation(
                "a member cannot remove itself: use POST /user/deactivate",
            ));
        }
        roles::check_manage(caller.user.org_role, target.org_role)?;
        let now = app.now();
        let mut updated = target.clone();
        updated.status = UserStatus::Inactive;
        updated.deleted_at = Some(now);
        updated.session_epoch += 1;
        updated.version += 1;
        updated.updated_at = now;
        let removal = MemberRemoval {
            owner_delta: -i64::from(target.org_role == Role::Owner && target.is_active()),
            updated,
            caller_id: caller.user.id.clone(),
            caller_version: caller.user.version,
        };
        match app.store.remove_member(&removal).await {
            Ok(()) => {
                tracing::info!(event = "member_removed", user_id = %caller.user.id, target_user_id = %target.id, org_id = %target.org_id, "member removed; every session ended");
                return Ok(());
            }
            Err(StoreError::LastOwner) => {
                tracing::info!(event = "member_removed", outcome = "last_owner", user_id = %caller.user.id, target_user_id = %target.id, "removal refused: last owner");
                return Err(Error::LastOwner);
            }
            Err(StoreError::Conflict) if attempt < WRITE_ATTEMPTS => {
                (caller, target) = reread(app, &claims, target_id).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}

/// POST /organization/users/{userId}/resend-invitation: a fresh invitation
/// for a member who has not accepted one; the older links die with it.
pub async fn resend_invitation(app: &App, claims: AccessClaims, target_id: &str) -> Result<()> {
    let (mut caller, mut target) =
        caller_and_present_member(app, claims.clone(), target_id).await?;
    for attempt in 1..=WRITE_ATTEMPTS {
        roles::check_manage(caller.user.org_role, target.org_role)?;
        if target.validated || !target.is_active() {
            return Err(Error::Conflict);
        }
        // A resend counts under the invitation caps, as a new member does;
        // the counts are read with the member's tokens and the organization.
        let (tokens, org, counts) = tokio::join!(
            app.store.user_tokens(&target.id),
            app.store.organization(&target.org_id),
            members::counted(app, &target.org_id, &target.email)
        );
        let (org_limit, address_limit) = counts?;
        let org = org?.ok_or(Error::NoOrganization)?;
        let spent = tokens?
            .tokens
            .into_iter()
            .filter(|t| t.purpose == TokenPurpose::Verify)
            .map(|t| t.hash)
            .collect();
        let now = app.now();
        let to = Recipient {
            user_id: &target.id,
            email: &target.email,
            name: &target.name,
            org_name: Some(&org.name),
            epoch: target.session_epoch,
        };
        let grant = mail_tokens::grant(MailKind::Invitation, &to, now)?;
        let mut updated = target.clone();
        updated.version += 1;
        updated.updated_at = now;
        let reissue = InvitationReissue {
            updated,
            spent,
            grant,
            org_limit,
            address_limit,
        };
        match app.store.reissue_invitation(&reissue).await {
            Ok(()) => {
                tracing::info!(event = "invitation_resent", user_id = %caller.user.id, target_user_id = %target.id, org_id = %target.org_id, "invitation resent; older links spent");
                return Ok(());
            }
            Err(StoreError::Conflict) if attempt < WRITE_ATTEMPTS => {
                (caller, target) = reread(app, &claims, target_id).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}

/// POST /organization/users/{userId}/activate: a member deactivated by
/// itself or an operator is active again (ADMINISTRATORS or higher). Its
/// old sessions stay ended: their epoch is gone.
pub async fn activate_member(app: &App, claims: AccessClaims, target_id: &str) -> Result<()> {
    let (mut caller, mut target) =
        caller_and_present_member(app, claims.clone(), target_id).await?;
    for attempt in 1..=WRITE_ATTEMPTS {
        if caller.user.org_role < Role::Administrators {
            return Err(Error::InsufficientPermissions);
        }
        roles::check_manage(caller.user.org_role, target.org_role)?;
        if target.is_active() {
            return Ok(());
        }
        let mut updated = target.clone();
        updated.status = UserStatus::Active;
        updated.version += 1;
        updated.updated_at = app.now();
        let change = StatusChange {
            updated,
            owner_delta: i64::from(target.org_role == Role::Owner),
            keep_an_owner: false,
            caller: Some((caller.user.id.clone(), caller.user.version)),
        };
        match app.store.change_status(&change).await {
            Ok(()) => {
                tracing::info!(event = "member_activated", user_id = %caller.user.id, target_user_id = %target.id, org_id = %target.org_id, "member reactivated");
                return Ok(());
            }
            Err(StoreError::Conflict) if attempt < WRITE_ATTEMPTS => {
                (caller, target) = reread(app, &claims, target_id).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}

/// The caller and its organization, read together; any other id is
/// `NotFound`, whether or not such an organization exists.
async fn caller_and_organization(
    app: &App,
    claims: AccessClaims,
    org_id: &str,
) -> Result<(Caller, Organization)> {
    if org_id != claims.org_id {
        return Err(Error::NotFound);
    }
    let (records, org) = tokio::join!(
        app.store.user_and_session(&claims.sub, &claims.sid),
        app.store.organization(org_id)
    );
    let caller = caller::caller_from(app, claims, records?)?;
    let org = org?.ok_or(Error::NotFound)?;
    Ok((caller, org))
}

/// GET /organization/{orgId}: any member.
pub async fn organization(app: &App, claims: AccessClaims, org_id: &str) -> Result<Organization> {
    Ok(caller_and_organization(app, claims, org_id).await?.1)
}

/// What `PUT /organization/{orgId}` may change. `None` leaves a field as
/// it is; an empty string clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct OrganizationUpdate {
    pub name: Option<String>,
    pub website: Option<String>,
    /// Its `website` is not read: the organization's is the field above.
    pub contact: ContactDetails,
    pub is_business: Option<bool>,
    pub mfa_enforced: Option<bool>,
}

/// `current` with `patch`'s given fields, each validated.
fn patched_contact(current: &ContactDetails, patch: &ContactDetails) -> Result<ContactDetails> {
    let given = register::validated_contact(&ContactDetails {
        website: None,
        ..patch.clone()
    })?;
    let pick = |given: Option<String>, patch: &Option<String>, current: &Option<String>| {
        if patch.is_some() {
            given
        } else {
            current.clone()
        }
    };
    Ok(ContactDetails {
        phone: pick(given.phone, &patch.phone, &current.phone),
        address1: pick(given.address1, &patch.address1, &current.address1),
        address2: pick(given.address2, &patch.address2, &current.address2),
        city: pick(given.city, &patch.city, &current.city),
        state: pick(given.state, &patch.state, &current.state),
        zipcode: pick(given.zipcode, &patch.zipcode, &current.zipcode),
        country: pick(given.country, &patch.country, &current.country),
        website: None,
    })
}

/// PUT /organization/{orgId}: ADMINISTRATORS or higher. `mfaEnforced`
/// (also `POST /mfa/organization/enforce`'s) makes members without a second
/// factor enroll one at their next sign-in.
pub async fn update_organization(
    app: &App,
    claims: AccessClaims,
    org_id: &str,
    update: OrganizationUpdate,
) -> Result<Organization> {
    let name = update
        .name
        .as_deref()
        .map(|n| validate::name("name", n))
        .transpose()?;
    let website = update
        .website
        .as_deref()
        .map(|w| validate::optional("website", Some(w)))
        .transpose()?;
    let (caller, mut org) = caller_and_organization(app, claims.clone(), org_id).await?;
    if caller.user.org_role < Role::Administrators {
        return Err(Error::InsufficientPermissions);
    }
    for attempt in 1..=WRITE_ATTEMPTS {
        let mut updated = org.clone();
        if let Some(name) = &name {
            updated.name = name.clone();
        }
        if let Some(website) = &website {
            updated.website = website.clone();
        }
        updated.contact = patched_contact(&org.contact, &update.contact)?;
        updated.is_business = update.is_business.unwrap_or(org.is_business);
        updated.mfa_enforced = update.mfa_enforced.unwrap_or(org.mfa_enforced);
        updated.version += 1;
        match app.store.update_organization(&updated).await {
            Ok(()) => {
                tracing::info!(event = "organization_update", user_id = %caller.user.id, org_id = %org.id, mfa_enforced = updated.mfa_enforced, "organization updated");
                return Ok(updated);
            }
            Err(StoreError::Conflict) if attempt < WRITE_ATTEMPTS => {
                org = app
                    .store
                    .organization(org_id)
                    .await?
                    .ok_or(Error::NotFound)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}

/// The host of a website address, as Flashback's `domain` has it.
pub fn domain_of(website: &str) -> Option<String> {
    let rest = website.split_once("://").map_or(website, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?.trim().to_lowercase();
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::domain_of;

    #[test]
    fn the_domain_is_the_websites_host() {
        assert_eq!(
            domain_of("https://Acme.com/about").as_deref(),
            Some("acme.com")
        );
        assert_eq!(domain_of("acme.com").as_deref(), Some("acme.com"));
        assert_eq!(
            domain_of("http://u@acme.com:8080/x").as_deref(),
            Some("acme.com")
        );
        assert_eq!(domain_of("https://"), None);
    }
}
