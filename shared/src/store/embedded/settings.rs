//! Settings: one row per owner (`user:<id>`, `org:<id>`), the object as JSON
//! and its version.

use super::*;
use crate::store::{Settings, SettingsOwner, SettingsStore};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS settings (
    owner TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
"#;

fn owner_key(owner: SettingsOwner<'_>) -> String {
    match owner {
        SettingsOwner::User(id) => format!("user:{id}"),
        SettingsOwner::Organization(id) => format!("org:{id}"),
    }
}

#[async_trait]
impl SettingsStore for EmbeddedStore {
    async fn settings(&self, owner: SettingsOwner<'_>) -> StoreResult<Option<Settings>> {
        let key = owner_key(owner);
        self.run(move |conn| {
            let row = conn
                .query_row(
                    "SELECT version, data FROM settings WHERE owner = ?1",
                    [key],
                    |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
                )
                .optional()
                .map_err(sqlite_error)?;
            row.map(|(version, data)| {
                Ok(Settings {
                    values: from_json(data)?,
                    version: version as u64,
                })
            })
            .transpose()
        })
        .await
    }

    async fn put_settings(&self, owner: SettingsOwner<'_>, settings: &Settings) -> StoreResult<()> {
        let key = owner_key(owner);
        let data = to_json(&settings.values)?;
        let version = settings.version as i64;
        self.run(move |conn| {
            let changed = if version == 1 {
                conn.execute(
                    "INSERT INTO settings (owner, version, data) VALUES (?1, 1, ?2)
                     ON CONFLICT (owner) DO NOTHING",
                    params![key, data],
                )
            } else {
                conn.execute(
                    "UPDATE settings SET version = ?2, data = ?3 WHERE owner = ?1 AND version = ?2 - 1",
                    params![key, version, data],
                )
            }
            .map_err(sqlite_error)?;
            one_row_changed(changed)
        })
        .await
    }
}
