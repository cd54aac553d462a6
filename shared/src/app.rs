//! Everything a request needs, built once per process (per cold start).

use std::sync::Arc;

use crate::auth::access::AccessTokens;
use crate::auth::password::PasswordHasher;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, ConfigError, Settings, StoreConfig};
use crate::store::dynamo::DynamoStore;
use crate::store::embedded::EmbeddedStore;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub access_tokens: AccessTokens,
    pub passwords: PasswordHasher,
    pub clock: SharedClock,
}

impl App {
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        clock: SharedClock,
    ) -> Result<App, StartupError> {
        let passwords = PasswordHasher::new(config.password_hash)
            .map_err(|e| StartupError::Other(e.to_string()))?;
        Ok(App {
            access_tokens: AccessTokens::new(&config.tokens),
            passwords,
            store,
            clock,
            config,
        })
    }

    /// Reads the environment and opens the configured store.
    pub async fn from_env() -> Result<App, StartupError> {
        let config = Config::load(&Settings::from_env())?;
        let store = open_store(&config.store).await?;
        App::new(config, store, Arc::new(SystemClock))
    }

    /// For a Lambda's `main`: the app, or one clear log line and exit status 1.
    pub async fn from_env_or_exit() -> App {
        match App::from_env().await {
            Ok(app) => app,
            Err(error) => {
                tracing::error!(%error, "refusing to start");
                std::process::exit(1);
            }
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

pub use crate::store::dynamo::{dynamodb_client, dynamodb_retries, dynamodb_timeouts};

pub async fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match config {
        StoreConfig::Dynamo { table } => {
            Arc::new(DynamoStore::connecting_on_first_use(table.clone()))
        }
        StoreConfig::Embedded { dir } => Arc::new(EmbeddedStore::open_dir(dir)?),
        StoreConfig::Memory => Arc::new(EmbeddedStore::in_memory()?),
    })
}
