//! Refresh tokens: opaque, `<session id>.<256 random bits>`, stored only as a
//! SHA-256 hash. The session id lets the store find the family in one read;
//! the secret part is what proves possession.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};

const SECRET_BYTES: usize = 32;
const SECRET_CHARS: usize = 43; // base64url of 32 bytes, unpadded
const SESSION_ID_CHARS: usize = 32; // a simple (hex) uuid

/// A freshly minted refresh token and the hash to store.
#[derive(Debug)]
pub struct NewRefreshToken {
    pub token: String,
    pub hash: String,
}

pub fn new_session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn mint(session_id: &str) -> Result<NewRefreshToken> {
    let mut secret = [0u8; SECRET_BYTES];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| Error::Internal("random source failed".into()))?;
    let token = format!("{session_id}.{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = hash(&token);
    Ok(NewRefreshToken { token, hash })
}

pub fn hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes()))
}

/// The session id of a well-formed refresh token; `InvalidRefreshToken` for
/// anything else (an access token included).
pub fn session_id_of(token: &str) -> Result<&str> {
    let (session_id, secret) = token.split_once('.').ok_or(Error::InvalidRefreshToken)?;
    let well_formed = session_id.len() == SESSION_ID_CHARS
        && session_id.bytes().all(|b| b.is_ascii_hexdigit())
        && secret.len() == SECRET_CHARS
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if well_formed {
        Ok(session_id)
    } else {
        Err(Error::InvalidRefreshToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_and_hash_stably() {
        let sid = new_session_id();
        let a = mint(&sid).unwrap();
        let b = mint(&sid).unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(session_id_of(&a.token).unwrap(), sid);
        assert_eq!(hash(&a.token), a.hash);
        assert!(!a.hash.contains(a.token.split('.').nth(1).unwrap()));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for t in [
            "",
            "abc",
            "a.b.c",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        ] {
            assert!(session_id_of(t).is_err(), "{t}");
        }
    }
}
