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

/// How long one DynamoDB call may take. A Lambda here runs for at most 10 s,
/// and a store that is out of reach must cost the caller a 503 well before
/// that, not a gateway timeout:
///
/// - connect: 1 s. In-region (or loopback) a connection takes milliseconds;
///   a connect that hangs means a black hole, not a busy server.
/// - one attempt: 2 s. DynamoDB answers in milliseconds (a transaction in
///   tens of them); an attempt this slow is stuck, and another attempt on a
///   fresh connection has a better chance than waiting longer.
/// - the whole call, retries and backoff included: 4 s. The first call that
///   fails ends the request, so a request fails within about 4 s plus its
///   own work, under half the Lambda timeout.
pub fn dynamodb_timeouts() -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(4))
        .build()
}

/// How DynamoDB calls are retried: the SDK's standard strategy (throttling,
/// 5xx, timeouts and broken connections; never a failed condition), 3
/// attempts in all, with exponential backoff and full jitter starting at
/// 200 ms (waits of up to 0.2 s, then up to 0.4 s). A throttled partition
/// gets two spread-out second chances before the caller sees a 503; a
/// refused connection fails in well under a second. The whole-call timeout
/// above bounds it all. Broken connections are not reused.
pub fn dynamodb_retries() -> aws_config::retry::RetryConfig {
    use std::time::Duration;
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(1))
}

/// The DynamoDB client, from the standard AWS configuration chain, with the
/// timeouts and retries above. Building it makes no network call.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(dynamodb_timeouts())
        .retry_config(dynamodb_retries())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&shared)
}

pub async fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match config {
        StoreConfig::Dynamo { table } => {
            Arc::new(DynamoStore::new(dynamodb_client().await, table.clone()))
        }
        StoreConfig::Embedded { dir } => Arc::new(EmbeddedStore::open_dir(dir)?),
        StoreConfig::Memory => Arc::new(EmbeddedStore::in_memory()?),
    })
}
