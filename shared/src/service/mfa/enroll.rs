//! Enrollment at sign-in: a member without a second factor whose
//! organization enforces MFA (or whose MFA an administrator reset, asking
//! for a new one) signs in to an `mfa_enroll` token instead of a session.
//! That token only sets a factor up: `mfa/setup`, then `mfa/verify-setup`,
//! which turns the factor on and starts the session in one write.

use super::login::start_verified_session;
use super::{SetUpVerified, amr_of, pending_state, proven_setup};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};
use crate::model::User;
use crate::model::mfa::{GOOGLE_AUTH, MfaRecord};
use crate::service::may_sign_in;
use crate::store::MfaState;

/// The enrolling account as the store has it now, still allowed to sign
/// in and still without a method on (one turned on since, by another
/// enrollment, is what it signs in with now: 403 `MFA_REQUIRED`).
pub(super) async fn enrolling_state(
    app: &App,
    claims: &AccessClaims,
    event: &'static str,
) -> Result<(User, MfaState)> {
    let (user, state) = pending_state(app, claims).await?;
    may_sign_in(app, &user, event)?;
    if state.record.as_ref().is_some_and(MfaRecord::is_enabled) {
        return Err(Error::MfaRequired);
    }
    Ok((user, state))
}

/// `mfa/setup` with an enrollment's token: the user and its MFA record (a
/// new one where none is stored). No fresh proof: no method is on.
pub(super) async fn enrolling(app: &App, claims: &AccessClaims) -> Result<(User, MfaRecord)> {
    let (user, state) = enrolling_state(app, claims, "mfa_setup").await?;
    let record = state.record.unwrap_or_else(|| MfaRecord::new(&user.id));
    Ok((user, record))
}

/// `mfa/verify-setup` with an enrollment's token: the code proves the
/// pending setup, and the method goes on (the user's `mfa_required` set,
/// its reset's `mfa_enroll` cleared, every session from before ended as at
/// any verify-setup) in the same write that starts the session the token
/// names, MFA passed now.
pub(super) async fn verify(
    app: &App,
    claims: AccessClaims,
    code: &str,
    ip_address: Option<String>,
) -> Result<SetUpVerified> {
    let (user, state) = enrolling_state(app, &claims, "mfa_enroll").await?;
    let record = proven_setup(app, &user.id, state.record, state.throttle, code).await?;
    finish(app, user, claims, record, ip_address, GOOGLE_AUTH).await
}

/// An enrollment's method (`method`) proven on `record`: it goes on in the
/// same write that starts the session the token names.
pub(super) async fn finish(
    app: &App,
    mut user: User,
    claims: AccessClaims,
    record: MfaRecord,
    ip_address: Option<String>,
    method: &'static str,
) -> Result<SetUpVerified> {
    user.mfa_required = true;
    user.mfa_enroll = false;
    user.session_epoch += 1;
    user.version += 1;
    user.updated_at = app.now();
    let amr = amr_of(method);
    let signed_in = start_verified_session(app, user, true, &claims, ip_address, &record, amr)
        .await
        .inspect_err(|e| {
            if matches!(e, Error::Conflict) {
                tracing::info!(event = "mfa_enroll", outcome = "conflict", user_id = %claims.sub, "enrollment lost to a concurrent change");
            }
        })?;
    let session_id = signed_in.session_id.as_deref().unwrap_or_default();
    tracing::info!(event = "mfa_enroll", outcome = "success", user_id = %signed_in.user.id, org_id = %signed_in.user.org_id, session_id, mfa_type = method, "MFA enrolled; signed in");
    Ok(SetUpVerified {
        record,
        signed_in: Some(signed_in),
    })
}
