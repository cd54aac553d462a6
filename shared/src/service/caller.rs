//! Who is calling: the bearer token says who, the store says what they may do.

use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};
use crate::model::{Session, User};

/// An authenticated caller, as the store has it now.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub claims: AccessClaims,
    /// When the caller's session signed in (a password or a mail link):
    /// refreshes keep it, so it says how fresh the proof is.
    pub signed_in_at: i64,
    /// When the caller's session last passed a second factor.
    pub mfa_at: Option<i64>,
}

/// What the store says of the caller: its account and the session its
/// token was issued under, read together (`SessionStore::user_and_session`).
pub type CallerRecords = (Option<User>, Option<Session>);

/// The caller, if the store still lets it in. A gone account (or one moved
/// out of the token's organization) is 401 like a bad token; an ended
/// session (logout, revocation, a password change, reuse, deactivation) is
/// 401 `SESSION_REVOKED`; an account deactivated without ending its
/// sessions is refused too. So roles, sessions and deactivation all apply
/// on the very next request.
pub fn caller_from(app: &App, claims: AccessClaims, records: CallerRecords) -> Result<Caller> {
    let (user, session) = records;
    let Some(user) = user.filter(|u| u.org_id == claims.org_id) else {
        return Err(Error::InvalidToken);
    };
    let Some(session) = session.filter(|s| s.id == claims.sid && s.is_live_for(&user, app.now()))
    else {
        return Err(Error::SessionRevoked);
    };
    if !user.is_active() {
        return Err(Error::InvalidToken);
    }
    // A session of an unverified account (one from before the setting was
    // turned on) lets nobody in where the address must be proven first.
    if app.config.mail.require_verified_email && !user.validated {
        return Err(Error::EmailNotVerified);
    }
    Ok(Caller {
        user,
        claims,
        signed_in_at: session.created_at,
        mfa_at: session.mfa_at,
    })
}

/// The caller named by verified claims, read from the store: one round trip.
pub async fn caller(app: &App, claims: AccessClaims) -> Result<Caller> {
    let records = app.store.user_and_session(&claims.sub, &claims.sid).await?;
    caller_from(app, claims, records)
}

impl Caller {
    pub fn id(&self) -> &str {
        &self.user.id
    }

    /// Users always belong to one; this guards data written otherwise.
    pub fn org_id(&self) -> Result<&str> {
        if self.user.org_id.is_empty() {
            Err(Error::NoOrganization)
        } else {
            Ok(&self.user.org_id)
        }
    }
}
