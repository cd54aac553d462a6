//! Where the signing keys live, and how a running process keeps them current.
//!
//! On AWS the private key set is a Secrets Manager secret that only the
//! signing functions may read, and the public set a second secret that the
//! verifying functions read; both are read once at cold start. Locally the
//! private set is a file in the data directory. A warm instance re-reads its
//! keys when they are older than the refresh interval, and a verifier that
//! meets an unknown `kid` re-reads at once (at most every
//! [`FORCED_REFRESH_SECONDS`]), so a rotation needs no redeploy.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;

use super::keys::{KeyError, KeySet, SigningAlgorithm};
use super::signing::SigningKey;

/// The private key set's file in a local data directory (mode 0600), as
/// `accounts-local` makes it and `accounts-admin key` rotates it.
pub const KEYS_FILE: &str = "jwt-keys.json";

/// An unknown `kid` triggers a re-read at most this often, so that tokens
/// with made-up key ids cannot turn into a stream of Secrets Manager calls.
pub const FORCED_REFRESH_SECONDS: u64 = 30;

/// What a process does with tokens, and so which keys it must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUse {
    pub sign: bool,
    pub verify: bool,
}

impl KeyUse {
    pub const NONE: KeyUse = KeyUse {
        sign: false,
        verify: false,
    };
    pub const SIGN: KeyUse = KeyUse {
        sign: true,
        verify: false,
    };
    pub const VERIFY: KeyUse = KeyUse {
        sign: false,
        verify: true,
    };
    pub const BOTH: KeyUse = KeyUse {
        sign: true,
        verify: true,
    };
}

/// Where the keys are read from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Given in memory (tests, `accounts-local --memory`).
    Fixed(KeySet),
    /// A private JWK set file (the local data directory, `cargo lambda watch`).
    File(PathBuf),
    /// AWS Secrets Manager: the private set (for signing) and the public
    /// set (for verifying), each by secret name or ARN.
    SecretsManager {
        private: Option<String>,
        public: Option<String>,
    },
}

