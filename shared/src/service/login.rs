//! POST /user/login: password sign-in, with per-address throttling that
//! behaves the same whether or not an account has the address.

use super::{SessionOrigin, SignedIn, new_session, sessions, signed_in, validate};
use crate::App;
use crate::auth::password::Verification;
use crate::config::LoginThrottleConfig;
use crate::error::{Error, Result};
use crate::model::{LoginThrottle, User};
use crate::store::StoreError;

/// A password no legitimate client sends; bigger ones are not even hashed.
const MAX_PASSWORD_BYTES: usize = 1024;
/// Concurrent attempts on one address retry their count this often. Each
/// round has a winner, and the address locks after `max_failures` wins, so
/// a loser meets the lock long before this.
const THROTTLE_WRITE_ATTEMPTS: usize = 16;
/// A user id no account has (accounts get random v4 UUIDs): what login reads
/// for an address without an account.
const NO_ACCOUNT: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub email: String,
    pub password: String,
    pub device_info: Option<serde_json::Value>,
    /// The client's address, kept with the session.
    pub ip_address: Option<String>,
}

/// The throttle record after one more failure at `now`.
pub fn after_failure(
    current: Option<&LoginThrottle>,
    now: i64,
    policy: &LoginThrottleConfig,
) -> LoginThrottle {
    // Failures count while each follows the previous one (or the end of
    // its lock) within the window, so that a steady attacker keeps the
    // longer waits.
    let failures = match current {
        Some(t) if now - t.last_failure_at.max(t.locked_until) < policy.window_seconds => {
            t.failures.saturating_add(1)
        }
        _ => 1,
    };
    let locked_until = if failures >= policy.max_failures {
        let doublings = (failures - policy.max_failures).min(20);
        now + (policy.base_lock_seconds << doublings).min(policy.max_lock_seconds)
    } else {
        0
    };
    LoginThrottle {
        failures,
        last_failure_at: now,
        locked_until,
        expires_at: (now + policy.window_seconds).max(locked_until),
    }
}

/// Counts one password attempt for `email` before its password is checked,
/// so that requests racing each other are counted too: each count is a
/// compare-and-set on the record read, and at most `max_failures` of them
/// succeed before the address is locked. `TooManyAttempts` when the address
/// is locked, or when the count could not be written under contention (the
/// attempt is then refused, not let through uncounted); a store failure is
/// an error like any other (503). A success clears the count afterwards
/// ([`clear_attempts`]).
pub(crate) async fn count_attempt(
    app: &App,
    email: &str,
    mut current: Option<LoginThrottle>,
) -> Result<()> {
    let policy = app.config.login_throttle;
    for _ in 0..THROTTLE_WRITE_ATTEMPTS {
        let now = app.now();
        if let Some(t) = &current
            && now < t.locked_until
        {
            return Err(Error::TooManyAttempts {
                retry_after_seconds: (t.locked_until - now) as u64,
            });
        }
        let next = after_failure(current.as_ref(), now, &policy);
        let expected = current.as_ref().map(|t| t.failures);
        match app.store.put_login_throttle(email, &next, expected).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => current = app.store.login_throttle(email).await?,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::warn!(
        event = "login_throttle",
        "attempt refused: could not be counted under contention"
    );
    Err(Error::TooManyAttempts {
        retry_after_seconds: 1,
    })
}

/// A correct password resets the address's count.
pub(crate) async fn clear_attempts(app: &App, email: &str) -> Result<()> {
    Ok(app.store.clear_login_throttle(email).await?)
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
        count_attempt(app, &email, lookup.throttle),
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
    let mut user = match (verification, user) {
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
    if !user.is_active() {
        tracing::info!(event = "login", outcome = "inactive", user_id = %user.id, org_id = %user.org_id, "login refused: account inactive");
        return Err(Error::UserInactive);
    }
    if app.config.mail.require_verified_email && !user.validated {
        tracing::info!(event = "login", outcome = "unverified", user_id = %user.id, org_id = %user.org_id, "login refused: email not verified");
        return Err(Error::EmailNotVerified);
    }
    let (session, refresh_token) = new_session(
        app,
        &user,
        SessionOrigin {
            device_info: input.device_info,
            ip_address: input.ip_address,
        },
    )?;
    let (created, cleared, capped) = tokio::join!(
        app.store.create_session(&session),
        clear_attempts(app, &email),
        sessions::end_sessions_beyond_cap(app, &user, &session.id)
    );
    created?;
    cleared?;
    capped?;
    if verification == Verification::MatchNeedsRehash {
        rehash(app, &mut user, &input.password).await?;
    }
    tracing::info!(
        event = "login",
        outcome = "success",
        user_id = %user.id,
        org_id = %user.org_id,
        session_id = %session.id,
        "login succeeded"
    );
    signed_in(app, user, &session, refresh_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: LoginThrottleConfig = LoginThrottleConfig {
        max_failures: 5,
        window_seconds: 900,
        base_lock_seconds: 60,
        max_lock_seconds: 900,
    };

    #[test]
    fn the_fifth_failure_locks_and_further_ones_double_up_to_the_cap() {
        let mut t = None;
        for i in 1..=4 {
            let next = after_failure(t.as_ref(), 100 + i, &POLICY);
            assert_eq!(next.failures as i64, i);
            assert_eq!(next.locked_until, 0);
            t = Some(next);
        }
        let fifth = after_failure(t.as_ref(), 110, &POLICY);
        assert_eq!(fifth.locked_until, 170);
        let sixth = after_failure(Some(&fifth), 200, &POLICY);
        assert_eq!(sixth.locked_until, 320);
        let mut t = sixth;
        for _ in 0..10 {
            t = after_failure(Some(&t), 300, &POLICY);
        }
        assert_eq!(t.locked_until, 300 + 900, "capped at 15 minutes");
    }

    #[test]
    fn an_old_window_starts_over() {
        let old = LoginThrottle {
            failures: 4,
            last_failure_at: 0,
            locked_until: 0,
            expires_at: 900,
        };
        let next = after_failure(Some(&old), 901, &POLICY);
        assert_eq!(next.failures, 1);
        assert_eq!(next.last_failure_at, 901);
    }
}
