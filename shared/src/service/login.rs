//! POST /user/login: password sign-in, with per-address throttling that
//! behaves the same whether or not an account has the address.

use super::throttle::{clear_attempts, count_attempt};
use super::{SessionOrigin, SignInMethod, SignedIn, start_session, validate};
use crate::App;
use crate::auth::password::Verification;
use crate::error::{Error, Result};
use crate::model::User;
use crate::store::StoreError;

/// A password no legitimate client sends; bigger ones are not even hashed.
const MAX_PASSWORD_BYTES: usize = 1024;
/// A user id no account has (accounts get random v4 UUIDs): what login reads
/// for an address without an account.
pub(crate) const NO_ACCOUNT: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub email: String,
    pub password: String,
    pub device_info: Option<serde_json::Value>,
    /// The client's address, kept with the session.
    pub ip_address: Option<String>,
}

/// Stores a hash at the current parameters. Losing to a concurrent update is
/// fine: the next login tries again.
async fn rehash(app: &App, user: &mut User, password: &str) -> Result<()> {
    let mut updated = user.clone();
    updated.password_hash = app.passwords.hash(password).await?;
    updated.version += 1;
    updated.updated_at = app.now();
    match app.store.update_user(&updated).await {
        Ok(()) => *user = updated,
        Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

pub async fn login(app: &App, input: Credentials) -> Result<SignedIn> {
    if input.email.trim().is_empty() || input.password.is_empty() {
        return Err(Error::validation("email and password are required"));
    }
    if input.password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::InvalidCredentials);
    }
    // An address that cannot exist still goes through the same steps, so
    // that its answer and timing match any other unknown address; only one
    // too long to be a key is refused.
    let email = validate::login_email(&input.email)?;
    if let Some(device_info) = &input.device_info {
        validate::device_info(device_info)?;
    }
    let lookup = app.store.login_lookup(&email).await?;
    // The account is read alongside the count, and a user id that no
    // account has is read when the address has none: a known and an
    // unknown address cost the same requests, in the same order.
    let user_id = lookup.user_id.as_deref().unwrap_or(NO_ACCOUNT);
    let (counted, user) = tokio::join!(
        count_attempt(app, &email, lookup.throttle, &app.config.login_throttle),
        app.store.user(user_id)
    );
    if let Err(e) = counted {
        if matches!(e, Error::TooManyAttempts { .. }) {
            tracing::info!(
                event = "login",
                outcome = "throttled",
                "login refused: too many attempts"
            );
        }
        return Err(e);
    }
    let user = user?.filter(|u| u.email == email);
    // An invited member without a password yet is checked like an unknown
    // address: against the dummy hash.
    let stored_hash = user
        .as_ref()
        .map(|u| u.password_hash.as_str())
        .filter(|h| !h.is_empty());
    let verification = app.passwords.verify(&input.password, stored_hash).await?;
    let user = match (verification, user) {
        (Verification::Mismatch, user) | (_, user @ None) => {
            tracing::info!(
                event = "login",
                outcome = "failure",
                user_id = user.as_ref().map(|u| u.id.as_str()),
                org_id = user.as_ref().map(|u| u.org_id.as_str()),
                "login failed"
            );
            return Err(Error::InvalidCredentials);
        }
        (_, Some(user)) => user,
    };
    let mut signed_in = start_session(
        app,
        user,
        SessionOrigin {
            device_info: input.device_info,
            ip_address: input.ip_address,
        },
        SignInMethod::PASSWORD,
        clear_attempts(app, &email),
    )
    .await?;
    if verification == Verification::MatchNeedsRehash {
        rehash(app, &mut signed_in.user, &input.password).await?;
    }
    Ok(signed_in)
}