impl KeySource {
    /// Whether a process that `need`s keys reads a secret from here (and so
    /// needs an AWS client at start).
    pub fn reads_secrets(&self, need: KeyUse) -> bool {
        match self {
            KeySource::SecretsManager { private, public } => {
                (need.sign && private.is_some()) || (need.verify && public.is_some())
            }
            KeySource::Fixed(_) | KeySource::File(_) => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// Names the secret or file, never its content.
    #[error("{source_name}: {reason}")]
    Unreadable { source_name: String, reason: String },
    #[error("{source_name}: {error}")]
    Invalid {
        source_name: String,
        error: KeyError,
    },
    #[error("{0}")]
    NotConfigured(&'static str),
}

/// The keys in force: what signs (if this process signs; parsed here, once
/// per load, not per token), what verifies, and the public set as
/// `/.well-known/jwks.json` publishes it.
pub struct LoadedKeys {
    pub signer: Option<SigningKey>,
    pub verifiers: HashMap<String, DecodingKey>,
    pub jwks: KeySet,
}

impl LoadedKeys {
    fn build(
        private: Option<(&str, KeySet)>,
        public: Option<(&str, KeySet)>,
        algorithm: SigningAlgorithm,
        need: KeyUse,
    ) -> Result<LoadedKeys, KeyRingError> {
        let invalid = |source_name: &str, error: KeyError| KeyRingError::Invalid {
            source_name: source_name.to_owned(),
            error,
        };
        let signer = match (&private, need.sign) {
            (Some((name, set)), true) => {
                let key = set
                    .active()
                    .filter(|k| k.alg == algorithm.name())
                    .ok_or_else(|| invalid(name, KeyError::NoSigningKey(algorithm.name())))?;
                Some(key.signing_key().map_err(|e| invalid(name, e))?)
            }
            (None, true) => {
                return Err(KeyRingError::NotConfigured(
                    "this function signs tokens but no private key set is configured \
                     (JWT_PRIVATE_KEYS_SECRET or JWT_KEYS_FILE)",
                ));
            }
            _ => None,
        };
        // The public set is the private set's public half where there is no
        // separate one (a key file, a fixed set).
        let (public_name, public_set) = match (public, &private) {
            (Some((name, set)), _) => (name.to_owned(), set),
            (None, Some((name, set))) => (name.to_string(), set.public()),
            (None, None) => (String::new(), KeySet::default()),
        };
        let mut verifiers = HashMap::new();
        if need.verify {
            // Pinned: keys of another algorithm stay published but verify nothing.
            for key in public_set.keys.iter().filter(|k| k.alg == algorithm.name()) {
                let decoding = key.decoding_key().map_err(|e| invalid(&public_name, e))?;
                verifiers.insert(key.kid.clone(), decoding);
            }
            if verifiers.is_empty() {
                return Err(if public_name.is_empty() {
                    KeyRingError::NotConfigured(
                        "this function verifies tokens but no public key set is configured \
                         (JWT_PUBLIC_KEYS_SECRET or JWT_KEYS_FILE)",
                    )
                } else {
                    invalid(&public_name, KeyError::NoVerificationKey(algorithm.name()))
                });
            }
        }
        Ok(LoadedKeys {
            signer,
            verifiers,
            jwks: public_set.public(),
        })
    }
}

/// Secrets Manager, as the key ring and the operator's tool use it.
#[derive(Clone, Debug)]
pub struct SecretsManagerKeys {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerKeys {
    /// From the standard AWS configuration (`AWS_ENDPOINT_URL_SECRETS_MANAGER`
    /// points it at a local server). Building it makes no network call.
    pub async fn from_env() -> SecretsManagerKeys {
        Self::from_config(&crate::aws::sdk_config().await)
    }

    /// From an AWS configuration the process already loaded.
    pub fn from_config(config: &aws_config::SdkConfig) -> SecretsManagerKeys {
        Self::new(aws_sdk_secretsmanager::Client::new(config))
    }

    pub fn new(client: aws_sdk_secretsmanager::Client) -> SecretsManagerKeys {
        SecretsManagerKeys { client }
    }

    fn describe(secret: &str) -> String {
        format!("Secrets Manager secret {secret:?}")
    }

    /// The key set in `secret`; `Ok(None)` when the secret does not exist.
    pub async fn read(&self, secret: &str) -> Result<Option<KeySet>, KeyRingError> {
        // Boxed: one more future nested inline here put the tests' futures
        // (which serve a refresh of the keys) past rustc's layout depth.
        let Some(text) = Box::pin(self.read_text(secret)).await? else {
            return Ok(None);
        };
        KeySet::parse(&text)
            .map(Some)
            .map_err(|error| KeyRingError::Invalid {
                source_name: Self::describe(secret),
                error,
            })
    }

    /// The `SecretString` of `secret`; `Ok(None)` when the secret does not
    /// exist (the MFA data key is read this way too).
    pub async fn read_text(&self, secret: &str) -> Result<Option<String>, KeyRingError> {
        let unreadable = |reason: String| KeyRingError::Unreadable {
            source_name: Self::describe(secret),
            reason,
        };
        let output = match self
            .client
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
                {
                    return Ok(None);
                }
                return Err(unreadable(sdk_reason(&error)));
            }
        };
        output
            .secret_string()
            .map(|text| Some(text.to_owned()))
            .ok_or_else(|| unreadable("holds no SecretString".into()))
    }

    /// Stores `set` as the secret's new value, creating the secret if needed.
    pub async fn write(&self, secret: &str, set: &KeySet) -> Result<(), KeyRingError> {
        let unreadable = |reason: String| KeyRingError::Unreadable {
            source_name: Self::describe(secret),
            reason,
        };
        let value = set.to_json();
        let put = self
            .client
            .put_secret_value()
            .secret_id(secret)
            .secret_string(&value)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                self.client
                    .create_secret()
                    .name(secret)
                    .description("Flashback accounts: JWT key set (JWK set)")
                    .secret_string(value)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| unreadable(sdk_reason(&e)))
            }
            Err(error) => Err(unreadable(sdk_reason(&error))),
        }
    }

    async fn read_required(&self, secret: &str) -> Result<KeySet, KeyRingError> {
        self.read(secret)
            .await?
            .ok_or_else(|| KeyRingError::Unreadable {
                source_name: Self::describe(secret),
                reason: "no such secret (create it with `accounts-admin key rotate`)".into(),
            })
    }
}

/// The service's error code, or the kind of failure: never a message that
/// could quote a value.
fn sdk_reason<E, R>(error: &aws_sdk_secretsmanager::error::SdkError<E, R>) -> String
where
    E: aws_sdk_secretsmanager::error::ProvideErrorMetadata,
{
    use aws_sdk_secretsmanager::error::SdkError;
    match error {
        SdkError::ServiceError(e) => e.err().code().unwrap_or("service error").to_owned(),
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(_) => "could not reach Secrets Manager".into(),
        _ => "request failed".into(),
    }
}

