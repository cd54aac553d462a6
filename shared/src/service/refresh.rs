//! POST /user/refresh: rotation with reuse detection.
//!
//! Each refresh token works once. Presenting the token just rotated away
//! within the grace window (two tabs refreshing at once) is refused and
//! harmless; presenting any rotated token later means it leaked, and the whole
//! family is revoked.

use crate::App;
use crate::auth::refresh as refresh_token;
use crate::error::{Error, Result};
use crate::store::StoreError;

/// How many rotated-away hashes a family remembers for reuse detection.
pub const REMEMBERED_HASHES: usize = 16;

#[derive(Debug, Clone)]
pub struct Refreshed {
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
    pub expires_at: i64,
}

pub async fn refresh(app: &App, presented: &str) -> Result<Refreshed> {
    let session_id = refresh_token::session_id_of(presented)?;
    let Some(session) = app.store.session(session_id).await? else {
        return Err(Error::InvalidRefreshToken);
    };
    let now = app.now();
    let presented_hash = refresh_token::hash(presented);
    if session.revoked || now >= session.expires_at {
        return Err(Error::InvalidRefreshToken);
    }
    if presented_hash != session.token_hash {
        let grace = app.config.tokens.reuse_grace_seconds;
        let just_rotated = session.previous_hashes.first() == Some(&presented_hash)
            && session.rotated_at.is_some_and(|at| now - at <= grace);
        if just_rotated {
            tracing::info!(event = "refresh", outcome = "already_rotated", session_id = %session.id, user_id = %session.user_id, "refresh refused: token just rotated");
            return Err(Error::RefreshTokenAlreadyRotated);
        }
        if session.previous_hashes.contains(&presented_hash) {
            app.store.revoke_session(&session.id).await?;
            tracing::warn!(event = "refresh", outcome = "reuse_detected", session_id = %session.id, user_id = %session.user_id, "refresh token reuse: session revoked");
            return Err(Error::RefreshTokenReused);
        }
        return Err(Error::InvalidRefreshToken);
    }
    if now >= session.token_expires_at {
        return Err(Error::InvalidRefreshToken);
    }

    let minted = refresh_token::mint(&session.id)?;
    let mut next = session.clone();
    next.previous_hashes.insert(0, presented_hash.clone());
    next.previous_hashes.truncate(REMEMBERED_HASHES);
    next.token_hash = minted.hash;
    next.rotated_at = Some(now);
    next.token_expires_at = (now + app.config.tokens.refresh_ttl_seconds).min(session.expires_at);

    // The user read does not depend on the rotation: one round trip for both.
    let (rotated, user) = tokio::join!(
        app.store.rotate_session(&next, &presented_hash),
        app.store.user(&session.user_id)
    );
    match rotated {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            // Lost to a concurrent rotation of the same token (or a revocation).
            let revoked = app
                .store
                .session(&session.id)
                .await?
                .is_none_or(|s| s.revoked);
            return Err(if revoked {
                Error::InvalidRefreshToken
            } else {
                Error::RefreshTokenAlreadyRotated
            });
        }
        Err(e) => return Err(e.into()),
    }
    let user = match user? {
        Some(user) if user.is_active() => user,
        _ => {
            app.store.revoke_session(&session.id).await?;
            return Err(Error::InvalidRefreshToken);
        }
    };
    let access = app.access_tokens.issue(&user, &session.id, now)?;
    tracing::info!(event = "refresh", outcome = "success", session_id = %session.id, user_id = %user.id, org_id = %user.org_id, "session refreshed");
    Ok(Refreshed {
        access_token: access.token,
        refresh_token: minted.token,
        session_id: session.id,
        expires_at: access.expires_at,
    })
}
