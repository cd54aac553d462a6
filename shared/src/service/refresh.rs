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

#[derive(Debug, Clone)]
pub struct Refreshed {
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
    pub expires_at: i64,
}

pub async fn refresh(app: &App, presented: &str) -> Result<Refreshed> {
    let presented = refresh_token::parse(presented)?;
    let Some(session) = app.store.session(presented.session_id).await? else {
        return Err(Error::InvalidRefreshToken);
    };
    let now = app.now();
    // Not a token of this family at all (a guess at an id someone saw):
    // nothing to say about the family, and nothing done to it.
    if presented.family_hash != session.family_hash || session.revoked || now >= session.expires_at
    {
        return Err(Error::InvalidRefreshToken);
    }
    if presented.hash != session.token_hash {
        if presented.generation >= session.generation {
            return Err(Error::InvalidRefreshToken);
        }
        let grace = app.config.tokens.reuse_grace_seconds;
        let just_rotated = presented.generation + 1 == session.generation
            && session.rotated_at.is_some_and(|at| now - at <= grace);
        if just_rotated {
            tracing::info!(event = "refresh", outcome = "already_rotated", session_id = %session.id, user_id = %session.user_id, "refresh refused: token just rotated");
            return Err(Error::RefreshTokenAlreadyRotated);
        }
        app.store.revoke_session(&session.id).await?;
        tracing::warn!(
            event = "refresh",
            outcome = "reuse_detected",
            session_id = %session.id,
            user_id = %session.user_id,
            generations_behind = session.generation - presented.generation,
            "refresh token reuse: session revoked"
        );
        return Err(Error::RefreshTokenReused);
    }
    if now >= session.token_expires_at {
        return Err(Error::InvalidRefreshToken);
    }

    let mut next = session.clone();
    next.generation += 1;
    let minted = refresh_token::mint(&session.id, next.generation, presented.family_secret)?;
    next.token_hash = minted.hash;
    next.rotated_at = Some(now);
    next.token_expires_at = (now + app.config.tokens.refresh_ttl_seconds).min(session.expires_at);
    let presented_hash = presented.hash;

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
    // A session of an earlier epoch was ended with all the others
    // (deactivation, revoke-all, a password change); an unverified
    // account has none where the address must be proven first.
    let user = match user? {
        Some(user)
            if user.is_active()
                && user.session_epoch == session.epoch
                && (user.validated || !app.config.mail.require_verified_email) =>
        {
            user
        }
        _ => {
            app.store.revoke_session(&session.id).await?;
            return Err(Error::InvalidRefreshToken);
        }
    };
    let access = app.access_tokens.issue(&user, &next, now)?;
    tracing::info!(event = "refresh", outcome = "success", session_id = %session.id, user_id = %user.id, org_id = %user.org_id, "session refreshed");
    Ok(Refreshed {
        access_token: access.token,
        refresh_token: minted.token,
        session_id: session.id,
        expires_at: access.expires_at,
    })
}
