//! One module per operation. Plain Rust: no HTTP types, no store details.

pub mod account_status;
pub mod caller;
pub mod health;
pub mod login;
mod mail_tokens;
pub mod members;
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

/// What register and login hand back: a new session and its tokens.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
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
    let now = app.now();
    let tokens = &app.config.tokens;
    let id = refresh_token::new_session_id();
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
    if !user.is_active() {
        tracing::info!(event, outcome = "inactive", user_id = %user.id, org_id = %user.org_id, "sign-in refused: account inactive");
        return Err(Error::UserInactive);
    }
    if app.config.mail.require_verified_email && !user.validated {
        tracing::info!(event, outcome = "unverified", user_id = %user.id, org_id = %user.org_id, "sign-in refused: email not verified");
        return Err(Error::EmailNotVerified);
    }
    let (mut session, refresh_token) = new_session(app, &user, origin)?;
    session.login_method = method.login_method.to_owned();
    let (created, done, capped) = tokio::join!(
        app.store.create_session(&session),
        alongside,
        sessions::end_sessions_beyond_cap(app, &user, &session.id)
    );
    created?;
    done?;
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

pub(crate) fn signed_in(
    app: &App,
    user: User,
    session: &Session,
    refresh_token: String,
) -> Result<SignedIn> {
    let access = app.access_tokens.issue(&user, &session.id, app.now())?;
    Ok(SignedIn {
        access_token: access.token,
        refresh_token,
        session_id: session.id.clone(),
        expires_at: access.expires_at,
        user,
        verification_token_id: None,
    })
}
