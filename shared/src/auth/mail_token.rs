//! Mailed tokens: base64url of the user's id (16 bytes) and 256 random
//! bits, stored only as a SHA-256 hash. The user id lets the store read the
//! account and its outstanding tokens in one request; the random part is
//! what proves that the mail was read.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::auth::digest;
use crate::error::{Error, Result};

const SECRET_BYTES: usize = 32;
const TOKEN_BYTES: usize = 16 + SECRET_BYTES;
/// base64url of 48 bytes, unpadded.
const TOKEN_CHARS: usize = 64;
/// A presented token longer than this (twice any minted) is refused
/// before anything is read or counted.
pub const MAX_PRESENTED_CHARS: usize = 128;

#[derive(Debug)]
pub struct NewMailToken {
    pub token: String,
    pub hash: String,
}

pub fn mint(user_id: &str) -> Result<NewMailToken> {
    let user = Uuid::parse_str(user_id)
        .map_err(|_| Error::Internal("a user id that is not a uuid".into()))?;
    let mut bytes = [0u8; TOKEN_BYTES];
    bytes[..16].copy_from_slice(user.as_bytes());
    SystemRandom::new()
        .fill(&mut bytes[16..])
        .map_err(|_| Error::Internal("random source failed".into()))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    Ok(NewMailToken { token, hash })
}

pub fn hash(token: &str) -> String {
    digest::sha256_b64url(token)
}

/// The user id inside a well-formed token; None for anything else.
pub fn user_id_of(token: &str) -> Option<String> {
    if token.len() != TOKEN_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let user: [u8; 16] = bytes.get(..16)?.try_into().ok()?;
    Some(Uuid::from_bytes(user).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_carry_their_user_and_differ() {
        let user = Uuid::new_v4().to_string();
        let a = mint(&user).unwrap();
        let b = mint(&user).unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(user_id_of(&a.token).as_deref(), Some(user.as_str()));
        assert_eq!(hash(&a.token), a.hash);
        assert_eq!(a.token.len(), TOKEN_CHARS);
    }

    #[test]
    fn malformed_tokens_have_no_user() {
        let long = "A".repeat(TOKEN_CHARS + 1);
        let bad_char = format!("{}*", "A".repeat(TOKEN_CHARS - 1));
        for t in ["", "abc", long.as_str(), bad_char.as_str()] {
            assert_eq!(user_id_of(t), None, "{t}");
        }
    }
}
