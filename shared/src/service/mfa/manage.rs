//! Changes to MFA once it is on: `mfa/disable`, `mfa/enable`,
//! `mfa/primary`, `mfa/backup-codes`, and the rule they share with a new
//! setup: a second factor from this session within 15 minutes, or a valid
//! code with the request (Cognito's and Kratos's users report MFA removed
//! without one).

use super::{amr_of, caller_state, check_code, clear_code_attempts, has_fresh_proof, method_of};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::auth::mfa_key::{MfaKey, new_backup_codes};
use crate::error::{Error, Result};
use crate::model::mfa::{GOOGLE_AUTH, MfaRecord};
use crate::model::{LoginThrottle, User};
use crate::service::caller::Caller;
use crate::store::StoreError;

/// Which secret a code proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Proof {
    /// The active secret, when one is on (nothing to prove otherwise).
    WhileOn,
    /// The verified secret, on or off (turning it back on).
    Verified,
}

/// A second factor from this session within `FRESH_PROOF_SECONDS`, or
/// `code` (TOTP or backup) checked and spent on `record`; 403
/// `MFA_REQUIRED` without either. Nothing to prove while no method is on
/// (and, for [`Proof::Verified`], no TOTP secret verified). A mailed link
/// is no body's `code`: a user with only links on proves itself by signing
/// in again.
pub(super) async fn fresh_proof(
    app: &App,
    caller: &Caller,
    record: &mut MfaRecord,
    throttle: Option<LoginThrottle>,
    code: Option<&str>,
    proof: Proof,
) -> Result<()> {
    let sealed = record
        .totp
        .as_ref()
        .filter(|t| t.enabled || proof == Proof::Verified)
        .map(|t| t.sealed_secret.clone());
    if sealed.is_none() && !record.is_enabled() {
        return Ok(());
    }
    if has_fresh_proof(app, caller) {
        return Ok(());
    }
    let code = code.filter(|c| !c.is_empty()).ok_or(Error::MfaRequired)?;
    let sealed = sealed.ok_or(Error::MfaRequired)?;
    let codes = record.backup_codes.clone();
    let user_id = record.user_id.clone();
    let last_step = record.last_totp_step;
    check_code(
        app,
        &user_id,
        throttle,
        Some(&sealed),
        last_step,
        Some(&codes),
        code,
    )
    .await?
    .spend(record);
    Ok(())
}

/// The caller and its MFA record (a new one where none is stored), once
/// [`fresh_proof`] holds.
pub(super) async fn proven_record(
    app: &App,
    claims: AccessClaims,
    code: Option<&str>,
) -> Result<(Caller, MfaRecord)> {
    let (caller, state) = caller_state(app, claims).await?;
    let mut record = state
        .record
        .unwrap_or_else(|| MfaRecord::new(&caller.user.id));
    let throttle = state.throttle;
    fresh_proof(app, &caller, &mut record, throttle, code, Proof::WhileOn).await?;
    Ok((caller, record))
}

/// Writes `record` with `user`'s MFA turned on: every other session of the
/// user ends (they signed in without the factor) and the caller's session
/// counts as having passed it (of RFC 8176 `amr`) now.
pub(super) async fn turn_on(
    app: &App,
    mut user: User,
    record: &MfaRecord,
    session_id: &str,
    amr: &str,
) -> Result<()> {
    let now = app.now();
    user.mfa_required = true;
    user.session_epoch += 1;
    user.version += 1;
    user.updated_at = now;
    write(app, record, &user).await?;
    let (moved, cleared) = tokio::join!(
        app.store
            .verify_session(session_id, user.session_epoch, now, amr),
        clear_code_attempts(app, &user.id)
    );
    // Should the move fail, the caller signs in again: the safe side.
    match moved {
        Ok(()) | Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    cleared
}

async fn write(app: &App, record: &MfaRecord, user: &User) -> Result<()> {
    match app.store.put_mfa_with_user(record, user).await {
        Ok(()) => Ok(()),
        // Another change of the user or its MFA came first: the client
        // decides again.
        Err(StoreError::Conflict) => Err(Error::Conflict),
        Err(e) => Err(e.into()),
    }
}

/// What each change asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Disable,
    Enable,
    Primary,
}

