//! GET /health: whether this function can reach what it depends on.

use std::time::Duration;

use crate::App;
use crate::service::register::FREE_TRIAL_PLAN_ID;

/// A store slower than this is reported as failing.
pub const STORE_DEADLINE: Duration = Duration::from_secs(1);

/// The outcome of each check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    pub store_ok: bool,
}

impl Health {
    pub fn ok(self) -> bool {
        self.store_ok
    }
}

/// Reads one record by key (a plan's, whether or not it exists): the
/// cheapest request that proves the table answers.
pub async fn check(app: &App) -> Health {
    let read = tokio::time::timeout(STORE_DEADLINE, app.store.plan(FREE_TRIAL_PLAN_ID)).await;
    let store_ok = match read {
        Ok(Ok(_)) => true,
        Ok(Err(error)) => {
            tracing::warn!(event = "health", check = "store", %error, "health check failed: store error");
            false
        }
        Err(_) => {
            tracing::warn!(
                event = "health",
                check = "store",
                deadline_ms = STORE_DEADLINE.as_millis() as u64,
                "health check failed: store too slow"
            );
            false
        }
    };
    Health { store_ok }
}
