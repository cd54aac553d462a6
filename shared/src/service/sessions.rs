//! A user's sessions: signing out, the session list, ending one or all.
//!
//! A session is a refresh family (its id is the `tokenId` clients get and
//! the `sid` of its access tokens). Every authenticated request checks it
//! (`caller::caller_from`), so ending one takes effect on the next request.

use super::caller::{self, caller_from};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::auth::refresh as refresh_token;
use crate::error::{Error, Result};
use crate::model::{Session, User};
use crate::store::StoreError;

/// Live sessions one user may have; a sign-in past it ends the oldest.
pub const MAX_LIVE_SESSIONS: usize = 100;
/// How often ending every session re-reads the user after losing a race.
const EPOCH_ATTEMPTS: usize = 4;

/// POST /user/logout: ends the session of a refresh token (any token the
/// family was ever given, since holding one proves it was ours to end).
/// Anything else, malformed or unknown, is quietly ignored: the answer is
/// the same whether or not there was a session to end.
pub async fn logout(app: &App, presented: &str) -> Result<()> {
    let Ok(presented) = refresh_token::parse(presented) else {
        return Ok(());
    };
    let Some(session) = app.store.session(presented.session_id).await? else {
        return Ok(());
    };
    if session.family_hash != presented.family_hash || session.revoked {
        return Ok(());
    }
    app.store.revoke_session(&session.id).await?;
    tracing::info!(event = "logout", session_id = %session.id, user_id = %session.user_id, "signed out: session ended");
    Ok(())
}

/// One entry of the session list.
#[derive(Debug, Clone)]
pub struct SessionEntry {
    pub session: Session,
    /// Whether it is the one the request came with.
    pub current: bool,
}

/// The caller's live sessions, newest first, and the caller as read.
async fn live_sessions(app: &App, claims: AccessClaims) -> Result<(User, Vec<SessionEntry>)> {
    let current_id = claims.sid.clone();
    let (records, listed) = tokio::join!(
        app.store.user_and_session(&claims.sub, &claims.sid),
        app.store.user_sessions(&claims.sub)
    );
    let current = records.as_ref().ok().and_then(|(_, s)| s.clone());
    let caller = caller_from(app, claims, records?)?;
    let mut sessions = listed?;
    // The index may not list a session created a moment ago; the caller's
    // own was just read by key.
    if let Some(current) = current.filter(|c| !sessions.iter().any(|s| s.id == c.id)) {
        sessions.push(current);
    }
    let now = app.now();
    let mut live: Vec<SessionEntry> = sessions
        .into_iter()
        .filter(|s| s.is_live_for(&caller.user, now))
        .map(|session| SessionEntry {
            current: session.id == current_id,
            session,
        })
        .collect();
    live.sort_by(|a, b| {
        (b.session.created_at, &b.session.id).cmp(&(a.session.created_at, &a.session.id))
    });
    Ok((caller.user, live))
}

/// GET /sessions (and GET /token).
pub async fn list(app: &App, claims: AccessClaims) -> Result<Vec<SessionEntry>> {
    Ok(live_sessions(app, claims).await?.1)
}

/// POST /sessions/{id}/revoke (and DELETE /token/{tokenId}): ends one of
/// the caller's own live sessions. Anyone else's, or none, is
/// `SessionNotFound`: the same answer, so ids can't be probed.
pub async fn revoke(app: &App, claims: AccessClaims, session_id: &str) -> Result<()> {
    let well_formed = refresh_token::is_session_id(session_id);
    let caller = caller::caller(app, claims).await?;
    if !well_formed {
        return Err(Error::SessionNotFound);
    }
    let user = &caller.user;
    let ended = app
        .store
        .revoke_live_session(&user.id, session_id, user.session_epoch, app.now())
        .await?;
    if !ended {
        return Err(Error::SessionNotFound);
    }
    tracing::info!(event = "session_revoke", user_id = %user.id, session_id = %session_id, current = session_id == caller.claims.sid, "session ended by its user");
    Ok(())
}

/// POST /sessions/revoke-all: ends every session of the caller, its own
/// included, in one write (the user's session epoch moves on). Returns how
/// many live sessions there were.
pub async fn revoke_all(app: &App, claims: AccessClaims) -> Result<usize> {
    let (mut user, live) = live_sessions(app, claims).await?;
    for attempt in 1..=EPOCH_ATTEMPTS {
        let mut updated = user.clone();
        updated.session_epoch += 1;
        updated.version += 1;
        updated.updated_at = app.now();
        match app.store.update_user(&updated).await {
            Ok(()) => {
                tracing::info!(event = "session_revoke_all", user_id = %user.id, revoked = live.len(), "every session ended by its user");
                return Ok(live.len());
            }
            Err(StoreError::Conflict) if attempt < EPOCH_ATTEMPTS => {
                // Changed meanwhile (a name, a role): end them over what it is now.
                user = app
                    .store
                    .user(&user.id)
                    .await?
                    .filter(User::is_active)
                    .ok_or(Error::SessionRevoked)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}

/// After a sign-in has started `new_session_id`: if the user now has more
/// than [`MAX_LIVE_SESSIONS`] live sessions, the oldest end. One request
/// (the ids of sessions not revoked), which sign-in sends alongside the new
/// session's write; the sessions themselves are read only past the cap.
pub(crate) async fn end_sessions_beyond_cap(
    app: &App,
    user: &User,
    new_session_id: &str,
) -> Result<usize> {
    let keep = MAX_LIVE_SESSIONS - 1;
    let unrevoked = app.store.unrevoked_session_ids(&user.id).await?;
    if unrevoked.iter().filter(|id| *id != new_session_id).count() <= keep {
        return Ok(0);
    }
    let sessions = app.store.user_sessions(&user.id).await?;
    let now = app.now();
    let mut older: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.id != new_session_id && s.is_live_for(user, now))
        .collect();
    if older.len() <= keep {
        return Ok(0);
    }
    older.sort_by_key(|s| (s.created_at, s.id.clone()));
    let excess = older.len() - keep;
    for session in &older[..excess] {
        app.store.revoke_session(&session.id).await?;
    }
    tracing::info!(event = "session_cap", user_id = %user.id, ended = excess, "oldest sessions ended: too many live sessions");
    Ok(excess)
}