/// Reads a key file; the file's own path names it in errors.
pub fn read_key_file(path: &std::path::Path) -> Result<KeySet, KeyRingError> {
    let source_name = format!("key file {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| KeyRingError::Unreadable {
        source_name: source_name.clone(),
        reason: e.kind().to_string(),
    })?;
    KeySet::parse(&text).map_err(|error| KeyRingError::Invalid { source_name, error })
}

enum Loader {
    Fixed(KeySet),
    File(PathBuf),
    SecretsManager {
        keys: SecretsManagerKeys,
        private: Option<String>,
        public: Option<String>,
    },
}

struct Freshness {
    loaded: Instant,
    forced: Option<Instant>,
}

/// The keys a process holds, re-read when stale.
pub struct KeyRing {
    loader: Loader,
    algorithm: SigningAlgorithm,
    need: KeyUse,
    refresh_every: Duration,
    current: RwLock<Arc<LoadedKeys>>,
    freshness: Mutex<Freshness>,
    reloading: tokio::sync::Mutex<()>,
}

impl KeyRing {
    /// Reads the keys `need` calls for; an error names what could not be
    /// read or used, never a key.
    pub async fn open(
        source: &KeySource,
        algorithm: SigningAlgorithm,
        need: KeyUse,
        refresh_every: Duration,
    ) -> Result<KeyRing, KeyRingError> {
        match source {
            KeySource::SecretsManager { .. } if !source.reads_secrets(need) => {
                // Nothing to read, so no client: a function that neither
                // signs nor verifies (a missing setting is refused here).
                let keys = LoadedKeys::build(None, None, algorithm, need)?;
                let nothing = Loader::Fixed(KeySet::default());
                Ok(Self::holding(nothing, algorithm, need, Duration::MAX, keys))
            }
            KeySource::SecretsManager { private, public } => {
                let keys = SecretsManagerKeys::from_env().await;
                let (private, public) = (private.clone(), public.clone());
                Self::from_secrets_manager(keys, private, public, algorithm, need, refresh_every)
                    .await
            }
            KeySource::Fixed(_) | KeySource::File(_) => {
                Self::local(source, algorithm, need, refresh_every)
            }
        }
    }

    /// As [`KeyRing::open`], with a client the caller built (tests point it
    /// at a local server).
    pub async fn from_secrets_manager(
        keys: SecretsManagerKeys,
        private: Option<String>,
        public: Option<String>,
        algorithm: SigningAlgorithm,
        need: KeyUse,
        refresh_every: Duration,
    ) -> Result<KeyRing, KeyRingError> {
        let loader = Loader::SecretsManager {
            keys,
            private,
            public,
        };
        let loaded = load(&loader, algorithm, need).await?;
        Ok(Self::holding(
            loader,
            algorithm,
            need,
            refresh_every,
            loaded,
        ))
    }

    /// A ring over a set held in memory: it never changes.
    pub fn fixed(
        set: KeySet,
        algorithm: SigningAlgorithm,
        need: KeyUse,
    ) -> Result<KeyRing, KeyRingError> {
        Self::local(&KeySource::Fixed(set), algorithm, need, Duration::MAX)
    }

    /// A ring over keys held in memory or in a key file, read without the
    /// network (the local server, the operator's tool, the tests).
    pub fn local(
        source: &KeySource,
        algorithm: SigningAlgorithm,
        need: KeyUse,
        refresh_every: Duration,
    ) -> Result<KeyRing, KeyRingError> {
        let loader = match source {
            KeySource::Fixed(set) => Loader::Fixed(set.clone()),
            KeySource::File(path) => Loader::File(path.clone()),
            KeySource::SecretsManager { .. } => {
                return Err(KeyRingError::NotConfigured(
                    "no key file or key set given (JWT_KEYS_FILE)",
                ));
            }
        };
        let keys = load_local(&loader, algorithm, need)?;
        Ok(Self::holding(loader, algorithm, need, refresh_every, keys))
    }

