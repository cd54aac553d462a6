//! An organization's MFA, in its administrators' hands: enforcement for
//! every member (`mfa/organization/enforce`) and a member's MFA removed
//! (`mfa/reset`), for a member who lost its factor.

use super::throttle_key;
use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};
use crate::model::Organization;
use crate::model::mfa::MfaRecord;
use crate::role::Role;
use crate::service::organization::{
    OrganizationUpdate, caller_and_present_member, update_organization,
};
use crate::service::{roles, validate};
use crate::store::StoreError;

/// How often a reset is decided again after losing to a concurrent write.
const WRITE_ATTEMPTS: usize = 3;

/// `POST /mfa/organization/enforce` `{"enforced"}`: the caller's
/// organization's `mfaEnforced`, written as `PUT /organization/{orgId}`
/// writes it (ADMINISTRATORS or higher, at the version read). Sessions that
/// exist go on; members without a second factor enroll one at their next
/// sign-in.
pub async fn enforce(app: &App, claims: AccessClaims, enforced: bool) -> Result<Organization> {
    let org_id = claims.org_id.clone();
    let update = OrganizationUpdate {
        mfa_enforced: Some(enforced),
        ..OrganizationUpdate::default()
    };
    update_organization(app, claims, &org_id, update).await
}

/// `POST /mfa/reset` `{"resetUserId", "enable"}`: ADMINISTRATORS or OWNER
/// remove a member's MFA (methods, a pending setup, backup codes) and end
/// every session of the member (its session epoch moves on in the same
/// write, as a password change or a deactivation ends them). Whom it may
/// act on is the role change's rule (`roles::check_manage`: an
/// ADMINISTRATORS never on an OWNER); another organization's user is
/// `UserNotFound`. With `enable`, the member enrolls a new factor at its
/// next sign-in, whether or not the organization enforces MFA. One's own
/// MFA is turned off by `mfa/disable`, which asks for a fresh proof: a
/// reset does not, so it never acts on the caller.
pub async fn reset(app: &App, claims: AccessClaims, target_id: &str, enable: bool) -> Result<()> {
    let target_id = validate::user_id(target_id)?.to_owned();
    if target_id == claims.sub {
        return Err(Error::validation(
            "a member cannot reset its own MFA: use POST /mfa/disable",
        ));
    }
    for attempt in 1..=WRITE_ATTEMPTS {
        // The member's MFA record is read alongside the caller and the
        // member: one round trip.
        let key = throttle_key(&target_id);
        let (found, state) = tokio::join!(
            caller_and_present_member(app, claims.clone(), &target_id),
            app.store.mfa_state(&target_id, &key)
        );
        let (caller, target) = found?;
        if caller.user.org_role < Role::Administrators {
            return Err(Error::InsufficientPermissions);
        }
        roles::check_manage(caller.user.org_role, target.org_role)?;
        let now = app.now();
        let mut record = state?.record.unwrap_or_else(|| MfaRecord::new(&target.id));
        record.clear_methods();
        record.version += 1;
        record.updated_at = now;
        let mut updated = target.clone();
        updated.mfa_required = false;
        updated.mfa_enroll = enable;
        updated.session_epoch += 1;
        updated.version += 1;
        updated.updated_at = now;
        match app.store.put_mfa_with_user(&record, &updated).await {
            Ok(()) => {
                tracing::info!(event = "mfa_reset", outcome = "success", user_id = %caller.user.id, target_user_id = %target.id, org_id = %target.org_id, enroll = enable, "member's MFA reset; every session of it ended");
                return Ok(());
            }
            Err(StoreError::Conflict) if attempt < WRITE_ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}
