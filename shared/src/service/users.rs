//! A user's own profile, a member's role, and updates to both.

use super::caller::{self, Caller, caller_from};
use super::mfa::has_fresh_proof;
use super::{roles, throttle, validate};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::auth::password::{self, Verification};
use crate::error::{Error, Result};
use crate::model::User;
use crate::role::Role;
use crate::store::{RoleChange, StoreError};

/// How often a name update re-reads and re-applies after losing a race.
const UPDATE_ATTEMPTS: usize = 3;
/// A session that signed in this recently changes its password without
/// `currentPassword` (Flashback's `updateUser` sends none: its web app
/// changes a password right after asking for it).
pub const RECENT_SIGN_IN_SECONDS: i64 = 5 * 60;

pub async fn profile(app: &App, claims: AccessClaims) -> Result<Profile> {
    // The organization is read alongside (the token names it; the caller's
    // check makes sure it is still the caller's): one round trip.
    let org_id = claims.org_id.clone();
    let (caller, org) = tokio::join!(caller::caller(app, claims), app.store.organization(&org_id));
    let user = caller?.user;
    let enforced = org?.is_some_and(|o| o.mfa_enforced);
    Ok(Profile {
        mfa_required: user.mfa_required || user.mfa_enroll || enforced,
        user,
    })
}

/// `GET /user/profile`: the caller, and whether it must use MFA (on, or
/// enforced by its organization: `mfa/status`'s `isRequired`).
#[derive(Debug, Clone)]
pub struct Profile {
    pub user: User,
    pub mfa_required: bool,
}

/// The caller and a member of its organization, read together (once, when
/// the member is the caller). Users of other organizations are
/// `UserNotFound`, exactly like users that don't exist.
pub(super) async fn caller_and_member(
    app: &App,
    claims: AccessClaims,
    target_id: &str,
) -> Result<(Caller, User)> {
    let target_id = validate::user_id(target_id)?;
    if target_id == claims.sub {
        let caller = caller::caller(app, claims).await?;
        let target = caller.user.clone();
        return Ok((caller, target));
    }
    let (caller, target) = tokio::join!(
        app.store.user_and_session(&claims.sub, &claims.sid),
        app.store.user(target_id)
    );
    let caller = caller_from(app, claims, caller?)?;
    let org_id = caller.org_id()?;
    match target? {
        Some(target) if target.org_id == org_id => Ok((caller, target)),
        _ => Err(Error::UserNotFound),
    }
}

/// GET /user/{userId}: a member of the caller's organization.
pub async fn member(app: &App, claims: AccessClaims, target_id: &str) -> Result<User> {
    Ok(caller_and_member(app, claims, target_id).await?.1)
}

/// New names of a user, each by the same rules; None leaves it as it is.
#[derive(Debug, Clone, Default)]
pub(super) struct Names {
    name: Option<String>,
    last_name: Option<String>,
}

impl Names {
    pub(super) fn validated(name: Option<&str>, last_name: Option<&str>) -> Result<Names> {
        Ok(Names {
            name: name.map(|n| validate::name("name", n)).transpose()?,
            last_name: last_name
                .map(|n| validate::name("lastName", n))
                .transpose()?,
        })
    }

    pub(super) fn apply(&self, user: &mut User) {
        if let Some(name) = &self.name {
            user.name = name.clone();
        }
        if let Some(last_name) = &self.last_name {
            user.last_name = last_name.clone();
        }
    }
}

