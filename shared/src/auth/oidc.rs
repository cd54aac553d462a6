//! OpenID Connect ID tokens from outside providers (Google, Microsoft):
//! verified against the keys the provider publishes (its discovery
//! document's `jwks_uri`), cached per process with our own key ring's rule:
//! a token naming an unknown `kid` re-reads the keys, at most once every
//! [`FORCED_REFRESH_SECONDS`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::Value;

use super::key_ring::FORCED_REFRESH_SECONDS;
use crate::config::{ProviderConfig, ProviderKind, ProvidersConfig};
use crate::error::{Error, Result};
use crate::outbound::{Outbound, OutboundError};

/// Provider ID tokens are about 1–2 KiB; bigger is not one.
const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;
const LEEWAY_SECONDS: i64 = 60;
/// Keys older than this are re-read on the next sign-in even if they know
/// its `kid`, so a key the provider withdrew stops being trusted.
const MAX_KEY_AGE_SECONDS: u64 = 3600;
/// What a client is told to wait when the provider does not answer.
const RETRY_AFTER_SECONDS: u64 = 5;

/// What the provider vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderIdentity {
    pub subject: String,
    /// As the provider gave it; the service normalizes it.
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    iss: String,
    exp: i64,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// Google: a boolean (or, in older tokens, the string "true").
    #[serde(default)]
    email_verified: Option<Value>,
    /// Microsoft: the email's domain is verified by the tenant that issued it.
    #[serde(default)]
    xms_edov: Option<Value>,
    /// Microsoft: the tenant, which its issuer names.
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

