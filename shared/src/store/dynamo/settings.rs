//! Settings: `USER#<id>` / `SETTINGS` and `ORG#<id>` / `SETTINGS`, the object
//! as one JSON string (`values`: kept exactly as given, whatever DynamoDB's
//! own types would make of numbers and empty strings) and its `version`.

use super::*;
use crate::store::{Settings, SettingsOwner, SettingsStore};

const SK_SETTINGS: &str = "SETTINGS";

#[derive(serde::Serialize, serde::Deserialize)]
struct SettingsRecord {
    values: String,
    version: u64,
}

fn settings_key(owner: SettingsOwner<'_>) -> (String, &'static str) {
    match owner {
        SettingsOwner::User(id) => (format!("USER#{id}"), SK_SETTINGS),
        SettingsOwner::Organization(id) => (format!("ORG#{id}"), SK_SETTINGS),
    }
}

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn settings(&self, owner: SettingsOwner<'_>) -> StoreResult<Option<Settings>> {
        let Some(record) = self.get::<SettingsRecord>(settings_key(owner)).await? else {
            return Ok(None);
        };
        let values = serde_json::from_str(&record.values).map_err(|_| {
            StoreError::Internal("GetItem: stored settings are not an object".into())
        })?;
        Ok(Some(Settings {
            values,
            version: record.version,
        }))
    }

    async fn put_settings(&self, owner: SettingsOwner<'_>, settings: &Settings) -> StoreResult<()> {
        let previous = settings
            .version
            .checked_sub(1)
            .ok_or(StoreError::Conflict)?;
        let record = SettingsRecord {
            values: serde_json::Value::Object(settings.values.clone()).to_string(),
            version: settings.version,
        };
        let condition = if previous == 0 {
            Condition::new(NOT_EXISTS)
        } else {
            Condition::new("#v = :previous")
                .name("#v", "version")
                .value(":previous", n(previous))
        };
        self.put_once(item(&record, settings_key(owner), [])?, condition)
            .await
    }
}