/// Checks a `currentPassword`. A stolen access token must not make it
/// guessable without limit: each guess counts toward the address's login
/// throttle, before it is checked.
async fn check_current_password(app: &App, target: &User, current: &str) -> Result<()> {
    let attempts = app.store.login_throttle(&target.email).await?;
    if let Err(e) =
        throttle::count_attempt(app, &target.email, attempts, &app.config.login_throttle).await
    {
        tracing::info!(event = "password_change", outcome = "throttled", user_id = %target.id, "password change refused: too many attempts");
        return Err(e);
    }
    if app
        .passwords
        .verify(current, Some(&target.password_hash))
        .await?
        == Verification::Mismatch
    {
        tracing::info!(event = "password_change", outcome = "failure", user_id = %target.id, "password change refused: wrong current password");
        return Err(Error::InvalidCredentials);
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub last_name: Option<String>,
    pub password: Option<String>,
    pub current_password: Option<String>,
}

/// PUT /user/{userId}. Returns the user as stored afterwards.
pub async fn update(
    app: &App,
    claims: AccessClaims,
    target_id: &str,
    update: UserUpdate,
) -> Result<User> {
    if update.name.is_none() && update.last_name.is_none() && update.password.is_none() {
        return Err(Error::validation(
            "nothing to update: give name, lastName or password",
        ));
    }
    let names = Names::validated(update.name.as_deref(), update.last_name.as_deref())?;
    let session_id = claims.sid.clone();
    let (caller, mut target) = caller_and_member(app, claims, target_id).await?;
    let own = caller.id() == target.id;

    let new_hash = match &update.password {
        None => None,
        Some(_) if !own => return Err(Error::InsufficientPermissions),
        Some(new_password) => {
            let current = update.current_password.as_deref().filter(|c| !c.is_empty());
            let recent = app.now() - caller.signed_in_at <= RECENT_SIGN_IN_SECONDS;
            if current.is_none() && !recent {
                return Err(Error::CurrentPasswordRequired);
            }
            // A password alone no longer proves the account with MFA on:
            // the session must have passed its second factor lately too
            // (before a current password is even tried).
            if target.mfa_required && !has_fresh_proof(app, &caller) {
                tracing::info!(event = "password_change", outcome = "mfa_required", user_id = %target.id, "password change refused: no recent second factor");
                return Err(Error::MfaRequired);
            }
            password::check_strength(new_password)?;
            if let Some(current) = current {
                check_current_password(app, &target, current).await?;
            }
            let (cleared, hash) = tokio::join!(
                throttle::clear_attempts(app, &target.email),
                app.passwords.hash(new_password)
            );
            cleared?;
            Some(hash?)
        }
    };
    if !own {
        roles::check_edit(caller.user.org_role, target.org_role)?;
    }

    for attempt in 1..=UPDATE_ATTEMPTS {
        let mut updated = target.clone();
        names.apply(&mut updated);
        if let Some(hash) = &new_hash {
            updated.password_hash = hash.clone();
            // Every session ends with the old password, in this same write...
            updated.session_epoch += 1;
        }
        updated.version += 1;
        updated.updated_at = app.now();
        match app.store.update_user(&updated).await {
            Ok(()) => {
                target = updated;
                break;
            }
            // A password is only replaced over the hash it was checked against.
            Err(StoreError::Conflict) if new_hash.is_none() && attempt < UPDATE_ATTEMPTS => {
                target = app
                    .store
                    .user(&target.id)
                    .await?
                    .ok_or(Error::UserNotFound)?;
                if !own {
                    roles::check_edit(caller.user.org_role, target.org_role)?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    if new_hash.is_some() {
        // ...except the caller's own, moved into the new epoch. Should this
        // fail, the caller signs in again: the safe side.
        match app
            .store
            .move_session_to_epoch(&session_id, target.session_epoch)
            .await
        {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(event = "password_change", outcome = "success", user_id = %target.id, org_id = %target.org_id, "password changed; other sessions ended");
    }
    Ok(target)
}

#[derive(Debug, Clone)]
pub struct RoleChanged {
    pub user_id: String,
    pub previous_role: Role,
    pub new_role: Role,
}

/// PUT /user/{userId}/role.
pub async fn change_role(
    app: &App,
    claims: AccessClaims,
    target_id: &str,
    new_role: Role,
) -> Result<RoleChanged> {
    let (caller, target) = caller_and_member(app, claims, target_id).await?;
    roles::check_change(caller.user.org_role, target.org_role, new_role)?;
    let changed = RoleChanged {
        user_id: target.id.clone(),
        previous_role: target.org_role,
        new_role,
    };
    if target.org_role == new_role {
        return Ok(changed);
    }
    let mut updated = target;
    updated.org_role = new_role;
    updated.version += 1;
    updated.updated_at = app.now();
    let change = RoleChange {
        updated,
        previous_role: changed.previous_role,
        caller_id: caller.user.id.clone(),
        caller_version: caller.user.version,
    };
    let outcome = app.store.change_role(&change).await;
    tracing::info!(
        event = "role_change",
        outcome = if outcome.is_ok() { "success" } else { "refused" },
        user_id = %caller.user.id,
        target_user_id = %changed.user_id,
        org_id = %caller.user.org_id,
        previous_role = changed.previous_role.value(),
        new_role = new_role.value(),
        "role change"
    );
    outcome?;
    Ok(changed)
}
