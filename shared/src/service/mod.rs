//! One module per operation. Plain Rust: no HTTP types, no store details.

pub mod account_status;
pub mod caller;
pub mod health;
pub mod login;
mod mail_tokens;
pub mod members;
pub mod mfa;
pub mod operator;
pub mod organization;
pub mod plans;
pub mod quota;
pub mod refresh;
pub mod register;
pub mod reset;
pub mod roles;
pub mod sessions;
pub mod settings;
pub mod social;
pub mod throttle;
pub mod users;
pub mod validate;
pub mod verify;

use crate::App;
use crate::auth::refresh as refresh_token;
use crate::error::{Error, Result};
use crate::model::{LOGIN_METHOD_PASSWORD, Session, User};
use crate::store::StoreError;

/// What register and login hand back: a new session and its tokens; or,
/// for a user with MFA on, a pending sign-in (`mfa_required`): a short-lived
/// `mfa_pending` token, no session and no refresh token until
/// `mfa/verify-login` (or, for a member that must enroll a second factor
/// first, an `mfa_enroll` token until `mfa/verify-setup`).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub session_id: Option<String>,
    pub mfa_required: bool,
    /// When the access token expires.
    pub expires_at: i64,
    pub user: User,
    /// Register's: what `resend-verification` takes.
    pub verification_token_id: Option<String>,
}

/// Where a sign-in came from, kept with its session for the session list.
#[derive(Debug, Clone, Default)]
pub struct SessionOrigin {
    pub device_info: Option<serde_json::Value>,
    /// The client's address as the gateway (or the local server) saw it.
    pub ip_address: Option<String>,
}

/// A new refresh family for `user`, in the user's current session epoch,
/// and the refresh token that opens it.
pub(crate) fn new_session(
    app: &App,
    user: &User,
    origin: SessionOrigin,
) -> Result<(Session, String)> {
    new_session_with_id(app, user, origin, refresh_token::new_session_id())
}

/// [`new_session`] under an id chosen before: the one a pending sign-in's
/// token names, so that it starts that session and no other.
pub(crate) fn new_session_with_id(
    app: &App,
    user: &User,
    origin: SessionOrigin,
    id: String,
) -> Result<(Session, String)> {
    let now = app.now();
    let tokens = &app.config.tokens;
    let family = refresh_token::new_family_secret()?;
    let minted = refresh_token::mint(&id, 0, &family.secret)?;
    let expires_at = now + tokens.session_max_seconds;
    let session = Session {
        id,
        user_id: user.id.clone(),
        epoch: user.session_epoch,
        token_hash: minted.hash,
        family_hash: family.hash,
        generation: 0,
        rotated_at: None,
        token_expires_at: (now + tokens.refresh_ttl_seconds).min(expires_at),
        expires_at,
        revoked: false,
        created_at: now,
        device_info: origin.device_info,
        ip_address: origin.ip_address,
        login_method: LOGIN_METHOD_PASSWORD.to_owned(),
        mfa_at: None,
        mfa_amr: None,
    };
    Ok((session, minted.token))
}

/// How a sign-in proved who it is, for its log lines and its session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignInMethod {
    /// The log lines' `event`.
    pub event: &'static str,
    /// The session's `login_method`.
    pub login_method: &'static str,
}

impl SignInMethod {
    pub const PASSWORD: SignInMethod = SignInMethod {
        event: "login",
        login_method: LOGIN_METHOD_PASSWORD,
    };
}

/// The one way an existing account whose credentials checked out gets a
/// session, whether it proved itself with a password or with an outside
/// provider: its status and the deployment's sign-in rules are decided
/// here, so a rule added later (a second factor) holds for every way in.
/// `alongside` runs with the session's write (login clears its attempts).
pub(crate) async fn start_session(
    app: &App,
    user: User,
    origin: SessionOrigin,
    method: SignInMethod,
    alongside: impl Future<Output = Result<()>>,
) -> Result<SignedIn> {
    let event = method.event;
    may_sign_in(app, &user, event)?;
    if user.mfa_required || user.mfa_enroll {
        // The second factor is still owed (or, after an administrator's
        // reset, still to be enrolled): no session, no refresh token.
        alongside.await?;
        return mfa::pending_sign_in(app, user, method);
    }
    let (mut session, refresh_token) = new_session(app, &user, origin)?;
    session.login_method = method.login_method.to_owned();
    // The organization's enforcement is checked in the session's own write
    // (no round trip of its own).
    let (created, done, capped) = tokio::join!(
        app.store.create_sign_in_session(&session, &user.org_id),
        alongside,
        sessions::end_sessions_beyond_cap(app, &user, &session.id)
    );
    done?;
    match created {
        Ok(()) => {}
        // A member without a second factor in an enforcing organization:
        // it enrolls one first.
        Err(StoreError::MfaEnforced) => return mfa::pending_sign_in(app, user, method),
        Err(e) => return Err(e.into()),
    }
    capped?;
    tracing::info!(
        event,
        outcome = "success",
        user_id = %user.id,
        org_id = %user.org_id,
        session_id = %session.id,
        login_method = method.login_method,
        "signed in"
    );
    signed_in(app, user, &session, refresh_token)
}

/// The account's status and the deployment's rules allow a sign-in.
pub(crate) fn may_sign_in(app: &App, user: &User, event: &'static str) -> Result<()> {
    if !user.is_active() {
        tracing::info!(event, outcome = "inactive", user_id = %user.id, org_id = %user.org_id, "sign-in refused: account inactive");
        return Err(Error::UserInactive);
    }
    if app.config.mail.require_verified_email && !user.validated {
        tracing::info!(event, outcome = "unverified", user_id = %user.id, org_id = %user.org_id, "sign-in refused: email not verified");
        return Err(Error::EmailNotVerified);
    }
    Ok(())
}

pub(crate) fn signed_in(
    app: &App,
    user: User,
    session: &Session,
    refresh_token: String,
) -> Result<SignedIn> {
    let access = app.access_tokens.issue(&user, session, app.now())?;
    Ok(SignedIn {
        access_token: access.token,
        refresh_token: Some(refresh_token),
        session_id: Some(session.id.clone()),
        mfa_required: false,
        expires_at: access.expires_at,
        user,
        verification_token_id: None,
    })
}