/// `POST /mfa/disable`, `/mfa/enable`, `/mfa/primary` `{"mfaType", "code"?}`.
/// Disabling keeps the verified secret (so `enable` can turn it back on)
/// and refuses to leave a member of an enforcing organization without a
/// method (409 `MFA_ENFORCED`). Returns the record as written.
pub async fn change(
    app: &App,
    claims: AccessClaims,
    change: Change,
    mfa_type: &str,
    code: Option<&str>,
) -> Result<MfaRecord> {
    let method = method_of(mfa_type)?;
    let session_id = claims.sid.clone();
    let org_id = claims.org_id.clone();
    let read_org = app.store.organization(&org_id);
    let (state, org) = tokio::join!(caller_state(app, claims), read_org);
    let (caller, state) = state?;
    let mut record = state.record.ok_or(Error::MfaNotSetUp)?;
    let (verified, enabled) = record.method_state(method);
    match change {
        Change::Disable | Change::Primary if !enabled => return Err(Error::MfaNotSetUp),
        Change::Enable if !verified => return Err(Error::MfaNotSetUp),
        // On already: nothing to change (and no session to end again).
        Change::Enable if enabled => return Ok(record),
        _ => {}
    }
    // Turning a TOTP secret back on proves that secret, on or off.
    let proof = if change == Change::Enable && method == GOOGLE_AUTH {
        Proof::Verified
    } else {
        Proof::WhileOn
    };
    fresh_proof(app, &caller, &mut record, state.throttle, code, proof).await?;
    let user_id = caller.user.id.clone();
    record.version += 1;
    record.updated_at = app.now();
    match change {
        Change::Primary => {
            record.primary = Some(method.to_owned());
            put(app, &record).await?;
        }
        Change::Enable => {
            record.set_enabled(method, true);
            record.primary.get_or_insert_with(|| method.to_owned());
            turn_on(app, caller.user, &record, &session_id, amr_of(method)).await?;
        }
        Change::Disable => {
            record.set_enabled(method, false);
            let none_left = !record.is_enabled();
            if none_left && org?.is_some_and(|o| o.mfa_enforced) {
                return Err(Error::MfaEnforced);
            }
            if record.primary.as_deref() == Some(method) {
                record.primary = record.enabled_methods().first().map(|m| (*m).to_owned());
            }
            let mut user = caller.user;
            user.mfa_required = !none_left;
            user.version += 1;
            user.updated_at = app.now();
            write(app, &record, &user).await?;
        }
    }
    tracing::info!(event = "mfa_change", outcome = "success", user_id = %user_id, change = ?change, mfa_type = method, "MFA changed");
    Ok(record)
}

async fn put(app: &App, record: &MfaRecord) -> Result<()> {
    match app.store.put_mfa(record).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict) => Err(Error::Conflict),
        Err(e) => Err(e.into()),
    }
}

/// `POST /mfa/backup-codes` `{"code"?}`: 10 new backup codes, shown once;
/// the old ones die. Needs MFA on and a fresh proof. They stand in for any
/// method at sign-in (`mfaType` `GOOGLE_AUTH`).
pub async fn new_codes(app: &App, claims: AccessClaims, code: Option<&str>) -> Result<Vec<String>> {
    let key = app.mfa_key()?;
    let (caller, mut record) = proven_record(app, claims, code).await?;
    if !record.is_enabled() {
        return Err(Error::MfaNotSetUp);
    }
    let (codes, hashes) = fresh_backup_codes(key, &caller.user.id)?;
    record.backup_codes = hashes;
    record.version += 1;
    record.updated_at = app.now();
    put(app, &record).await?;
    tracing::info!(event = "mfa_backup_codes", outcome = "success", user_id = %caller.user.id, "backup codes replaced");
    Ok(codes)
}

/// Ten new backup codes (shown once) and what the store keeps of them.
pub(super) fn fresh_backup_codes(
    key: &MfaKey,
    user_id: &str,
) -> Result<(Vec<String>, Vec<String>)> {
    let codes = new_backup_codes()?;
    let hashes = codes
        .iter()
        .map(|c| key.backup_code_hash(user_id, c))
        .collect();
    Ok((codes, hashes))
}
