//! Everything a request needs, built once per process (per cold start).

use std::sync::Arc;

use crate::auth::access::AccessTokens;
use crate::auth::key_ring::{KeyRing, KeyRingError, KeySource, KeyUse, SecretsManagerKeys};
use crate::auth::mfa_key::MfaKey;
use crate::auth::password::PasswordHasher;
use crate::auth::providers::{Providers, resolve_client_secrets};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, ConfigError, MfaKeySource, Settings, StoreConfig};
use crate::store::dynamo::DynamoStore;
#[cfg(feature = "embedded")]
use crate::store::embedded::EmbeddedStore;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("signing keys: {0}")]
    Keys(#[from] KeyRingError),
    #[error("MFA key: {0}")]
    MfaKey(String),
    #[error("{0}")]
    Other(String),
}

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub access_tokens: AccessTokens,
    pub passwords: PasswordHasher,
    pub clock: SharedClock,
    /// Google, Microsoft and GitHub sign-in, when configured.
    pub providers: Providers,
    /// The MFA data key: only where a function checks or sets codes
    /// (`service::mfa::NEEDS_MFA_KEY`) and the local server, tests.
    pub mfa_key: Option<Arc<MfaKey>>,
}

impl App {
    /// An app that signs and verifies with keys held in memory or in a key
    /// file (the local server, the tests). Secrets Manager keys are read
    /// over the network: [`App::from_env`].
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        clock: SharedClock,
    ) -> Result<App, StartupError> {
        let refresh = std::time::Duration::from_secs(config.tokens.key_refresh_seconds);
        let keys = KeyRing::local(
            &config.tokens.keys,
            config.tokens.algorithm,
            KeyUse::BOTH,
            refresh,
        )?;
        App::with_keys(config, store, clock, keys)
    }

    pub fn with_keys(
        config: Config,
        store: Arc<dyn Store>,
        clock: SharedClock,
        keys: KeyRing,
    ) -> Result<App, StartupError> {
        let passwords = PasswordHasher::new(config.password_hash)
            .map_err(|e| StartupError::Other(e.to_string()))?;
        let mfa_key = match &config.mfa_key {
            MfaKeySource::Inline(text) => Some(MfaKey::from_base64(text).map(Arc::new)),
            MfaKeySource::File(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))
                    .and_then(|text| MfaKey::from_base64(&text).map(Arc::new)),
            ),
            // Read over the network, only by the functions that need it.
            MfaKeySource::SecretsManager(_) | MfaKeySource::None => None,
        }
        .transpose()
        .map_err(StartupError::MfaKey)?;
        Ok(App {
            mfa_key,
            access_tokens: AccessTokens::new(&config.tokens, keys),
            providers: Providers::new(&config.providers),
            passwords,
            store,
            clock,
            config,
        })
    }

    /// Reads the environment, opens the configured store and reads the keys
    /// that `keys` calls for (a signing function reads the private key set,
    /// a verifying one only the public set).
    pub async fn from_env(keys: KeyUse) -> Result<App, StartupError> {
        let mut config = Config::load(&Settings::from_env())?;
        resolve_client_secrets(&mut config.providers)
            .await
            .map_err(StartupError::Other)?;
        let refresh = std::time::Duration::from_secs(config.tokens.key_refresh_seconds);
        let (algorithm, source) = (config.tokens.algorithm, &config.tokens.keys);
        let (store, ring) = match source {
            // The AWS configuration is loaded at start for the key secret
            // anyway: DynamoDB's client is built from the same one rather
            // than loading it again on the first request.
            KeySource::SecretsManager { private, public } if source.reads_secrets(keys) => {
                let aws = crate::aws::sdk_config().await;
                let store: Arc<dyn Store> = match &config.store {
                    StoreConfig::Dynamo { table } => Arc::new(DynamoStore::new(
                        aws_sdk_dynamodb::Client::new(&aws),
                        table.clone(),
                    )),
                    other => open_store(other).await?,
                };
                let secrets = SecretsManagerKeys::from_config(&aws);
                let (private, public) = (private.clone(), public.clone());
                let ring = KeyRing::from_secrets_manager(
                    secrets, private, public, algorithm, keys, refresh,
                )
                .await?;
                (store, ring)
            }
            _ => (
                open_store(&config.store).await?,
                KeyRing::open(source, algorithm, keys, refresh).await?,
            ),
        };
        App::with_keys(config, store, Arc::new(SystemClock), ring)
    }

    /// Reads the MFA data key from Secrets Manager where that is where it
    /// is kept; a missing or unusable key is an error (the function does
    /// not start).
    pub async fn load_mfa_key(&mut self) -> Result<(), StartupError> {
        if let MfaKeySource::SecretsManager(name) = &self.config.mfa_key {
            let secrets = SecretsManagerKeys::from_env().await;
            let text = secrets
                .read_text(name)
                .await
                .map_err(|e| StartupError::MfaKey(e.to_string()))?
                .ok_or_else(|| StartupError::MfaKey(format!("secret {name:?} does not exist")))?;
            self.mfa_key =
                Some(Arc::new(MfaKey::from_base64(&text).map_err(|e| {
                    StartupError::MfaKey(format!("secret {name:?}: {e}"))
                })?));
        }
        if self.mfa_key.is_none() {
            return Err(StartupError::MfaKey(
                "not configured: set MFA_KEY_SECRET_NAME (or MFA_KEY / MFA_KEY_FILE locally)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// For a Lambda's `main`: the app, or one clear log line and exit status 1.
    pub async fn from_env_or_exit(keys: KeyUse, mfa_key: bool) -> App {
        let built = match App::from_env(keys).await {
            Ok(mut app) if mfa_key => app.load_mfa_key().await.map(|()| app),
            other => other,
        };
        match built {
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

    /// The MFA data key, where this process holds it.
    pub fn mfa_key(&self) -> crate::error::Result<&MfaKey> {
        self.mfa_key
            .as_deref()
            .ok_or_else(|| crate::error::Error::Internal("this process holds no MFA key".into()))
    }
}

pub async fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match config {
        StoreConfig::Dynamo { table } => Arc::new(DynamoStore::new(
            crate::aws::dynamodb_client().await,
            table.clone(),
        )),
        #[cfg(feature = "embedded")]
        StoreConfig::Embedded { dir } => Arc::new(EmbeddedStore::open_dir(dir)?),
        #[cfg(feature = "embedded")]
        StoreConfig::Memory => Arc::new(EmbeddedStore::in_memory()?),
        #[cfg(not(feature = "embedded"))]
        StoreConfig::Embedded { .. } | StoreConfig::Memory => {
            return Err(StoreError::Internal(
                "this build has no embedded store (the accounts crate's `embedded` feature): \
                 set TABLE_NAME"
                    .into(),
            ));
        }
    })
}
