//! `mfa/verify-login`: the second factor of a pending sign-in; the session
//! starts here.

use super::{Accepted, check_code, clear_code_attempts, method_of, pending_state};
use crate::App;
use crate::auth::access::{AccessClaims, MFA_PENDING_TYPE};
use crate::error::{Error, Result};
use crate::model::LOGIN_METHOD_PASSWORD;
use crate::service::{
    SessionOrigin, SignedIn, may_sign_in, new_session_with_id, sessions, signed_in,
};
use crate::store::StoreError;

/// What verify-login is given besides the pending token.
#[derive(Debug, Clone, Default)]
pub struct CodeSignIn {
    pub mfa_type: String,
    pub code: String,
    pub ip_address: Option<String>,
}

pub async fn verify_login(app: &App, claims: AccessClaims, input: CodeSignIn) -> Result<SignedIn> {
    if claims.token_type != MFA_PENDING_TYPE {
        return Err(Error::MfaRequired);
    }
    method_of(&input.mfa_type)?;
    if input.code.trim().is_empty() {
        return Err(Error::validation("code is required"));
    }
    let (user, state) = pending_state(app, &claims).await?;
    may_sign_in(app, &user, "mfa_login")?;
    let mut record = state
        .record
        .filter(|r| r.is_enabled())
        .ok_or(Error::MfaNotSetUp)?;
    let totp = record.totp.clone().ok_or(Error::MfaNotSetUp)?;
    match check_code(
        app,
        &user.id,
        state.throttle,
        &totp.sealed_secret,
        record.last_totp_step,
        Some(&record.backup_codes),
        &input.code,
    )
    .await?
    {
        Accepted::Step(step) => record.last_totp_step = step,
        Accepted::BackupCode(index) => {
            record.backup_codes.remove(index);
        }
    }
    let now = app.now();
    record.version += 1;
    record.updated_at = now;
    let origin = SessionOrigin {
        device_info: None,
        ip_address: input.ip_address,
    };
    let (mut session, refresh_token) = new_session_with_id(app, &user, origin, claims.sid.clone())?;
    session.login_method = claims
        .login_method
        .clone()
        .unwrap_or_else(|| LOGIN_METHOD_PASSWORD.to_owned());
    session.mfa_at = Some(now);
    // The code is spent and the session started in one write: of two
    // requests with the same code (or the same pending token), one wins.
    let (written, cleared, capped) = tokio::join!(
        app.store.mfa_sign_in(&record, &session),
        clear_code_attempts(app, &user.id),
        sessions::end_sessions_beyond_cap(app, &user, &session.id)
    );
    match written {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            tracing::info!(event = "mfa_login", outcome = "spent", user_id = %user.id, "code or pending sign-in already used");
            return Err(Error::InvalidMfaCode);
        }
        Err(e) => return Err(e.into()),
    }
    cleared?;
    capped?;
    tracing::info!(event = "mfa_login", outcome = "success", user_id = %user.id, org_id = %user.org_id, session_id = %session.id, login_method = %session.login_method, "signed in with a second factor");
    signed_in(app, user, &session, refresh_token)
}
