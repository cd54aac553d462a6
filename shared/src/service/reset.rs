//! Password reset: `request-reset-password` mails a link (the same answer,
//! in about the same time, whether or not the address has an account);
//! `reset-password` spends the token and every other outstanding mail
//! token of the user, sets the password, verifies the address and ends
//! every session (the user's session epoch moves on, and every link minted
//! before with it), in one write, then clears the login throttle.

use super::mail_tokens::{self, presented};
use super::{login, throttle, validate};
use crate::App;
use crate::auth::password;
use crate::error::{Error, Result};
use crate::model::mail::{MailKind, MailLimit, Recipient, TokenPurpose};
use crate::store::{ResetGrant, StoreError};

/// Reset mails per address per window.
pub const MAX_RESET_MAILS: u32 = 3;
pub const RESET_MAIL_WINDOW_SECONDS: i64 = 3600;
/// How often a reset is tried again after the user changed under it.
const REDEEM_ATTEMPTS: usize = 3;

fn invalid() -> Error {
    Error::InvalidResetToken
}

/// Asks for a reset mail to `email`. Whatever happens short of a store
/// failure, the caller answers the same: the outcome is not the client's
/// business. Both kinds of address read the same records and write the
/// same number of the same-sized records in one transaction.
pub async fn request(app: &App, email: &str) -> Result<()> {
    let email = validate::normalize_email(email)?;
    let lookup = app.store.reset_lookup(&email).await?;
    let now = app.now();
    let Some(limit) = MailLimit::after_one_more(
        lookup.limit.as_ref(),
        now,
        MAX_RESET_MAILS,
        RESET_MAIL_WINDOW_SECONDS,
    ) else {
        tracing::info!(
            event = "request_reset",
            outcome = "limited",
            "reset mail limit reached"
        );
        return Ok(());
    };
    let expected = lookup.limit.as_ref().map(|l| l.count);
    // The link is bound to the account's session epoch, so the account is
    // read; an address without one reads an id no account has, so that
    // both cost the same requests.
    let user = app
        .store
        .user(lookup.user_id.as_deref().unwrap_or(login::NO_ACCOUNT))
        .await?
        .filter(|u| u.email == email && u.is_active());
    let (grant, has_account) = match &user {
        Some(user) => {
            let to = Recipient {
                user_id: &user.id,
                epoch: user.session_epoch,
                email: &email,
                name: "",
                org_name: None,
            };
            (mail_tokens::grant(MailKind::Reset, &to, now)?, true)
        }
        None => (mail_tokens::stand_in(&email, now)?, false),
    };
    let written = if has_account {
        ResetGrant::Account(&grant)
    } else {
        ResetGrant::StandIn(&grant)
    };
    match app
        .store
        .request_reset(&email, &limit, expected, written)
        .await
    {
        // A concurrent request for the address counted first: this one
        // answers the same and mails nothing.
        Ok(()) | Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(
        event = "request_reset",
        outcome = "accepted",
        user_id = lookup.user_id.as_deref(),
        "reset requested"
    );
    Ok(())
}

pub async fn reset(app: &App, token: &str, new_password: &str) -> Result<()> {
    let mut password_hash = None;
    for _ in 0..REDEEM_ATTEMPTS {
        let found = presented(app, token, TokenPurpose::Reset, invalid).await?;
        let hash = match &password_hash {
            Some(hash) => String::clone(hash),
            None => {
                password::check_strength(new_password)?;
                let hash = app.passwords.hash(new_password).await?;
                password_hash = Some(hash.clone());
                hash
            }
        };
        let mut user = found.user;
        user.password_hash = hash;
        // Every session ends, in this same write (a sign-in racing the
        // reset starts its session in the old epoch: dead at once).
        user.session_epoch += 1;
        // The mail was read: the address is the user's.
        user.validated = true;
        user.version += 1;
        user.updated_at = app.now();
        match app
            .store
            .redeem_reset(&found.hash, &found.others, &user)
            .await
        {
            Ok(()) => {
                throttle::clear_attempts(app, &user.email).await?;
                tracing::info!(event = "reset_password", outcome = "success", user_id = %user.id, org_id = %user.org_id, "password reset; every session ended");
                return Ok(());
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}
