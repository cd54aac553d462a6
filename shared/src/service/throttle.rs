//! Attempt counting, one mechanism for every guessable secret: a login's
//! password, the current password of a password change, MFA codes, and
//! what a reset clears. An attempt is counted in the store before it is checked, with a
//! compare-and-set, so that racing attempts are counted too.

use crate::App;
use crate::config::LoginThrottleConfig;
use crate::error::{Error, Result};
use crate::model::LoginThrottle;
use crate::store::StoreError;

/// Concurrent attempts on one address retry their count this often. Each
/// round has a winner, and the address locks after `max_failures` wins, so
/// a loser meets the lock long before this.
const THROTTLE_WRITE_ATTEMPTS: usize = 16;
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
///
/// `key` names the count (an address for passwords; `mfa:<userId>` for a
/// user's MFA codes), `policy` its limits (`app.config.login_throttle` for
/// passwords).
pub(crate) async fn count_attempt(
    app: &App,
    key: &str,
    mut current: Option<LoginThrottle>,
    policy: &LoginThrottleConfig,
) -> Result<()> {
    let (email, policy) = (key, *policy);
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
