//! Email verification and invitations: `pre-verify-email` looks at a token
//! without spending it; `verify-email` spends it, marks the address
//! verified, sets the password of an invited member who has none, and
//! signs the user in.

use super::mail_tokens::presented;
use super::{SessionOrigin, SignedIn, new_session, signed_in};
use crate::App;
use crate::auth::password;
use crate::error::{Error, Result};
use crate::mail::TokenPurpose;
use crate::store::StoreError;

/// How often a verification is tried again after the user changed under it.
const REDEEM_ATTEMPTS: usize = 3;

fn invalid() -> Error {
    Error::InvalidVerificationToken
}

/// What `pre-verify-email` tells the web app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenInfo {
    /// False for an invited member with no password yet: the page asks for one.
    pub has_password: bool,
}

pub async fn pre_verify(app: &App, token: &str) -> Result<TokenInfo> {
    let found = presented(app, token, TokenPurpose::Verify, invalid).await?;
    Ok(TokenInfo {
        has_password: !found.user.password_hash.is_empty(),
    })
}

pub async fn verify(
    app: &App,
    token: &str,
    new_password: Option<&str>,
    origin: SessionOrigin,
) -> Result<SignedIn> {
    let mut password_hash = None;
    for _ in 0..REDEEM_ATTEMPTS {
        let found = presented(app, token, TokenPurpose::Verify, invalid).await?;
        let mut user = found.user;
        if !user.is_active() {
            return Err(Error::UserInactive);
        }
        if user.password_hash.is_empty() {
            if password_hash.is_none() {
                let password = new_password.filter(|p| !p.is_empty()).ok_or_else(|| {
                    Error::validation("password is required to accept an invitation")
                })?;
                password::check_strength(password)?;
                password_hash = Some(app.passwords.hash(password).await?);
            }
            user.password_hash = password_hash.clone().unwrap_or_default();
        }
        user.validated = true;
        user.version += 1;
        user.updated_at = app.now();
        let (session, refresh_token) = new_session(app, &user, origin.clone())?;
        match app
            .store
            .redeem_verification(&found.hash, &user, &session)
            .await
        {
            Ok(()) => {
                tracing::info!(event = "verify_email", outcome = "success", user_id = %user.id, org_id = %user.org_id, session_id = %session.id, "email verified");
                return signed_in(app, user, &session, refresh_token);
            }
            // Spent by a concurrent request (the next read says so), or
            // the user changed: decided again on what is stored now.
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}
