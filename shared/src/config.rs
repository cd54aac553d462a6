//! Settings, read once from the environment at cold start.

use std::collections::HashMap;
use std::env;
use std::path::PathBuf;

use crate::auth::key_ring::KeySource;
use crate::auth::keys::SigningAlgorithm;

mod providers;
pub use providers::{
    ClientSecret, GithubConfig, ProviderConfig, ProviderKind, ProvidersConfig, SecretValue,
};

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

/// The `iss` of access tokens: the URL other services fetch
/// `/.well-known/openid-configuration` from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issuer {
    /// `JWT_ISSUER`: the deployment's URL (a custom domain, say).
    Fixed(String),
    /// Unset: the API's own URL, `https://` and the domain API Gateway says
    /// the request came to. (SAM cannot give a function its own API's URL:
    /// the API already depends on the function.)
    FromRequest,
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub issuer: Issuer,
    pub audience: String,
    /// What new tokens are signed with, and the only algorithm accepted.
    pub algorithm: SigningAlgorithm,
    pub keys: KeySource,
    /// How stale a warm process's keys may get before it re-reads them.
    pub key_refresh_seconds: u64,
    pub access_ttl_seconds: i64,
    pub refresh_ttl_seconds: i64,
    pub session_max_seconds: i64,
    pub reuse_grace_seconds: i64,
}

/// Where the MFA data key (TOTP secrets' AES-256-GCM key) comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum MfaKeySource {
    /// None configured: a function that checks codes refuses to start.
    None,
    /// `MFA_KEY`: base64 of 32 bytes, in the environment (local runs, tests).
    Inline(String),
    /// `MFA_KEY_FILE`: a file holding that (the local server makes one).
    File(std::path::PathBuf),
    /// `MFA_KEY_SECRET_NAME`: a Secrets Manager secret holding that.
    SecretsManager(String),
}

impl std::fmt::Debug for MfaKeySource {
    /// Never the key itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MfaKeySource::None => f.write_str("None"),
            MfaKeySource::Inline(_) => f.write_str("Inline(..)"),
            MfaKeySource::File(path) => write!(f, "File({})", path.display()),
            MfaKeySource::SecretsManager(name) => write!(f, "SecretsManager({name:?})"),
        }
    }
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

/// Mail settings: where links point, who sends, and whether sign-in waits
/// for a verified address.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `APP_URL`: the web app that mail links open, without a trailing slash.
    pub app_url: String,
    /// `MAIL_FROM`: the sender address (SES-verified on AWS).
    pub from: String,
    /// `REQUIRE_VERIFIED_EMAIL`: login refuses unverified accounts.
    pub require_verified_email: bool,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub store: StoreConfig,
    pub tokens: TokenConfig,
    pub password_hash: PasswordHashConfig,
    pub login_throttle: LoginThrottleConfig,
    pub max_body_bytes: usize,
    pub mail: MailConfig,
    pub providers: ProvidersConfig,
    pub mfa_key: MfaKeySource,
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

