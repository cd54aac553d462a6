//! Deactivation and reactivation. A deactivated account cannot sign in or
//! refresh, and every one of its sessions ends in the same write (its
//! session epoch moves on), so reactivating it later revives none of them.
//! The organization's owner count counts active owners.

use super::caller;
use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};
use crate::model::{User, UserStatus};
use crate::role::Role;
use crate::store::{StatusChange, Store, StoreError};

/// How often a status change re-reads after losing to a concurrent write.
const WRITE_ATTEMPTS: usize = 5;

/// The change that gives `user` `status` at `now`.
fn status_change(user: &User, status: UserStatus, keep_an_owner: bool, now: i64) -> StatusChange {
    let mut updated = user.clone();
    updated.status = status;
    updated.version += 1;
    updated.updated_at = now;
    let owner = user.org_role == Role::Owner;
    let owner_delta = match status {
        UserStatus::Inactive => {
            updated.session_epoch += 1;
            -i64::from(owner)
        }
        UserStatus::Active => i64::from(owner),
    };
    StatusChange {
        updated,
        owner_delta,
        keep_an_owner,
        caller: None,
    }
}

/// Whether anyone else among `members` of the user's organization is
/// active: then the organization must keep an owner.
fn has_active_colleagues(members: &[User], user: &User) -> bool {
    members.iter().any(|m| m.id != user.id && m.is_active())
}

/// POST /user/deactivate: the caller deactivates its own account. The last
/// active owner of an organization with other active members cannot. The
/// members are read alongside the caller (one round trip for both), then the
/// change is one transaction that moves the owner count: two owners leaving
/// at once can't both pass.
pub async fn deactivate_self(app: &App, claims: AccessClaims) -> Result<()> {
    let org_id = claims.org_id.clone();
    let (records, members) = tokio::join!(
        app.store.user_and_session(&claims.sub, &claims.sid),
        app.store.members(&org_id)
    );
    let mut user = caller::caller_from(app, claims, records?)?.user;
    let mut members = members?;
    for attempt in 1..=WRITE_ATTEMPTS {
        let keep_an_owner = user.org_role == Role::Owner && has_active_colleagues(&members, &user);
        let change = status_change(&user, UserStatus::Inactive, keep_an_owner, app.now());
        match app.store.change_status(&change).await {
            Ok(()) => {
                tracing::info!(event = "deactivate", user_id = %user.id, org_id = %user.org_id, "account deactivated by its user; every session ended");
                return Ok(());
            }
            Err(StoreError::LastOwner) => {
                tracing::info!(event = "deactivate", outcome = "last_owner", user_id = %user.id, org_id = %user.org_id, "deactivation refused: last owner");
                return Err(Error::LastOwner);
            }
            Err(StoreError::Conflict) if attempt < WRITE_ATTEMPTS => {
                let (reread, listed) =
                    tokio::join!(app.store.user(&user.id), app.store.members(&org_id));
                user = reread?
                    .filter(User::is_active)
                    .ok_or(Error::SessionRevoked)?;
                members = listed?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}

/// The operator's switch (`accounts-admin user deactivate|activate`):
/// unconditional, last owner or not.
pub async fn set_user_status(
    store: &dyn Store,
    user_id: &str,
    status: UserStatus,
    now: i64,
) -> Result<()> {
    for _ in 0..WRITE_ATTEMPTS {
        // A removed member's address may be someone else's by now.
        let user = store
            .user(user_id)
            .await?
            .filter(|u| !u.is_removed())
            .ok_or(Error::UserNotFound)?;
        if user.status == status {
            return Ok(());
        }
        match store
            .change_status(&status_change(&user, status, false, now))
            .await
        {
            Ok(()) => {
                tracing::info!(event = "user_status", user_id = %user.id, status = ?status, "account status changed by an operator");
                return Ok(());
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}
