//! Settings, read once from the environment at cold start.

use std::collections::HashMap;
use std::env;
use std::path::PathBuf;

/// Shortest signing secret accepted: 256 bits, as HS256 calls for.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not set")]
    Missing { name: &'static str },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// DynamoDB table; the endpoint comes from the standard AWS configuration
    /// (`AWS_ENDPOINT_URL_DYNAMODB` points it at a local server).
    Dynamo { table: String },
    /// SQLite file in this directory.
    Embedded { dir: PathBuf },
    /// SQLite in memory: nothing kept.
    Memory,
}

/// A secret that HS256 signs or verifies with, named by its `kid`.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub issuer: String,
    pub audience: String,
    /// Signs new tokens, and verifies.
    pub signing_key: SigningKey,
    /// Verify only: keys being rotated out.
    pub verification_keys: Vec<SigningKey>,
    pub access_ttl_seconds: i64,
    pub refresh_ttl_seconds: i64,
    pub session_max_seconds: i64,
    pub reuse_grace_seconds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordHashConfig {
    /// OWASP's argon2id recommendation: 19 MiB, two passes, one lane.
    pub const OWASP: PasswordHashConfig = PasswordHashConfig {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
}

#[derive(Debug, Clone, Copy)]
pub struct LoginThrottleConfig {
    pub max_failures: u32,
    pub window_seconds: i64,
    /// The first lock's length; each further failure doubles it.
    pub base_lock_seconds: i64,
    pub max_lock_seconds: i64,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub store: StoreConfig,
    pub tokens: TokenConfig,
    pub password_hash: PasswordHashConfig,
    pub login_throttle: LoginThrottleConfig,
    pub max_body_bytes: usize,
}

/// Reads settings from a key → value source; the environment in production,
/// a map in tests.
pub struct Settings<'a> {
    lookup: Lookup<'a>,
}

type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

impl<'a> Settings<'a> {
    pub fn from_env() -> Settings<'static> {
        Settings {
            lookup: Box::new(|k| env::var(k).ok().filter(|v| !v.is_empty())),
        }
    }

    pub fn from_map(map: &'a HashMap<String, String>) -> Settings<'a> {
        Settings {
            lookup: Box::new(move |k| map.get(k).cloned()),
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    fn seconds(&self, name: &'static str, default: i64) -> Result<i64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ConfigError::Invalid {
                    name,
                    reason: "expected a positive whole number of seconds".into(),
                }),
            },
        }
    }

    fn number(&self, name: &'static str, default: u32, min: u32) -> Result<u32, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(ConfigError::Invalid {
                    name,
                    reason: format!("expected a whole number of at least {min}"),
                }),
            },
        }
    }
}

fn parse_key(name: &'static str, kid: &str, secret: &str) -> Result<SigningKey, ConfigError> {
    let kid = kid.trim();
    if kid.is_empty() || kid.len() > 64 {
        return Err(ConfigError::Invalid {
            name,
            reason: "a key id must be 1 to 64 characters".into(),
        });
    }
    if secret.len() < MIN_SIGNING_KEY_BYTES {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("a signing key must be at least {MIN_SIGNING_KEY_BYTES} bytes"),
        });
    }
    Ok(SigningKey {
        kid: kid.to_string(),
        secret: secret.as_bytes().to_vec(),
    })
}

impl Config {
    /// Reads every setting. The store choice: `TABLE_NAME` → DynamoDB,
    /// otherwise `ACCOUNTS_DATA` → embedded in that directory, otherwise
    /// `ACCOUNTS_STORE=memory` → in memory; none of those is an error.
    pub fn load(settings: &Settings<'_>) -> Result<Config, ConfigError> {
        let store = if let Some(table) = settings.get("TABLE_NAME") {
            StoreConfig::Dynamo { table }
        } else if let Some(dir) = settings.get("ACCOUNTS_DATA") {
            StoreConfig::Embedded { dir: dir.into() }
        } else if settings.get("ACCOUNTS_STORE").as_deref() == Some("memory") {
            StoreConfig::Memory
        } else {
            return Err(ConfigError::Missing {
                name: "TABLE_NAME (DynamoDB) or ACCOUNTS_DATA (embedded store)",
            });
        };
        Self::load_with_store(settings, store)
    }

