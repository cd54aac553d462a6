//! Settings kept per user and per organization: one JSON object each,
//! replaced whole under a version, so that concurrent merges never lose a
//! key (each is a read, a merge and a write conditional on the version read).

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::StoreResult;

/// At most this many top-level keys in one settings object.
pub const MAX_SETTINGS_KEYS: usize = 100;
/// At most this many bytes, serialized.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// Whose settings: they live in the owner's own partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsOwner<'a> {
    User(&'a str),
    Organization(&'a str),
}

/// A settings object and the version it was written at (1 for the first).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    pub values: Map<String, Value>,
    pub version: u64,
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The owner's settings; None when none were ever written.
    async fn settings(&self, owner: SettingsOwner<'_>) -> StoreResult<Option<Settings>>;

    /// Writes `settings` only if the stored version is `settings.version - 1`
    /// (version 1: only if nothing is stored yet). `Conflict` otherwise.
    async fn put_settings(&self, owner: SettingsOwner<'_>, settings: &Settings) -> StoreResult<()>;
}
