//! OpenID Connect ID tokens from outside providers (Google, Microsoft):
//! verified against the keys the provider publishes (its discovery
//! document's `jwks_uri`), cached per process with our own key ring's rule:
//! a token naming an unknown `kid` re-reads the keys, at most once every
//! [`FORCED_REFRESH_SECONDS`]. The code flow (`…/exchange`) trades a code at
//! the discovery document's `token_endpoint` for an ID token, checked the
//! same way. GitHub (OAuth 2.0, no ID token) is [`super::github`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::Value;

use super::key_ring::FORCED_REFRESH_SECONDS;
use crate::config::{ProviderConfig, ProviderKind};
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
    /// A picture's URL (Flashback's `imageUrl`).
    pub picture: Option<String>,
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
    #[serde(default)]
    picture: Option<String>,
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
    /// Where the code flow trades a code (absent: no code flow).
    token_endpoint: Option<String>,
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
pub(crate) fn unavailable(error: OutboundError, provider: ProviderKind) -> Error {
    tracing::warn!(event = "provider_unavailable", provider = provider.name(), reason = %error, "identity provider unusable");
    Error::Unavailable {
        retry_after_seconds: RETRY_AFTER_SECONDS,
    }
}

/// A code the provider's token endpoint refused (unknown, used, expired,
/// or for another client) is a bad credential; a provider that does not
/// answer is [`unavailable`].
pub(crate) fn code_refused(error: OutboundError, provider: ProviderKind) -> Error {
    match error {
        OutboundError::Refused(reason) => {
            tracing::info!(event = "provider_code", provider = provider.name(), outcome = "refused", reason = %reason, "provider refused the code");
            Error::InvalidToken
        }
        unreachable => unavailable(unreachable, provider),
    }
}

/// An authorization code as a client passes it on: bounded, printable.
pub(crate) fn check_code(code: &str) -> Result<()> {
    if code.is_empty() || code.len() > 2048 || code.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(Error::validation(
            "code must be 1 to 2048 printable characters",
        ));
    }
    Ok(())
}

/// The client secret a code flow sends; its absence is a deployment error
/// (a Lambda refuses to start without it: `http::run_function`).
pub(crate) fn client_secret(
    secret: &crate::config::ClientSecret,
    kind: ProviderKind,
) -> Result<&str> {
    secret.value().map(|s| s.expose()).ok_or_else(|| {
        Error::Internal(format!(
            "{} (or {}) is not configured",
            kind.settings().client_secret_name,
            kind.settings().client_secret
        ))
    })
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
        let token_endpoint = field("token_endpoint");
        for endpoint in std::iter::once(&jwks_uri).chain(token_endpoint.as_ref()) {
            if !self.config.allows_url(endpoint) {
                return Err(unavailable(
                    OutboundError::Refused(format!("{url}: {endpoint} is not https")),
                    kind,
                ));
            }
        }
        let d = Arc::new(Discovered {
            issuer,
            jwks_uri,
            token_endpoint,
        });
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
            // GitHub issues no ID tokens: its sign-in is `super::github`.
            ProviderKind::Github => false,
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
            picture: claims.picture,
        })
    }

    /// The authorization-code flow: `code` traded at the token endpoint
    /// (with our client secret and redirect URI) for an ID token, then
    /// [`OidcProvider::verify`] (no nonce: the code itself is single use and
    /// bound to our client).
    pub async fn exchange(
        &self,
        http: &Outbound,
        code: &str,
        now: i64,
    ) -> Result<ProviderIdentity> {
        let kind = self.config.kind;
        check_code(code)?;
        let secret = client_secret(&self.config.client_secret, kind)?;
        let discovered = self.discovered(http).await?;
        let Some(endpoint) = discovered.token_endpoint.as_deref() else {
            return Err(unavailable(
                OutboundError::Refused("discovery names no token_endpoint".into()),
                kind,
            ));
        };
        let answer = http
            .post_form(
                endpoint,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &self.config.redirect_uri),
                    ("client_id", &self.config.client_id),
                    ("client_secret", secret),
                ],
            )
            .await
            .map_err(|e| code_refused(e, kind))?;
        let id_token = answer
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or(Error::InvalidToken)?;
        self.verify(http, id_token, None, now).await
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
