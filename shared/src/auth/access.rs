//! Access tokens: JWTs signed with an asymmetric key (RS256 by default,
//! ES256 selectable), the algorithm pinned, a `kid` naming the key, and
//! `iss`, `aud`, `exp` and `type` all checked.

use std::borrow::Cow;

use jsonwebtoken::{Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::key_ring::KeyRing;
use crate::config::{Issuer, TokenConfig};
use crate::error::{Error, Result};
use crate::model::{Session, User};

const ACCESS_TYPE: &str = "access";
/// A sign-in that still owes its second factor: accepted by the MFA routes only.
pub const MFA_PENDING_TYPE: &str = "mfa_pending";
/// A sign-in of a member whose organization enforces MFA and who has none
/// yet: accepted by the enrollment routes only.
pub const MFA_ENROLL_TYPE: &str = "mfa_enroll";
/// How long a pending sign-in's token lives.
pub const PENDING_TTL_SECONDS: i64 = 300;
/// Tolerated clock skew between signer and verifier.
const LEEWAY_SECONDS: i64 = 30;
/// No honest token comes near this; a bigger one is refused before parsing.
const MAX_TOKEN_BYTES: usize = 4096;

tokio::task_local! {
    /// The issuer URL of the request being served, where the deployment
    /// names none (`JWT_ISSUER` unset): the API's own URL, from API Gateway's
    /// request context. Set by `http::serve` around each request.
    pub static REQUEST_ISSUER: String;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessClaims {
    pub sub: String,
    pub user_id: String,
    pub email: String,
    pub org_id: String,
    #[serde(rename = "type")]
    pub token_type: String,
    /// The session (refresh family) this token was issued under.
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// RFC 8176: how the session's holder proved itself (`pwd`, `fed`, `otp`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// OIDC: when that proof was made (the session keeps it).
    #[serde(default, rename = "auth_time", skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// A pending sign-in's way in (`LOCAL`, `GOOGLE`, …): the session that
    /// verify-login starts records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_method: Option<String>,
}

impl AccessClaims {
    /// Whether this is a pending sign-in's token (`mfa_pending`, `mfa_enroll`).
    pub fn is_pending(&self) -> bool {
        self.token_type != ACCESS_TYPE
    }
}

#[derive(Debug, Clone)]
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_at: i64,
}

pub struct AccessTokens {
    issuer: Issuer,
    audience: String,
    ttl_seconds: i64,
    keys: KeyRing,
    validation: Validation,
}

impl AccessTokens {
    pub fn new(config: &TokenConfig, keys: KeyRing) -> AccessTokens {
        let mut validation = Validation::new(keys.algorithm().jwt());
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked against the service's clock below, so that it
        // agrees with every other time decision the service makes; the
        // issuer below too, since it may be the request's.
        validation.validate_exp = false;
        AccessTokens {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl_seconds: config.access_ttl_seconds,
            keys,
            validation,
        }
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The `iss` this deployment signs and expects: the configured URL, or
    /// the URL the current request came to.
    pub fn issuer(&self) -> Result<Cow<'_, str>> {
        match &self.issuer {
            Issuer::Fixed(url) => Ok(Cow::Borrowed(url)),
            Issuer::FromRequest => REQUEST_ISSUER
                .try_with(|url| Cow::Owned(url.clone()))
                .map_err(|_| {
                    Error::Internal(
                        "JWT_ISSUER is not set and the request names no API domain".into(),
                    )
                }),
        }
    }

    /// A session's access token: its `amr` and `auth_time` are the session's.
    pub fn issue(&self, user: &User, session: &Session, now: i64) -> Result<IssuedAccessToken> {
        self.issue_with(user, &session.id, &session.amr(), session.auth_time(), now)
    }

    /// [`issue`](Self::issue) from the session's parts (benchmarks).
    pub fn issue_with(
        &self,
        user: &User,
        session_id: &str,
        amr: &[&str],
        auth_time: i64,
        now: i64,
    ) -> Result<IssuedAccessToken> {
        let mut claims = self.claims(user, ACCESS_TYPE, session_id, now, self.ttl_seconds)?;
        claims.amr = amr.iter().map(|m| (*m).to_owned()).collect();
        claims.auth_time = Some(auth_time);
        self.sign(claims)
    }

    /// A pending sign-in's token (`token_type` [`MFA_PENDING_TYPE`] or
    /// [`MFA_ENROLL_TYPE`]): 5 minutes, no session behind it yet; `sid` is
    /// the id the session will have, so the token starts one at most.
    pub fn issue_pending(
        &self,
        user: &User,
        token_type: &'static str,
        session_id: &str,
        login_method: &str,
        now: i64,
    ) -> Result<IssuedAccessToken> {
        let mut claims = self.claims(user, token_type, session_id, now, PENDING_TTL_SECONDS)?;
        claims.amr = vec![if login_method == crate::model::LOGIN_METHOD_PASSWORD {
            "pwd".into()
        } else {
            "fed".into()
        }];
        claims.auth_time = Some(now);
        claims.login_method = Some(login_method.to_owned());
        self.sign(claims)
    }

    fn claims(
        &self,
        user: &User,
        token_type: &str,
        session_id: &str,
        now: i64,
        ttl: i64,
    ) -> Result<AccessClaims> {
        Ok(AccessClaims {
            sub: user.id.clone(),
            user_id: user.id.clone(),
            email: user.email.clone(),
            org_id: user.org_id.clone(),
            token_type: token_type.into(),
            sid: session_id.into(),
            iss: self.issuer()?.into_owned(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + ttl,
            jti: Uuid::new_v4().simple().to_string(),
            amr: Vec::new(),
            auth_time: None,
            login_method: None,
        })
    }

    fn sign(&self, claims: AccessClaims) -> Result<IssuedAccessToken> {
        let keys = self.keys.current();
        let signer = keys
            .signer
            .as_ref()
            .ok_or_else(|| Error::Internal("this process holds no signing key".into()))?;
        let expires_at = claims.exp;
        let token = signer
            .sign(&claims)
            .map_err(|e| Error::Internal(format!("jwt encode: {e}")))?;
        Ok(IssuedAccessToken { token, expires_at })
    }

    /// The claims of a valid access token; `TokenExpired` or `InvalidToken`
    /// otherwise, whatever the reason (the reason is not the caller's business).
    pub async fn verify(&self, token: &str, now: i64) -> Result<AccessClaims> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Error::InvalidToken);
        }
        let header = decode_header(token).map_err(|_| Error::InvalidToken)?;
        // Pinned: the header's `alg` must be the deployment's; `jku`, `x5u`,
        // `jwk` and other header members are never followed.
        if header.alg != self.keys.algorithm().jwt() {
            return Err(Error::InvalidToken);
        }
        let kid = header.kid.ok_or(Error::InvalidToken)?;
        let mut keys = self.keys.current();
        if !keys.verifiers.contains_key(&kid) && self.keys.refresh_for_unknown_kid().await {
            keys = self.keys.current();
        }
        let key = keys.verifiers.get(&kid).ok_or(Error::InvalidToken)?;
        let claims = decode::<AccessClaims>(token, key, &self.validation)
            .map_err(|_| Error::InvalidToken)?
            .claims;
        let known_type =
            [ACCESS_TYPE, MFA_PENDING_TYPE, MFA_ENROLL_TYPE].contains(&claims.token_type.as_str());
        if !known_type || claims.sub != claims.user_id || claims.iss != self.issuer()? {
            return Err(Error::InvalidToken);
        }
        if claims.exp + LEEWAY_SECONDS <= now {
            return Err(Error::TokenExpired);
        }
        if claims.iat > now + LEEWAY_SECONDS {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::key_ring::{KeyRing, KeySource, KeyUse};
    use crate::auth::keys::{KeySet, SigningAlgorithm};
    use crate::model::{ContactDetails, UserStatus};
    use crate::role::Role;

    fn config() -> TokenConfig {
        TokenConfig {
            issuer: Issuer::Fixed("https://issuer.test".into()),
            audience: "aud".into(),
            algorithm: SigningAlgorithm::Es256,
            keys: KeySource::Fixed(KeySet::default()),
            key_refresh_seconds: 300,
            access_ttl_seconds: 3600,
            refresh_ttl_seconds: 100,
            session_max_seconds: 1000,
            reuse_grace_seconds: 10,
        }
    }

    fn key_set(now: i64) -> KeySet {
        let mut set = KeySet::default();
        set.rotate(SigningAlgorithm::Es256, now).unwrap();
        set
    }

    fn tokens(config: &TokenConfig, set: &KeySet) -> AccessTokens {
        let ring = KeyRing::fixed(set.clone(), config.algorithm, KeyUse::BOTH).unwrap();
        AccessTokens::new(config, ring)
    }

    fn user() -> User {
        User {
            id: "u1".into(),
            email: "a@b.co".into(),
            name: "A".into(),
            last_name: "B".into(),
            org_id: "o1".into(),
            org_role: Role::Owner,
            password_hash: String::new(),
            status: UserStatus::Active,
            validated: false,
            mfa_required: false,
            is_business: false,
            contact: ContactDetails::default(),
            created_at: 0,
            updated_at: 0,
            version: 1,
            session_epoch: 0,
            deleted_at: None,
            auth_method: Default::default(),
            mfa_enroll: false,
        }
    }

    fn session(id: &str) -> Session {
        Session {
            id: id.into(),
            user_id: "u1".into(),
            epoch: 0,
            token_hash: String::new(),
            family_hash: String::new(),
            generation: 0,
            rotated_at: None,
            token_expires_at: 0,
            expires_at: 0,
            revoked: false,
            created_at: 900,
            device_info: None,
            ip_address: None,
            login_method: crate::model::LOGIN_METHOD_PASSWORD.into(),
            mfa_at: None,
            mfa_amr: None,
        }
    }

    #[tokio::test]
    async fn issued_tokens_verify_until_they_expire() {
        let tokens = tokens(&config(), &key_set(0));
        let issued = tokens.issue(&user(), &session("s1"), 1000).unwrap();
        assert_eq!(issued.expires_at, 4600);
        let claims = tokens.verify(&issued.token, 1001).await.unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.sid, "s1");
        assert_eq!(claims.token_type, "access");
        assert_eq!(claims.iss, "https://issuer.test");
        assert_eq!(
            (claims.amr, claims.auth_time),
            (vec!["pwd".to_owned()], Some(900))
        );
        assert!(matches!(
            tokens.verify(&issued.token, 4600 + LEEWAY_SECONDS).await,
            Err(Error::TokenExpired)
        ));
    }

    #[tokio::test]
    async fn retired_keys_still_verify_and_unknown_keys_do_not() {
        let mut set = key_set(0);
        let token = tokens(&config(), &set)
            .issue(&user(), &session("s"), 0)
            .unwrap()
            .token;
        let stranger = tokens(&config(), &key_set(0));
        assert!(matches!(
            stranger.verify(&token, 1).await,
            Err(Error::InvalidToken)
        ));
        set.rotate(SigningAlgorithm::Es256, 10).unwrap();
        let rotated = tokens(&config(), &set);
        rotated.verify(&token, 11).await.unwrap();
        let fresh = rotated.issue(&user(), &session("s"), 11).unwrap().token;
        assert_ne!(
            jsonwebtoken::decode_header(&fresh).unwrap().kid,
            jsonwebtoken::decode_header(&token).unwrap().kid
        );
    }

    #[tokio::test]
    async fn wrong_issuer_or_audience_is_refused() {
        let set = key_set(0);
        let token = tokens(&config(), &set)
            .issue(&user(), &session("s"), 0)
            .unwrap()
            .token;
        let mut other = config();
        other.audience = "someone-else".into();
        assert!(matches!(
            tokens(&other, &set).verify(&token, 1).await,
            Err(Error::InvalidToken)
        ));
        let mut other = config();
        other.issuer = Issuer::Fixed("https://someone-else.test".into());
        assert!(matches!(
            tokens(&other, &set).verify(&token, 1).await,
            Err(Error::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn the_request_issuer_is_used_where_none_is_configured() {
        let set = key_set(0);
        let mut config = config();
        config.issuer = Issuer::FromRequest;
        let tokens = tokens(&config, &set);
        assert!(matches!(
            tokens.issue(&user(), &session("s"), 0),
            Err(Error::Internal(_))
        ));
        let here = "https://abc.execute-api.us-east-1.amazonaws.com".to_string();
        let token = REQUEST_ISSUER
            .scope(here.clone(), async {
                tokens.issue(&user(), &session("s"), 0)
            })
            .await
            .unwrap()
            .token;
        let claims = REQUEST_ISSUER
            .scope(here, tokens.verify(&token, 1))
            .await
            .unwrap();
        assert_eq!(
            claims.iss,
            "https://abc.execute-api.us-east-1.amazonaws.com"
        );
        let elsewhere = "https://other.execute-api.us-east-1.amazonaws.com".to_string();
        assert!(matches!(
            REQUEST_ISSUER
                .scope(elsewhere, tokens.verify(&token, 1))
                .await,
            Err(Error::InvalidToken)
        ));
    }
}