/// `http://localhost` or `http://127.0.0.1`, with or without a port or a
/// path: the only places a mail link may open without TLS (a token in
/// clear over the network is someone else's to spend).
pub(crate) fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(host, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            host
        } else {
            ""
        }
    });
    matches!(host, "localhost" | "127.0.0.1")
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
        if settings.get("JWT_SIGNING_KEY").is_some() {
            return Err(ConfigError::Invalid {
                name: "JWT_SIGNING_KEY",
                reason: "shared-secret (HS256) signing is gone; configure JWT_KEYS_FILE or \
                         JWT_PRIVATE_KEYS_SECRET / JWT_PUBLIC_KEYS_SECRET (README, Keys)"
                    .into(),
            });
        }
        let algorithm = match settings.get("JWT_ALGORITHM") {
            None => SigningAlgorithm::default(),
            Some(name) => SigningAlgorithm::parse(name.trim()).ok_or(ConfigError::Invalid {
                name: "JWT_ALGORITHM",
                reason: "expected RS256 or ES256".into(),
            })?,
        };
        let keys = match settings.get("JWT_KEYS_FILE") {
            Some(path) => KeySource::File(path.into()),
            None => KeySource::SecretsManager {
                private: settings.get("JWT_PRIVATE_KEYS_SECRET"),
                public: settings.get("JWT_PUBLIC_KEYS_SECRET"),
            },
        };
        let issuer = match settings.get("JWT_ISSUER") {
            None => Issuer::FromRequest,
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                Issuer::Fixed(url.trim_end_matches('/').to_owned())
            }
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "JWT_ISSUER",
                    reason: "expected the issuer's URL (https://…)".into(),
                });
            }
        };
        let tokens = TokenConfig {
            issuer,
            audience: settings
                .get("JWT_AUDIENCE")
                .unwrap_or_else(|| "flashback".into()),
            algorithm,
            keys,
            key_refresh_seconds: settings.seconds("JWT_KEYS_REFRESH_SECONDS", 300)? as u64,
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
        let app_url = settings
            .get("APP_URL")
            .unwrap_or_else(|| "http://localhost:5173".into());
        let unsafe_in_a_link = |c: char| c.is_whitespace() || "\"'<>&".contains(c);
        if !(app_url.starts_with("https://") || is_loopback_http(&app_url))
            || app_url.contains(unsafe_in_a_link)
        {
            return Err(ConfigError::Invalid {
                name: "APP_URL",
                reason:
                    "expected the web app's https:// URL (http:// only for localhost or 127.0.0.1)"
                        .into(),
            });
        }
        let require_verified_email = match settings.get("REQUIRE_VERIFIED_EMAIL").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "REQUIRE_VERIFIED_EMAIL",
                    reason: "expected true or false".into(),
                });
            }
        };
        let mail = MailConfig {
            app_url: app_url.trim_end_matches('/').to_owned(),
            from: settings
                .get("MAIL_FROM")
                .unwrap_or_else(|| "no-reply@localhost".into()),
            require_verified_email,
        };
        Ok(Config {
            providers: ProvidersConfig::load(settings, &mail.app_url)?,
            mfa_key: if let Some(name) = settings.get("MFA_KEY_SECRET_NAME") {
                MfaKeySource::SecretsManager(name)
            } else if let Some(path) = settings.get("MFA_KEY_FILE") {
                MfaKeySource::File(path.into())
            } else if let Some(key) = settings.get("MFA_KEY") {
                MfaKeySource::Inline(key)
            } else {
                MfaKeySource::None
            },
            mail,
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

    #[test]
    fn defaults_follow_the_contract() {
        let m = map(&[("TABLE_NAME", "accounts")]);
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
        assert_eq!(c.tokens.algorithm, SigningAlgorithm::Rs256);
        assert_eq!(c.tokens.issuer, Issuer::FromRequest);
        assert_eq!(c.login_throttle.max_failures, 5);
        assert_eq!(c.login_throttle.window_seconds, 900);
        assert_eq!(c.password_hash, PasswordHashConfig::OWASP);
    }

    #[test]
    fn mail_links_open_https_or_loopback_only() {
        let load = |url: &str| {
            let m = map(&[("TABLE_NAME", "t"), ("APP_URL", url)]);
            Config::load(&Settings::from_map(&m)).map(|c| c.mail.app_url)
        };
        for good in [
            "https://app.example.com",
            "http://localhost:5173",
            "http://127.0.0.1",
            "http://localhost/app/",
        ] {
            assert!(load(good).is_ok(), "{good}");
        }
        for bad in [
            "http://app.example.com",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example:80",
            "http://localhost:x@evil.example",
            "ftp://localhost",
            "https://app.example.com/\"><script>",
        ] {
            let err = load(bad).unwrap_err().to_string();
            assert!(err.contains("APP_URL"), "{bad}: {err}");
        }
    }

    #[test]
    fn key_settings_are_read() {
        let m = map(&[
            ("TABLE_NAME", "t"),
            ("JWT_ALGORITHM", "ES256"),
            ("JWT_PRIVATE_KEYS_SECRET", "accounts/private"),
            ("JWT_ISSUER", "https://accounts.example.com/"),
        ]);
        let c = Config::load(&Settings::from_map(&m)).unwrap();
        assert_eq!(c.tokens.algorithm, SigningAlgorithm::Es256);
        assert!(matches!(
            &c.tokens.keys,
            KeySource::SecretsManager { private: Some(p), public: None } if p == "accounts/private"
        ));
        assert_eq!(
            c.tokens.issuer,
            Issuer::Fixed("https://accounts.example.com".into())
        );
    }

    #[test]
    fn shared_secrets_and_unknown_algorithms_are_refused() {
        let m = map(&[("TABLE_NAME", "t"), ("JWT_SIGNING_KEY", "a-leaked-secret")]);
        let err = Config::load(&Settings::from_map(&m)).unwrap_err();
        assert!(err.to_string().contains("HS256"), "{err}");
        assert!(!err.to_string().contains("a-leaked-secret"));
        for alg in ["HS256", "none", "PS256"] {
            let m = map(&[("TABLE_NAME", "t"), ("JWT_ALGORITHM", alg)]);
            assert!(matches!(
                Config::load(&Settings::from_map(&m)),
                Err(ConfigError::Invalid {
                    name: "JWT_ALGORITHM",
                    ..
                })
            ));
        }
        let m = map(&[("TABLE_NAME", "t"), ("JWT_ISSUER", "flashback-accounts")]);
        assert!(matches!(
            Config::load(&Settings::from_map(&m)),
            Err(ConfigError::Invalid {
                name: "JWT_ISSUER",
                ..
            })
        ));
    }

    #[test]
    fn weaker_argon2_parameters_are_refused() {
        let m = map(&[("TABLE_NAME", "t"), ("ARGON2_MEMORY_KIB", "1024")]);
        assert!(matches!(
            Config::load(&Settings::from_map(&m)),
            Err(ConfigError::Invalid {
                name: "ARGON2_MEMORY_KIB",
                ..
            })
        ));
    }
}