fn is_true(value: &Option<Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

struct Discovered {
    /// Microsoft's multi-tenant document says `…/{tenantid}/v2.0`.
    issuer: String,
    jwks_uri: String,
}

struct CachedKeys {
    keys: HashMap<String, Arc<DecodingKey>>,
    read_at: Instant,
}

/// One provider: its settings and, once read, its discovery document and keys.
pub struct OidcProvider {
    pub config: ProviderConfig,
    discovered: RwLock<Option<Arc<Discovered>>>,
    keys: RwLock<Option<CachedKeys>>,
    /// When an unknown `kid` last forced a re-read.
    forced: Mutex<Option<Instant>>,
}

/// The provider did not answer, or not usefully: the sign-in can be tried
/// again later; nothing was written.
fn unavailable(error: OutboundError, provider: ProviderKind) -> Error {
    tracing::warn!(event = "provider_unavailable", provider = provider.name(), reason = %error, "identity provider unusable");
    Error::Unavailable {
        retry_after_seconds: RETRY_AFTER_SECONDS,
    }
}

impl OidcProvider {
    pub fn new(config: ProviderConfig) -> OidcProvider {
        OidcProvider {
            config,
            discovered: RwLock::new(None),
            keys: RwLock::new(None),
            forced: Mutex::new(None),
        }
    }

    async fn discovered(&self, http: &Outbound) -> Result<Arc<Discovered>> {
        if let Some(d) = self
            .discovered
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Ok(d);
        }
        let kind = self.config.kind;
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
        let doc = http
            .get_json(&url)
            .await
            .map_err(|e| unavailable(e, kind))?;
        let field = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_owned);
        let (Some(issuer), Some(jwks_uri)) = (field("issuer"), field("jwks_uri")) else {
            return Err(unavailable(
                OutboundError::Refused(format!("{url}: no issuer or jwks_uri")),
                kind,
            ));
        };
        if !self.config.allows_url(&jwks_uri) {
            return Err(unavailable(
                OutboundError::Refused(format!("{url}: jwks_uri {jwks_uri} is not https")),
                kind,
            ));
        }
        let d = Arc::new(Discovered { issuer, jwks_uri });
        *self.discovered.write().unwrap_or_else(|p| p.into_inner()) = Some(d.clone());
        Ok(d)
    }

    async fn read_keys(&self, http: &Outbound, jwks_uri: &str) -> Result<()> {
        let kind = self.config.kind;
        let doc = http
            .get_json(jwks_uri)
            .await
            .map_err(|e| unavailable(e, kind))?;
        let set: JwkSet = serde_json::from_value(doc)
            .map_err(|e| unavailable(OutboundError::Refused(format!("{jwks_uri}: {e}")), kind))?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(jwk).ok().map(|k| (kid, Arc::new(k)))
            })
            .collect();
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Some(CachedKeys {
            keys,
            read_at: Instant::now(),
        });
        Ok(())
    }

    fn cached_key(&self, kid: &str) -> (Option<Arc<DecodingKey>>, bool) {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        match keys.as_ref() {
            None => (None, true),
            Some(c) => (
                c.keys.get(kid).cloned(),
                c.read_at.elapsed().as_secs() >= MAX_KEY_AGE_SECONDS,
            ),
        }
    }

    /// The key named `kid`: cached, or re-read when none is cached yet, the
    /// cache is old, or `kid` is unknown and no re-read was forced lately.
    async fn key(&self, http: &Outbound, jwks_uri: &str, kid: &str) -> Result<Arc<DecodingKey>> {
        let (found, stale) = self.cached_key(kid);
        if let Some(key) = found.as_ref().filter(|_| !stale) {
            return Ok(key.clone());
        }
        if found.is_none() && !stale {
            let mut forced = self.forced.lock().unwrap_or_else(|p| p.into_inner());
            if forced.is_some_and(|at| at.elapsed().as_secs() < FORCED_REFRESH_SECONDS) {
                return Err(Error::InvalidToken);
            }
            *forced = Some(Instant::now());
        }
        match self.read_keys(http, jwks_uri).await {
            Ok(()) => {}
            // Old keys still verify while the provider is away.
            Err(e) => return found.ok_or(e),
        }
        self.cached_key(kid).0.ok_or(Error::InvalidToken)
    }

    /// Verifies an ID token: RS256 only, a key the provider publishes,
    /// `iss`, `aud` (our client id), `exp`, the `nonce` when the client
    /// gave one, and an email the provider says is verified.
    pub async fn verify(
        &self,
        http: &Outbound,
        token: &str,
        nonce: Option<&str>,
        now: i64,
    ) -> Result<ProviderIdentity> {
        if token.len() > MAX_ID_TOKEN_BYTES {
            return Err(Error::InvalidToken);
        }
        let header = decode_header(token).map_err(|_| Error::InvalidToken)?;
        if header.alg != Algorithm::RS256 {
            return Err(Error::InvalidToken);
        }
        let kid = header.kid.ok_or(Error::InvalidToken)?;
        let discovered = self.discovered(http).await?;
        let key = self.key(http, &discovered.jwks_uri, &kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Against the service's clock, and the issuer below (Microsoft's
        // names the tenant).
        validation.validate_exp = false;
        let claims = decode::<IdClaims>(token, &key, &validation)
            .map_err(|_| Error::InvalidToken)?
            .claims;
        let reject = |why: &'static str| {
            tracing::info!(
                event = "provider_token",
                provider = self.config.kind.name(),
                outcome = why,
                "provider token refused"
            );
            Err(Error::InvalidToken)
        };
        if !self.issuer_matches(&discovered.issuer, &claims) {
            return reject("issuer");
        }
        if claims.exp + LEEWAY_SECONDS <= now {
            return reject("expired");
        }
        if let Some(wanted) = nonce
            && claims.nonce.as_deref() != Some(wanted)
        {
            return reject("nonce");
        }
        let verified = match self.config.kind {
            ProviderKind::Google => is_true(&claims.email_verified),
            // Microsoft's `email` is whatever the tenant's admin typed
            // unless `xms_edov` says the tenant verified its domain: the
            // multi-tenant takeover (nOAuth) rests on trusting it otherwise.
            ProviderKind::Microsoft => is_true(&claims.xms_edov),
        };
        let Some(email) = claims.email.filter(|_| verified) else {
            return reject("unverified_email");
        };
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return reject("subject");
        }
        Ok(ProviderIdentity {
            subject: claims.sub,
            email,
            given_name: claims.given_name,
            family_name: claims.family_name,
            name: claims.name,
        })
    }

    fn issuer_matches(&self, discovered: &str, claims: &IdClaims) -> bool {
        let expected = match (discovered.contains("{tenantid}"), claims.tid.as_deref()) {
            (true, Some(tid)) if !tid.is_empty() && !tid.contains('/') => {
                discovered.replace("{tenantid}", tid)
            }
            (true, _) => return false,
            (false, _) => discovered.to_owned(),
        };
        claims.iss == expected
            // Google's tokens may name it without the scheme.
            || (self.config.kind == ProviderKind::Google
                && expected.strip_prefix("https://") == Some(claims.iss.as_str()))
    }
}

/// The providers a deployment enabled, and the one outbound client.
pub struct Providers {
    http: Outbound,
    google: Option<OidcProvider>,
    microsoft: Option<OidcProvider>,
}

impl Providers {
    pub fn new(config: &ProvidersConfig) -> Providers {
        Providers {
            http: Outbound::new(config.timeout),
            google: config.google.clone().map(OidcProvider::new),
            microsoft: config.microsoft.clone().map(OidcProvider::new),
        }
    }

    /// Whether the deployment signs in with `kind`.
    pub fn enabled(&self, kind: ProviderKind) -> bool {
        self.provider(kind).is_some()
    }

    fn provider(&self, kind: ProviderKind) -> Option<&OidcProvider> {
        match kind {
            ProviderKind::Google => self.google.as_ref(),
            ProviderKind::Microsoft => self.microsoft.as_ref(),
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
        provider.verify(&self.http, token, nonce, now).await
    }
}
