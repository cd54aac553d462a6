//! Refresh tokens: opaque, `<session id>.<generation>.<family secret>.<secret>`,
//! stored only as SHA-256 hashes.
//!
//! - The session id lets the store find the family in one read.
//! - The generation counts the family's rotations: a token whose generation
//!   is older than the family's current one was rotated away, however many
//!   rotations ago, so replaying it is reuse. No list of old hashes, no
//!   horizon.
//! - The family secret is the same in every token of a family (the store
//!   keeps its hash): it proves that an old token really was issued to this
//!   family. Without it, anyone who saw a session id (it is the access
//!   token's `sid` claim) could forge "an old token" and get a stranger's
//!   family revoked.
//! - The secret is fresh at every rotation: only the newest token refreshes.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};

const SECRET_BYTES: usize = 32;
const SECRET_CHARS: usize = 43; // base64url of 32 bytes, unpadded
const SESSION_ID_CHARS: usize = 32; // a simple (hex) uuid
const MAX_GENERATION_DIGITS: usize = 19; // any u64 below 10^19

/// A freshly minted refresh token and the hashes to store.
#[derive(Debug)]
pub struct NewRefreshToken {
    pub token: String,
    /// Hash of the whole token: what the store keeps as the current one.
    pub hash: String,
}

/// A new family's secret (goes into every token of the family) and its hash
/// (what the store keeps).
#[derive(Debug)]
pub struct FamilySecret {
    pub secret: String,
    pub hash: String,
}

/// A well-formed refresh token, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedToken<'a> {
    pub session_id: &'a str,
    pub generation: u64,
    /// The family secret it carries: its successor carries it too.
    pub family_secret: &'a str,
    /// Hash of the family secret it carries.
    pub family_hash: String,
    /// Hash of the whole token.
    pub hash: String,
}

/// Whether `id` has the form of a session id (what `new_session_id` makes).
pub fn is_session_id(id: &str) -> bool {
    id.len() == SESSION_ID_CHARS && id.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn new_session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn random_secret() -> Result<String> {
    let mut secret = [0u8; SECRET_BYTES];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| Error::Internal("random source failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(secret))
}

pub fn new_family_secret() -> Result<FamilySecret> {
    let secret = random_secret()?;
    let hash = hash(&secret);
    Ok(FamilySecret { secret, hash })
}

/// The token of generation `generation` of a family.
pub fn mint(session_id: &str, generation: u64, family_secret: &str) -> Result<NewRefreshToken> {
    let token = format!(
        "{session_id}.{generation}.{family_secret}.{}",
        random_secret()?
    );
    let hash = hash(&token);
    Ok(NewRefreshToken { token, hash })
}

pub fn hash(token: &str) -> String {
    super::digest::sha256_b64url(token)
}

fn is_secret(part: &str) -> bool {
    part.len() == SECRET_CHARS
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A well-formed refresh token's parts; `InvalidRefreshToken` for anything
/// else (an access token included).
pub fn parse(token: &str) -> Result<PresentedToken<'_>> {
    let mut parts = token.split('.');
    let (Some(session_id), Some(generation), Some(family), Some(secret), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(Error::InvalidRefreshToken);
    };
    let well_formed = is_session_id(session_id)
        && !generation.is_empty()
        && generation.len() <= MAX_GENERATION_DIGITS
        && generation.bytes().all(|b| b.is_ascii_digit())
        && is_secret(family)
        && is_secret(secret);
    if !well_formed {
        return Err(Error::InvalidRefreshToken);
    }
    let generation = generation.parse().map_err(|_| Error::InvalidRefreshToken)?;
    Ok(PresentedToken {
        session_id,
        generation,
        family_secret: family,
        family_hash: hash(family),
        hash: hash(token),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_and_hash_stably() {
        let sid = new_session_id();
        let family = new_family_secret().unwrap();
        let a = mint(&sid, 7, &family.secret).unwrap();
        let b = mint(&sid, 7, &family.secret).unwrap();
        assert_ne!(a.token, b.token);
        let parsed = parse(&a.token).unwrap();
        assert_eq!(parsed.session_id, sid);
        assert_eq!(parsed.generation, 7);
        assert_eq!(parsed.family_hash, family.hash);
        assert_eq!(parsed.hash, a.hash);
        assert_eq!(hash(&a.token), a.hash);
        let secret = a.token.rsplit('.').next().unwrap();
        assert!(!a.hash.contains(secret));
        assert!(!family.hash.contains(&family.secret));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let sid = new_session_id();
        let family = new_family_secret().unwrap();
        let good = mint(&sid, 0, &family.secret).unwrap().token;
        let mut bad = vec![
            String::new(),
            "abc".into(),
            "a.b.c".into(),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig".into(),
            // The two-part tokens of earlier releases.
            format!("{sid}.{}", family.secret),
            good.replacen(".0.", ".-1.", 1),
            good.replacen(".0.", "..", 1),
            good.replacen(".0.", ".18446744073709551616.", 1),
            format!("{good}.x"),
            good[..good.len() - 1].to_string(),
        ];
        // A session id with a character that is not lower-case hex.
        bad.push(good.replacen(&sid, &format!("g{}", &sid[1..]), 1));
        for t in &bad {
            assert!(parse(t).is_err(), "{t}");
        }
    }
}