    pub fn load_with_store(
        settings: &Settings<'_>,
        store: StoreConfig,
    ) -> Result<Config, ConfigError> {
        let secret = settings
            .get("JWT_SIGNING_KEY")
            .ok_or(ConfigError::Missing {
                name: "JWT_SIGNING_KEY",
            })?;
        let kid = settings
            .get("JWT_KEY_ID")
            .unwrap_or_else(|| "primary".into());
        let signing_key = parse_key("JWT_SIGNING_KEY", &kid, &secret)?;
        let mut verification_keys = Vec::new();
        if let Some(list) = settings.get("JWT_VERIFICATION_KEYS") {
            for entry in list.split(',').filter(|e| !e.trim().is_empty()) {
                let (kid, secret) = entry.split_once(':').ok_or(ConfigError::Invalid {
                    name: "JWT_VERIFICATION_KEYS",
                    reason: "expected kid:secret pairs separated by commas".into(),
                })?;
                verification_keys.push(parse_key("JWT_VERIFICATION_KEYS", kid, secret.trim())?);
            }
        }
        let tokens = TokenConfig {
            issuer: settings
                .get("JWT_ISSUER")
                .unwrap_or_else(|| "flashback-accounts".into()),
            audience: settings
                .get("JWT_AUDIENCE")
                .unwrap_or_else(|| "flashback".into()),
            signing_key,
            verification_keys,
            access_ttl_seconds: settings.seconds("ACCESS_TOKEN_TTL_SECONDS", 3600)?,
            refresh_ttl_seconds: settings.seconds("REFRESH_TOKEN_TTL_SECONDS", 30 * 86_400)?,
            session_max_seconds: settings.seconds("SESSION_MAX_SECONDS", 90 * 86_400)?,
            reuse_grace_seconds: settings.seconds("REFRESH_REUSE_GRACE_SECONDS", 10)?,
        };
        let owasp = PasswordHashConfig::OWASP;
        // Only stronger than OWASP's floor can be configured.
        let password_hash = PasswordHashConfig {
            memory_kib: settings.number("ARGON2_MEMORY_KIB", owasp.memory_kib, owasp.memory_kib)?,
            iterations: settings.number("ARGON2_ITERATIONS", owasp.iterations, owasp.iterations)?,
            parallelism: settings.number("ARGON2_PARALLELISM", owasp.parallelism, 1)?,
        };
        let login_throttle = LoginThrottleConfig {
            max_failures: settings.number("LOGIN_MAX_FAILURES", 5, 1)?,
            window_seconds: settings.seconds("LOGIN_FAILURE_WINDOW_SECONDS", 900)?,
            base_lock_seconds: 60,
            max_lock_seconds: 900,
        };
        Ok(Config {
            store,
            tokens,
            password_hash,
            login_throttle,
            max_body_bytes: settings.number("MAX_BODY_BYTES", 16 * 1024, 1024)? as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_follow_the_contract() {
        let m = map(&[("TABLE_NAME", "accounts"), ("JWT_SIGNING_KEY", KEY)]);
        let c = Config::load(&Settings::from_map(&m)).unwrap();
        assert_eq!(
            c.store,
            StoreConfig::Dynamo {
                table: "accounts".into()
            }
        );
        assert_eq!(c.tokens.access_ttl_seconds, 3600);
        assert_eq!(c.tokens.refresh_ttl_seconds, 2_592_000);
        assert_eq!(c.tokens.session_max_seconds, 7_776_000);
        assert_eq!(c.tokens.reuse_grace_seconds, 10);
        assert_eq!(c.login_throttle.max_failures, 5);
        assert_eq!(c.login_throttle.window_seconds, 900);
        assert_eq!(c.password_hash, PasswordHashConfig::OWASP);
    }

    #[test]
    fn a_missing_or_short_key_is_refused() {
        let m = map(&[("TABLE_NAME", "t")]);
        let err = Config::load(&Settings::from_map(&m)).unwrap_err();
        assert!(err.to_string().contains("JWT_SIGNING_KEY is not set"));
        let m = map(&[("TABLE_NAME", "t"), ("JWT_SIGNING_KEY", "short")]);
        let err = Config::load(&Settings::from_map(&m)).unwrap_err();
        assert!(err.to_string().contains("at least 32 bytes"), "{err}");
        assert!(
            !err.to_string().contains("short"),
            "the key must not be echoed"
        );
    }

    #[test]
    fn weaker_argon2_parameters_are_refused() {
        let m = map(&[
            ("TABLE_NAME", "t"),
            ("JWT_SIGNING_KEY", KEY),
            ("ARGON2_MEMORY_KIB", "1024"),
        ]);
        assert!(Config::load(&Settings::from_map(&m)).is_err());
    }

    #[test]
    fn verification_keys_are_parsed() {
        let old = "fedcba9876543210fedcba9876543210";
        let list = format!("old:{old}");
        let m = map(&[
            ("TABLE_NAME", "t"),
            ("JWT_SIGNING_KEY", KEY),
            ("JWT_VERIFICATION_KEYS", &list),
        ]);
        let c = Config::load(&Settings::from_map(&m)).unwrap();
        assert_eq!(c.tokens.verification_keys.len(), 1);
        assert_eq!(c.tokens.verification_keys[0].kid, "old");
        assert!(!format!("{c:?}").contains(old), "Debug must redact secrets");
    }
}
