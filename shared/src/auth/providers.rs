//! The providers a deployment enabled (Google, Microsoft: [`super::oidc`];
//! GitHub: [`super::github`]) and the one outbound client they share.

use super::github::GithubProvider;
use std::future::Future;

use super::oidc::{OidcProvider, ProviderIdentity, unavailable};
use crate::config::{ClientSecret, ProviderKind, ProvidersConfig, SecretValue};
use crate::error::{Error, Result};
use crate::outbound::{Outbound, OutboundError};

/// The providers a deployment enabled, and the one outbound client.
pub struct Providers {
    http: Outbound,
    /// All of one sign-in's calls together (GitHub makes three in a row,
    /// a cold OpenID code flow as many): twice `PROVIDER_TIMEOUT_MS`, so
    /// that a provider answering each call just in time still ends in a
    /// 503 well inside the 10 s Lambda timeout.
    total: std::time::Duration,
    google: Option<OidcProvider>,
    microsoft: Option<OidcProvider>,
    github: Option<GithubProvider>,
}

impl Providers {
    pub fn new(config: &ProvidersConfig) -> Providers {
        Providers {
            http: Outbound::new(config.timeout),
            total: config.timeout * 2,
            google: config.google.clone().map(OidcProvider::new),
            microsoft: config.microsoft.clone().map(OidcProvider::new),
            github: config.github.clone().map(GithubProvider::new),
        }
    }

    /// Whether the deployment signs in with `kind`.
    pub fn enabled(&self, kind: ProviderKind) -> bool {
        match kind {
            ProviderKind::Github => self.github.is_some(),
            oidc => self.provider(oidc).is_some(),
        }
    }

    fn provider(&self, kind: ProviderKind) -> Option<&OidcProvider> {
        match kind {
            ProviderKind::Google => self.google.as_ref(),
            ProviderKind::Microsoft => self.microsoft.as_ref(),
            ProviderKind::Github => None,
        }
    }

    /// Whether `kind` is enabled and has the client secret its code flow
    /// needs (a function serving a code flow refuses to start otherwise).
    pub fn has_client_secret(&self, kind: ProviderKind) -> bool {
        match kind {
            ProviderKind::Github => self
                .github
                .as_ref()
                .is_some_and(|g| g.config.client_secret.value().is_some()),
            oidc => self
                .provider(oidc)
                .is_some_and(|p| p.config.client_secret.value().is_some()),
        }
    }

    /// A code flow: GitHub's code exchange and API, or an OpenID provider's
    /// token endpoint; 404 `NOT_FOUND` when the deployment does not enable it.
    pub async fn exchange(
        &self,
        kind: ProviderKind,
        code: &str,
        now: i64,
    ) -> Result<ProviderIdentity> {
        match kind {
            ProviderKind::Github => {
                let github = self.github.as_ref().ok_or(Error::NotFound)?;
                self.bounded(kind, github.identity(&self.http, code)).await
            }
            oidc => {
                let provider = self.provider(oidc).ok_or(Error::NotFound)?;
                self.bounded(kind, provider.exchange(&self.http, code, now))
                    .await
            }
        }
    }

    /// [`OidcProvider::verify`] with `kind`'s provider; 404 `NOT_FOUND` when
    /// the deployment does not enable it.
    pub async fn verify(
        &self,
        kind: ProviderKind,
        token: &str,
        nonce: Option<&str>,
        now: i64,
    ) -> Result<ProviderIdentity> {
        let provider = self.provider(kind).ok_or(Error::NotFound)?;
        self.bounded(kind, provider.verify(&self.http, token, nonce, now))
            .await
    }

    async fn bounded(
        &self,
        kind: ProviderKind,
        calls: impl Future<Output = Result<ProviderIdentity>>,
    ) -> Result<ProviderIdentity> {
        tokio::time::timeout(self.total, calls)
            .await
            .unwrap_or_else(|_| {
                Err(unavailable(
                    OutboundError::Unreachable(format!("no answer in {:?} in all", self.total)),
                    kind,
                ))
            })
    }
}

/// [`read_client_secrets`] with the standard AWS configuration, when a
/// secret is named at all (no AWS configuration is loaded otherwise).
pub async fn resolve_client_secrets(
    config: &mut ProvidersConfig,
) -> std::result::Result<(), String> {
    if !config.names_a_secret() {
        return Ok(());
    }
    let secrets = aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await);
    read_client_secrets(config, &secrets).await
}

/// Replaces each `<PROVIDER>_CLIENT_SECRET_NAME` with the secret's value,
/// read from Secrets Manager once, at cold start. Only the functions whose
/// environment names a secret (the code flows) read one, and IAM lets each
/// read only its own provider's. The error names the secret, never a value.
pub async fn read_client_secrets(
    config: &mut ProvidersConfig,
    client: &aws_sdk_secretsmanager::Client,
) -> std::result::Result<(), String> {
    for kind in [
        ProviderKind::Google,
        ProviderKind::Microsoft,
        ProviderKind::Github,
    ] {
        let Some(secret) = config.client_secret_mut(kind) else {
            continue;
        };
        let ClientSecret::SecretsManager(name) = secret else {
            continue;
        };
        let setting = kind.settings().client_secret_name;
        let output = client
            .get_secret_value()
            .secret_id(name.as_str())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "{setting}: Secrets Manager secret {name:?} unreadable: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
                )
            })?;
        let value = output
            .secret_string()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{setting}: Secrets Manager secret {name:?} has no text"))?;
        *secret = ClientSecret::Value(SecretValue::new(value.to_owned()));
    }
    Ok(())
}
