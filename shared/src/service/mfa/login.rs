//! `mfa/verify-login`: the second factor of a pending sign-in; the session
//! starts here.

use super::links::{presented_token, spend_link};
use super::{amr_of, check_code, clear_code_attempts, method_of, pending_state};
use crate::App;
use crate::auth::access::{AccessClaims, MFA_PENDING_TYPE};
use crate::error::{Error, Result};
use crate::model::mfa::{LinkPurpose, MAGIC_LINK, MfaRecord};
use crate::model::{LOGIN_METHOD_PASSWORD, User};
use crate::service::{
    SessionOrigin, SignedIn, may_sign_in, new_session_with_id, sessions, signed_in,
};
use crate::store::StoreError;

/// What verify-login is given besides the pending token.
#[derive(Debug, Clone, Default)]
pub struct CodeSignIn {
    pub mfa_type: String,
    /// A TOTP or backup code (`GOOGLE_AUTH`), or a mailed link's token
    /// (`MAGIC_LINK`).
    pub code: String,
    pub ip_address: Option<String>,
}

pub async fn verify_login(app: &App, claims: AccessClaims, input: CodeSignIn) -> Result<SignedIn> {
    if claims.token_type != MFA_PENDING_TYPE {
        return Err(Error::MfaRequired);
    }
    let method = method_of(&input.mfa_type)?;
    if input.code.trim().is_empty() {
        return Err(Error::validation("code is required"));
    }
    let (user, state) = pending_state(app, &claims).await?;
    may_sign_in(app, &user, "mfa_login")?;
    let mut record = state
        .record
        .filter(|r| r.is_enabled())
        .ok_or(Error::MfaNotSetUp)?;
    if method == MAGIC_LINK {
        if !record.method_state(MAGIC_LINK).1 {
            return Err(Error::MfaNotSetUp);
        }
        let token = presented_token(&input.code)?;
        spend_link(
            app,
            &mut record,
            state.throttle,
            LinkPurpose::SignIn,
            &claims.sid,
            token,
        )
        .await?;
    } else {
        // A backup code stands in for any method; a TOTP code needs TOTP on.
        let sealed = record
            .totp
            .as_ref()
            .filter(|t| t.enabled)
            .map(|t| t.sealed_secret.clone());
        check_code(
            app,
            &user.id,
            state.throttle,
            sealed.as_deref(),
            record.last_totp_step,
            Some(&record.backup_codes),
            &input.code,
        )
        .await?
        .spend(&mut record);
    }
    record.version += 1;
    record.updated_at = app.now();
    let amr = amr_of(method);
    let signed_in = start_verified_session(app, user, false, &claims, input.ip_address, &record, amr)
        .await
        .map_err(|e| match e {
            Error::Conflict => {
                tracing::info!(event = "mfa_login", outcome = "spent", user_id = %claims.sub, "code or pending sign-in already used");
                Error::InvalidMfaCode
            }
            e => e,
        })?;
    let session_id = signed_in.session_id.as_deref().unwrap_or_default();
    let login_method = claims
        .login_method
        .as_deref()
        .unwrap_or(LOGIN_METHOD_PASSWORD);
    tracing::info!(event = "mfa_login", outcome = "success", user_id = %signed_in.user.id, org_id = %signed_in.user.org_id, session_id, login_method, mfa_type = method, "signed in with a second factor");
    Ok(signed_in)
}

/// The session a pending token names (its `sid`: one pending token starts
/// one session at most), started with a second factor passed now, in the
/// same write as `record` (and, with `user_changed`, `user`). A lost race
/// (the session or the record written by another request) is `Conflict`.
pub(super) async fn start_verified_session(
    app: &App,
    user: User,
    user_changed: bool,
    claims: &AccessClaims,
    ip_address: Option<String>,
    record: &MfaRecord,
    amr: &str,
) -> Result<SignedIn> {
    let origin = SessionOrigin {
        device_info: None,
        ip_address,
    };
    let (mut session, refresh_token) = new_session_with_id(app, &user, origin, claims.sid.clone())?;
    session.login_method = claims
        .login_method
        .clone()
        .unwrap_or_else(|| LOGIN_METHOD_PASSWORD.to_owned());
    session.mfa_at = Some(app.now());
    session.mfa_amr = Some(amr.to_owned());
    let (written, cleared, capped) = tokio::join!(
        app.store
            .mfa_sign_in(record, user_changed.then_some(&user), &session),
        clear_code_attempts(app, &user.id),
        sessions::end_sessions_beyond_cap(app, &user, &session.id)
    );
    match written {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(Error::Conflict),
        Err(e) => return Err(e.into()),
    }
    cleared?;
    capped?;
    signed_in(app, user, &session, refresh_token)
}
