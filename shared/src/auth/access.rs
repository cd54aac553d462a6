//! Access tokens: HS256 JWTs with a pinned algorithm, a `kid` naming the key,
//! and `iss`, `aud`, `exp` and `type` all checked.

use std::collections::HashMap;

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::TokenConfig;
use crate::error::{Error, Result};
use crate::model::User;

const ALGORITHM: Algorithm = Algorithm::HS256;
const ACCESS_TYPE: &str = "access";
/// Tolerated clock skew between signer and verifier.
const LEEWAY_SECONDS: i64 = 30;
/// No honest token comes near this; a bigger one is refused before parsing.
const MAX_TOKEN_BYTES: usize = 4096;

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
}

#[derive(Debug, Clone)]
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_at: i64,
}

pub struct AccessTokens {
    issuer: String,
    audience: String,
    ttl_seconds: i64,
    signing_kid: String,
    encoding_key: EncodingKey,
    decoding_keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl AccessTokens {
    pub fn new(config: &TokenConfig) -> AccessTokens {
        let mut decoding_keys = HashMap::new();
        for key in std::iter::once(&config.signing_key).chain(&config.verification_keys) {
            decoding_keys
                .entry(key.kid.clone())
                .or_insert_with(|| DecodingKey::from_secret(&key.secret));
        }
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked against the service's clock below, so that it
        // agrees with every other time decision the service makes.
        validation.validate_exp = false;
        AccessTokens {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl_seconds: config.access_ttl_seconds,
            signing_kid: config.signing_key.kid.clone(),
            encoding_key: EncodingKey::from_secret(&config.signing_key.secret),
            decoding_keys,
            validation,
        }
    }

    pub fn issue(&self, user: &User, session_id: &str, now: i64) -> Result<IssuedAccessToken> {
        let expires_at = now + self.ttl_seconds;
        let claims = AccessClaims {
            sub: user.id.clone(),
            user_id: user.id.clone(),
            email: user.email.clone(),
            org_id: user.org_id.clone(),
            token_type: ACCESS_TYPE.into(),
            sid: session_id.into(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: expires_at,
            jti: Uuid::new_v4().simple().to_string(),
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.signing_kid.clone());
        let token = encode(&header, &claims, &self.encoding_key)
            .map_err(|e| Error::Internal(format!("jwt encode: {e}")))?;
        Ok(IssuedAccessToken { token, expires_at })
    }

    /// The claims of a valid access token; `TokenExpired` or `InvalidToken`
    /// otherwise, whatever the reason (the reason is not the caller's business).
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Error::InvalidToken);
        }
        let header = decode_header(token).map_err(|_| Error::InvalidToken)?;
        if header.alg != ALGORITHM {
            return Err(Error::InvalidToken);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.decoding_keys.get(kid))
            .ok_or(Error::InvalidToken)?;
        let claims = decode::<AccessClaims>(token, key, &self.validation)
            .map_err(|_| Error::InvalidToken)?
            .claims;
        if claims.token_type != ACCESS_TYPE || claims.sub != claims.user_id {
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
    use crate::config::SigningKey;
    use crate::model::{ContactDetails, UserStatus};
    use crate::role::Role;

    fn config(kid: &str, secret: &str) -> TokenConfig {
        TokenConfig {
            issuer: "iss".into(),
            audience: "aud".into(),
            signing_key: SigningKey {
                kid: kid.into(),
                secret: secret.as_bytes().to_vec(),
            },
            verification_keys: vec![],
            access_ttl_seconds: 3600,
            refresh_ttl_seconds: 100,
            session_max_seconds: 1000,
            reuse_grace_seconds: 10,
        }
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
        }
    }

    const K1: &str = "0123456789abcdef0123456789abcdef";
    const K2: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let tokens = AccessTokens::new(&config("k1", K1));
        let issued = tokens.issue(&user(), "s1", 1000).unwrap();
        assert_eq!(issued.expires_at, 4600);
        let claims = tokens.verify(&issued.token, 1001).unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.sid, "s1");
        assert_eq!(claims.token_type, "access");
        assert!(matches!(
            tokens.verify(&issued.token, 4600 + LEEWAY_SECONDS),
            Err(Error::TokenExpired)
        ));
    }

    #[test]
    fn rotated_keys_still_verify_and_unknown_keys_do_not() {
        let old = AccessTokens::new(&config("old", K2));
        let token = old.issue(&user(), "s", 0).unwrap().token;
        let mut cfg = config("new", K1);
        assert!(matches!(
            AccessTokens::new(&cfg).verify(&token, 1),
            Err(Error::InvalidToken)
        ));
        cfg.verification_keys.push(SigningKey {
            kid: "old".into(),
            secret: K2.as_bytes().to_vec(),
        });
        AccessTokens::new(&cfg).verify(&token, 1).unwrap();
    }

    #[test]
    fn wrong_issuer_or_audience_is_refused() {
        let token = AccessTokens::new(&config("k1", K1))
            .issue(&user(), "s", 0)
            .unwrap()
            .token;
        let mut other = config("k1", K1);
        other.audience = "someone-else".into();
        assert!(AccessTokens::new(&other).verify(&token, 1).is_err());
        let mut other = config("k1", K1);
        other.issuer = "someone-else".into();
        assert!(AccessTokens::new(&other).verify(&token, 1).is_err());
    }
}
