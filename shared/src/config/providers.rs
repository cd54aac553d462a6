//! The outside identity providers a deployment signs in with (API.md,
//! "Social sign-in"): only those whose client id is set are enabled.

use std::fmt;

use super::{ConfigError, Settings, is_loopback_http};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Google,
    Microsoft,
    Github,
}

impl ProviderKind {
    /// As sessions (`loginMethod`) and identities record it.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Google => "GOOGLE",
            ProviderKind::Microsoft => "MICROSOFT",
            ProviderKind::Github => "GITHUB",
        }
    }

    /// As Flashback's `OAuth2ResponseDTO` names it (`provider`) and as the
    /// paths do.
    pub fn slug(self) -> &'static str {
        match self {
            ProviderKind::Google => "google",
            ProviderKind::Microsoft => "microsoft",
            ProviderKind::Github => "github",
        }
    }

    /// Its settings' names, spelled out so that a search finds them.
    pub fn settings(self) -> SettingNames {
        match self {
            ProviderKind::Google => SettingNames {
                client_id: "GOOGLE_CLIENT_ID",
                issuer: "GOOGLE_ISSUER",
                client_secret: "GOOGLE_CLIENT_SECRET",
                client_secret_name: "GOOGLE_CLIENT_SECRET_NAME",
                redirect_uri: "GOOGLE_REDIRECT_URI",
            },
            ProviderKind::Microsoft => SettingNames {
                client_id: "MICROSOFT_CLIENT_ID",
                issuer: "MICROSOFT_ISSUER",
                client_secret: "MICROSOFT_CLIENT_SECRET",
                client_secret_name: "MICROSOFT_CLIENT_SECRET_NAME",
                redirect_uri: "MICROSOFT_REDIRECT_URI",
            },
            ProviderKind::Github => SettingNames {
                client_id: "GITHUB_CLIENT_ID",
                issuer: "GITHUB_URL",
                client_secret: "GITHUB_CLIENT_SECRET",
                client_secret_name: "GITHUB_CLIENT_SECRET_NAME",
                redirect_uri: "GITHUB_REDIRECT_URI",
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SettingNames {
    pub client_id: &'static str,
    /// GitHub: `GITHUB_URL`.
    pub issuer: &'static str,
    pub client_secret: &'static str,
    pub client_secret_name: &'static str,
    pub redirect_uri: &'static str,
}

/// A client secret's value: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: String) -> SecretValue {
        SecretValue(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(..)")
    }
}

/// Where a provider's client secret comes from. Only the code flows
/// (`/auth/github`, `/auth/{google,microsoft}/exchange`) need one; an ID
/// token is checked with the provider's public keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSecret {
    None,
    /// `<PROVIDER>_CLIENT_SECRET` (locally).
    Value(SecretValue),
    /// `<PROVIDER>_CLIENT_SECRET_NAME`: a Secrets Manager secret, read at
    /// cold start (`App::from_env`) by the functions whose environment names it.
    SecretsManager(String),
}

impl ClientSecret {
    fn load(settings: &Settings<'_>, kind: ProviderKind) -> Result<ClientSecret, ConfigError> {
        let names = kind.settings();
        let value = settings.get(names.client_secret);
        let name = settings.get(names.client_secret_name);
        match (value, name) {
            (Some(_), Some(_)) => Err(ConfigError::Invalid {
                name: names.client_secret,
                reason: format!("set either it or {}, not both", names.client_secret_name),
            }),
            (Some(value), None) => Ok(ClientSecret::Value(SecretValue(value.trim().to_owned()))),
            (None, Some(name)) => Ok(ClientSecret::SecretsManager(name.trim().to_owned())),
            (None, None) => Ok(ClientSecret::None),
        }
    }

    /// The value, once known.
    pub fn value(&self) -> Option<&SecretValue> {
        match self {
            ClientSecret::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// Google or Microsoft: OpenID Connect.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// `<PROVIDER>_CLIENT_ID`: the `aud` its ID tokens must carry.
    pub client_id: String,
    /// `<PROVIDER>_ISSUER`, without a trailing slash: discovery is read from
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_secret: ClientSecret,
    /// `<PROVIDER>_REDIRECT_URI` [`{APP_URL}/auth/<provider>/callback`]: the
    /// `redirect_uri` of the code flow, as the web app sent it to the provider.
    pub redirect_uri: String,
}

impl ProviderConfig {
    /// `https://`, or `http://` on a loopback host (a local test provider).
    pub fn allows_url(&self, url: &str) -> bool {
        allows_url(url)
    }
}

pub fn allows_url(url: &str) -> bool {
    url.starts_with("https://") || is_loopback_http(url)
}

/// GitHub: OAuth 2.0 and its REST API (no OpenID Connect).
#[derive(Debug, Clone)]
pub struct GithubConfig {
    /// `GITHUB_CLIENT_ID`: the OAuth app's client id.
    pub client_id: String,
    /// `GITHUB_URL` [`https://github.com`]: where codes are exchanged
    /// (`/login/oauth/access_token`).
    pub url: String,
    /// `GITHUB_API_URL` [`https://api.github.com`]: `/user`, `/user/emails`.
    pub api_url: String,
    pub client_secret: ClientSecret,
    /// `GITHUB_REDIRECT_URI`: sent with the code only when set (GitHub then
    /// requires it to match the authorization request's).
    pub redirect_uri: Option<String>,
}

/// The enabled providers; the others' routes answer 404 `NOT_FOUND`.
#[derive(Debug, Clone)]
pub struct ProvidersConfig {
    pub google: Option<ProviderConfig>,
    pub microsoft: Option<ProviderConfig>,
    pub github: Option<GithubConfig>,
    /// `PROVIDER_TIMEOUT_MS` [3000]: the most one call to a provider may take.
    pub timeout: std::time::Duration,
}

fn url_setting(
    settings: &Settings<'_>,
    name: &'static str,
    default: String,
) -> Result<String, ConfigError> {
    let url = settings
        .get(name)
        .unwrap_or(default)
        .trim()
        .trim_end_matches('/')
        .to_owned();
    if !allows_url(&url) {
        return Err(ConfigError::Invalid {
            name,
            reason: "expected an https:// URL (http:// only on a loopback host)".into(),
        });
    }
    Ok(url)
}

impl ProvidersConfig {
    pub fn get(&self, kind: ProviderKind) -> Option<&ProviderConfig> {
        match kind {
            ProviderKind::Google => self.google.as_ref(),
            ProviderKind::Microsoft => self.microsoft.as_ref(),
            ProviderKind::Github => None,
        }
    }

    /// Whether a Secrets Manager secret is to be read at start.
    pub fn names_a_secret(&self) -> bool {
        let named = |s: &ClientSecret| matches!(s, ClientSecret::SecretsManager(_));
        self.google.iter().any(|c| named(&c.client_secret))
            || self.microsoft.iter().any(|c| named(&c.client_secret))
            || self.github.iter().any(|c| named(&c.client_secret))
    }

    /// The client secret `kind` is configured with.
    pub fn client_secret_mut(&mut self, kind: ProviderKind) -> Option<&mut ClientSecret> {
        match kind {
            ProviderKind::Google => self.google.as_mut().map(|c| &mut c.client_secret),
            ProviderKind::Microsoft => self.microsoft.as_mut().map(|c| &mut c.client_secret),
            ProviderKind::Github => self.github.as_mut().map(|c| &mut c.client_secret),
        }
    }

    pub(super) fn load(
        settings: &Settings<'_>,
        app_url: &str,
    ) -> Result<ProvidersConfig, ConfigError> {
        let oidc = |kind: ProviderKind, default_issuer: &str| {
            let names = kind.settings();
            let Some(client_id) = settings.get(names.client_id) else {
                return Ok(None);
            };
            let issuer = url_setting(settings, names.issuer, default_issuer.into())?;
            let redirect_uri = url_setting(
                settings,
                names.redirect_uri,
                format!("{app_url}/auth/{}/callback", kind.slug()),
            )?;
            Ok::<_, ConfigError>(Some(ProviderConfig {
                kind,
                client_id: client_id.trim().to_owned(),
                issuer,
                client_secret: ClientSecret::load(settings, kind)?,
                redirect_uri,
            }))
        };
        let github = match settings.get("GITHUB_CLIENT_ID") {
            None => None,
            Some(client_id) => Some(GithubConfig {
                client_id: client_id.trim().to_owned(),
                url: url_setting(settings, "GITHUB_URL", "https://github.com".into())?,
                api_url: url_setting(settings, "GITHUB_API_URL", "https://api.github.com".into())?,
                client_secret: ClientSecret::load(settings, ProviderKind::Github)?,
                redirect_uri: match settings.get("GITHUB_REDIRECT_URI") {
                    None => None,
                    Some(_) => Some(url_setting(settings, "GITHUB_REDIRECT_URI", String::new())?),
                },
            }),
        };
        Ok(ProvidersConfig {
            google: oidc(ProviderKind::Google, "https://accounts.google.com")?,
            microsoft: oidc(
                ProviderKind::Microsoft,
                "https://login.microsoftonline.com/common/v2.0",
            )?,
            github,
            timeout: std::time::Duration::from_millis(u64::from(settings.number(
                "PROVIDER_TIMEOUT_MS",
                3000,
                1,
            )?)),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<ProvidersConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProvidersConfig::load(&Settings::from_map(&map), "https://app.example")
    }

    #[test]
    fn client_secrets_come_from_a_value_or_a_secret_name_never_both() {
        let c = load(&[
            ("GITHUB_CLIENT_ID", "gh"),
            ("GITHUB_CLIENT_SECRET_NAME", "accounts/github"),
            ("GOOGLE_CLIENT_ID", "g"),
            ("GOOGLE_CLIENT_SECRET", "s3cret"),
        ])
        .unwrap();
        let github = c.github.as_ref().unwrap();
        assert_eq!(
            github.client_secret,
            ClientSecret::SecretsManager("accounts/github".into())
        );
        assert_eq!(github.url, "https://github.com");
        assert_eq!(github.api_url, "https://api.github.com");
        assert_eq!(github.redirect_uri, None);
        let google = c.google.as_ref().unwrap();
        assert_eq!(google.client_secret.value().unwrap().expose(), "s3cret");
        assert_eq!(
            google.redirect_uri,
            "https://app.example/auth/google/callback"
        );
        // The value never reaches a log line through Debug.
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(c.microsoft.is_none());
        let both = load(&[
            ("GITHUB_CLIENT_ID", "gh"),
            ("GITHUB_CLIENT_SECRET", "a"),
            ("GITHUB_CLIENT_SECRET_NAME", "b"),
        ]);
        assert!(matches!(
            both,
            Err(ConfigError::Invalid {
                name: "GITHUB_CLIENT_SECRET",
                ..
            })
        ));
        let plain = load(&[
            ("GITHUB_CLIENT_ID", "gh"),
            ("GITHUB_API_URL", "http://api.example"),
        ]);
        assert!(matches!(
            plain,
            Err(ConfigError::Invalid {
                name: "GITHUB_API_URL",
                ..
            })
        ));
    }
}
