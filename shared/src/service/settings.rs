//! Settings of the caller and of its organization: replaced, merged (the
//! given top-level keys), or some keys deleted. Every write is a read, the
//! change, and a write conditional on the version read, again after losing
//! to a concurrent writer: two merges at once both land, neither loses a key.

use serde_json::{Map, Value};

use super::caller::{self, Caller};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};
use crate::role::Role;
use crate::store::{MAX_SETTINGS_BYTES, MAX_SETTINGS_KEYS, Settings, SettingsOwner, StoreError};

/// Enough for dozens of writers on one object; each retry waits a little
/// longer (with jitter), so that they spread out instead of colliding again.
const WRITE_ATTEMPTS: u32 = 12;

/// Whose settings a request means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The caller's own.
    User,
    /// The caller's organization's: read by any member, written by
    /// ADMINISTRATORS or higher.
    Organization,
}

/// What a write does to the stored object.
#[derive(Debug, Clone)]
pub enum Change {
    Replace(Map<String, Value>),
    Merge(Map<String, Value>),
    DeleteKeys(Vec<String>),
}

/// The token names whose settings they are: they are read alongside the
/// caller (one round trip for both), and the caller's checks (its account,
/// its session, that it is still in the token's organization) decide.
fn owner(claims: &AccessClaims, scope: Scope) -> SettingsOwner<'_> {
    match scope {
        Scope::User => SettingsOwner::User(&claims.sub),
        Scope::Organization => SettingsOwner::Organization(&claims.org_id),
    }
}

/// The caller, checked, and the settings as they are now.
async fn caller_and_settings(
    app: &App,
    claims: AccessClaims,
    scope: Scope,
) -> Result<(Caller, Settings)> {
    let (records, stored) = tokio::join!(
        app.store.user_and_session(&claims.sub, &claims.sid),
        app.store.settings(owner(&claims, scope))
    );
    let caller = caller::caller_from(app, claims, records?)?;
    Ok((caller, stored?.unwrap_or_default()))
}

/// The object's limits: at most `MAX_SETTINGS_KEYS` keys (400) and
/// `MAX_SETTINGS_BYTES` serialized (413).
pub fn check_limits(values: &Map<String, Value>) -> Result<()> {
    if values.len() > MAX_SETTINGS_KEYS {
        return Err(Error::validation(format!(
            "settings may have at most {MAX_SETTINGS_KEYS} top-level keys"
        )));
    }
    let size = serde_json::to_vec(values).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_SETTINGS_BYTES {
        return Err(Error::PayloadTooLarge);
    }
    Ok(())
}

/// GET: the stored object, `{}` when none was written.
pub async fn get(app: &App, claims: AccessClaims, scope: Scope) -> Result<Map<String, Value>> {
    Ok(caller_and_settings(app, claims, scope).await?.1.values)
}

fn applied(current: &Map<String, Value>, change: &Change) -> Map<String, Value> {
    match change {
        Change::Replace(values) => values.clone(),
        Change::Merge(values) => {
            let mut merged = current.clone();
            merged.extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
            merged
        }
        Change::DeleteKeys(keys) => {
            let mut kept = current.clone();
            for key in keys {
                kept.remove(key);
            }
            kept
        }
    }
}

/// POST (replace), PUT (merge), DELETE (keys): the change, written over the
/// version it was made on.
pub async fn write(app: &App, claims: AccessClaims, scope: Scope, change: Change) -> Result<()> {
    match &change {
        Change::Replace(values) | Change::Merge(values) => check_limits(values)?,
        Change::DeleteKeys(keys) if keys.len() > MAX_SETTINGS_KEYS => {
            return Err(Error::validation(format!(
                "keys may name at most {MAX_SETTINGS_KEYS} keys"
            )));
        }
        Change::DeleteKeys(_) => {}
    }
    let (caller, mut current) = caller_and_settings(app, claims, scope).await?;
    if scope == Scope::Organization && caller.user.org_role < Role::Administrators {
        return Err(Error::InsufficientPermissions);
    }
    let owner = owner(&caller.claims, scope);
    for attempt in 1..=WRITE_ATTEMPTS {
        let values = applied(&current.values, &change);
        check_limits(&values)?;
        let next = Settings {
            values,
            version: current.version + 1,
        };
        match app.store.put_settings(owner, &next).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) if attempt < WRITE_ATTEMPTS => {
                tokio::time::sleep(backoff(attempt)).await;
                current = app.store.settings(owner).await?.unwrap_or_default();
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}

/// Full jitter up to 2 ms × 2^attempt (at most ~1 s).
fn backoff(attempt: u32) -> std::time::Duration {
    let ceiling = 2u64 << attempt.min(9);
    let jitter = (uuid::Uuid::new_v4().as_u128() % u128::from(ceiling)) as u64;
    std::time::Duration::from_millis(jitter + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn changes_apply_to_the_top_level_keys() {
        let current = map(json!({"a": 1, "b": {"x": 1}}));
        let merge = Change::Merge(map(json!({"b": {"y": 2}, "c": 3})));
        assert_eq!(
            applied(&current, &merge),
            map(json!({"a": 1, "b": {"y": 2}, "c": 3}))
        );
        let delete = Change::DeleteKeys(vec!["a".into(), "nope".into()]);
        assert_eq!(applied(&current, &delete), map(json!({"b": {"x": 1}})));
        let replace = Change::Replace(map(json!({"z": null})));
        assert_eq!(applied(&current, &replace), map(json!({"z": null})));
    }

    #[test]
    fn limits_count_keys_and_bytes() {
        let keys: Map<String, Value> = (0..=MAX_SETTINGS_KEYS)
            .map(|i| (format!("k{i}"), json!(1)))
            .collect();
        assert!(matches!(check_limits(&keys), Err(Error::Validation(_))));
        let big = map(json!({"a": "x".repeat(MAX_SETTINGS_BYTES)}));
        assert!(matches!(check_limits(&big), Err(Error::PayloadTooLarge)));
        assert!(check_limits(&map(json!({"a": "x".repeat(MAX_SETTINGS_BYTES - 20)}))).is_ok());
    }
}