    fn holding(
        loader: Loader,
        algorithm: SigningAlgorithm,
        need: KeyUse,
        refresh_every: Duration,
        keys: LoadedKeys,
    ) -> KeyRing {
        KeyRing {
            loader,
            algorithm,
            need,
            refresh_every,
            current: RwLock::new(Arc::new(keys)),
            freshness: Mutex::new(Freshness {
                loaded: Instant::now(),
                forced: None,
            }),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    pub fn current(&self) -> Arc<LoadedKeys> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Re-reads the keys if they are older than the refresh interval. A
    /// failed read keeps the keys in force (and says so in the log).
    pub async fn refresh_if_stale(&self) {
        if matches!(self.loader, Loader::Fixed(_)) {
            return;
        }
        let stale = {
            let f = self.freshness.lock().unwrap_or_else(|p| p.into_inner());
            f.loaded.elapsed() >= self.refresh_every
        };
        if stale {
            self.reload().await;
        }
    }

    /// For a token signed with a key this process does not know: re-reads at
    /// once unless it did so in the last [`FORCED_REFRESH_SECONDS`]. Returns
    /// whether it re-read.
    pub async fn refresh_for_unknown_kid(&self) -> bool {
        if matches!(self.loader, Loader::Fixed(_)) {
            return false;
        }
        {
            let mut f = self.freshness.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if f.forced
                .is_some_and(|at| now.duration_since(at).as_secs() < FORCED_REFRESH_SECONDS)
            {
                return false;
            }
            f.forced = Some(now);
        }
        self.reload().await;
        true
    }

    async fn reload(&self) {
        // One reader at a time; the others use the keys in force meanwhile.
        let Ok(_guard) = self.reloading.try_lock() else {
            return;
        };
        match load(&self.loader, self.algorithm, self.need).await {
            Ok(keys) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
                tracing::info!(event = "keys_reloaded", "signing keys re-read");
            }
            Err(error) => {
                tracing::warn!(event = "keys_reload_failed", %error, "keeping the keys in force");
            }
        }
        self.freshness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .loaded = Instant::now();
    }
}

/// The keys of a loader that needs no network (memory, a file).
fn load_local(
    loader: &Loader,
    algorithm: SigningAlgorithm,
    need: KeyUse,
) -> Result<LoadedKeys, KeyRingError> {
    match loader {
        Loader::Fixed(set) => {
            LoadedKeys::build(Some(("fixed key set", set.clone())), None, algorithm, need)
        }
        Loader::File(path) => {
            let set = read_key_file(path)?;
            let name = format!("key file {}", path.display());
            LoadedKeys::build(Some((&name, set)), None, algorithm, need)
        }
        Loader::SecretsManager { .. } => Err(KeyRingError::NotConfigured(
            "Secrets Manager keys are read at start-up with KeyRing::open",
        )),
    }
}

async fn load(
    loader: &Loader,
    algorithm: SigningAlgorithm,
    need: KeyUse,
) -> Result<LoadedKeys, KeyRingError> {
    match loader {
        Loader::Fixed(_) | Loader::File(_) => load_local(loader, algorithm, need),
        Loader::SecretsManager {
            keys,
            private,
            public,
        } => {
            let private_name = private.as_deref().map(SecretsManagerKeys::describe);
            let public_name = public.as_deref().map(SecretsManagerKeys::describe);
            let private_set = match (private, need.sign) {
                (Some(secret), true) => Some(keys.read_required(secret).await?),
                _ => None,
            };
            let public_set = match (public, need.verify) {
                (Some(secret), true) => Some(keys.read_required(secret).await?),
                _ => None,
            };
            LoadedKeys::build(
                private_name.as_deref().zip(private_set),
                public_name.as_deref().zip(public_set),
                algorithm,
                need,
            )
        }
    }
}

/// Writes a private key set to `path`, readable by its owner only, replacing
/// any older file in one step (a reader sees the old set or the new one).
pub fn write_key_file(path: &std::path::Path, set: &KeySet) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let staging = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&staging)?;
    file.write_all(set.to_json().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&staging, path)
}

/// The key file at `path`, made with one new `algorithm` key if there is
/// none yet. Two processes starting at once agree on one file.
pub fn ensure_key_file(
    path: &std::path::Path,
    algorithm: SigningAlgorithm,
    now: i64,
) -> Result<(), KeyRingError> {
    let unwritable = |e: std::io::Error| KeyRingError::Unreadable {
        source_name: format!("key file {}", path.display()),
        reason: e.to_string(),
    };
    if path.exists() {
        return Ok(());
    }
    let mut set = KeySet::default();
    set.rotate(algorithm, now)
        .map_err(|error| KeyRingError::Invalid {
            source_name: format!("key file {}", path.display()),
            error,
        })?;
    write_new_private_file(path, set.to_json().as_bytes()).map_err(unwritable)
}

/// Writes `contents` to a new owner-only file at `path` (its directory made
/// owner-only too); a file already there is kept: of two processes making
/// it, the second keeps the first's.
pub(crate) fn write_new_private_file(
    path: &std::path::Path,
    contents: &[u8],
) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(contents).and_then(|()| file.sync_all())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A directory only its owner may enter: it holds private keys.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
