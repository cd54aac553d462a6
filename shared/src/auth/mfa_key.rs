//! The MFA data key: TOTP secrets sealed with AES-256-GCM (a fresh random
//! nonce per seal, the user id as associated data, so a sealed secret
//! copied onto another user does not open), and backup codes kept as
//! HMAC-SHA256 under a key derived from it (a copy of the table cannot
//! even be searched for a 50-bit code without the key).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use data_encoding::BASE32_NOPAD;

use crate::error::{Error, Result};

pub const KEY_BYTES: usize = 32;
/// Backup codes: 10 base32 characters, 50 random bits each.
pub const BACKUP_CODE_CHARS: usize = 10;
pub const BACKUP_CODE_COUNT: usize = 10;

pub struct MfaKey {
    aead: LessSafeKey,
    codes: hmac::Key,
}

impl std::fmt::Debug for MfaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKey(..)")
    }
}

fn random(bytes: &mut [u8]) -> Result<()> {
    SystemRandom::new()
        .fill(bytes)
        .map_err(|_| Error::Internal("random source failed".into()))
}

impl MfaKey {
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<MfaKey, String> {
        if bytes.len() != KEY_BYTES {
            return Err(format!(
                "expected {KEY_BYTES} bytes (base64), got {}",
                bytes.len()
            ));
        }
        let aead = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| "not an AES-256 key")?;
        let derive = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let codes_key = hmac::sign(&derive, b"flashback-accounts backup codes");
        Ok(MfaKey {
            aead: LessSafeKey::new(aead),
            codes: hmac::Key::new(hmac::HMAC_SHA256, codes_key.as_ref()),
        })
    }

    /// The key as its secret or file holds it: base64 of 32 bytes.
    pub fn from_base64(text: &str) -> std::result::Result<MfaKey, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| "not base64".to_owned())?;
        Self::from_bytes(&bytes)
    }

    /// A new random key, base64 (what a local server keeps in its data dir).
    pub fn generate_base64() -> Result<String> {
        let mut bytes = [0u8; KEY_BYTES];
        random(&mut bytes)?;
        Ok(STANDARD.encode(bytes))
    }

    /// `plaintext` sealed for `user_id`: base64url of nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, user_id: &str, plaintext: &[u8]) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let mut sealed = plaintext.to_vec();
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(user_id.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| Error::Internal("seal failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// What [`seal`](Self::seal) sealed for `user_id`; an error for anything
    /// else (another user's, another key's, altered).
    pub fn open(&self, user_id: &str, sealed: &str) -> Result<Vec<u8>> {
        let failed = || Error::Internal("a sealed MFA secret does not open".into());
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| failed())?;
        if bytes.len() <= NONCE_LEN {
            return Err(failed());
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| failed())?;
        let mut rest = rest.to_vec();
        let plain = self
            .aead
            .open_in_place(nonce, Aad::from(user_id.as_bytes()), &mut rest)
            .map_err(|_| failed())?;
        Ok(plain.to_vec())
    }

    /// What the store keeps of a backup code of `user_id`.
    pub fn backup_code_hash(&self, user_id: &str, code: &str) -> String {
        let mut context = hmac::Context::with_key(&self.codes);
        context.update(user_id.as_bytes());
        context.update(b"\0");
        context.update(normalize_backup_code(code).as_bytes());
        URL_SAFE_NO_PAD.encode(context.sign())
    }
}

/// The MFA key file a local server keeps in its data directory.
pub const MFA_KEY_FILE: &str = "mfa-key";

/// Makes a key file at `path` (owner-only) unless one is there: of two
/// processes making it, the second keeps the first's.
pub fn ensure_key_file(path: &std::path::Path) -> std::result::Result<(), String> {
    let failed = |e: std::io::Error| format!("MFA key file {}: {e}", path.display());
    if path.exists() {
        return Ok(());
    }
    let key = MfaKey::generate_base64().map_err(|e| e.to_string())?;
    super::key_ring::write_new_private_file(path, key.as_bytes()).map_err(failed)
}

/// Ten fresh backup codes, shown as `ABCDE-FGHIJ`.
pub fn new_backup_codes() -> Result<Vec<String>> {
    (0..BACKUP_CODE_COUNT)
        .map(|_| {
            // 7 bytes = 56 bits; the first 10 base32 characters carry 50.
            let mut bytes = [0u8; 7];
            random(&mut bytes)?;
            let text = BASE32_NOPAD.encode(&bytes);
            let code = &text[..BACKUP_CODE_CHARS];
            Ok(format!("{}-{}", &code[..5], &code[5..]))
        })
        .collect()
}

/// As typed: case, spaces and hyphens do not matter.
pub fn normalize_backup_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whether `code` could be a backup code at all (before any hashing).
pub fn looks_like_backup_code(code: &str) -> bool {
    code.len() <= 32 && normalize_backup_code(code).len() == BACKUP_CODE_CHARS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MfaKey {
        MfaKey::from_base64(&MfaKey::generate_base64().unwrap()).unwrap()
    }

    #[test]
    fn sealed_secrets_open_only_for_their_user_and_key() {
        let key = key();
        let sealed = key.seal("u1", b"secret bytes").unwrap();
        assert_eq!(key.open("u1", &sealed).unwrap(), b"secret bytes");
        assert!(key.open("u2", &sealed).is_err(), "the user id is bound");
        assert!(self::key().open("u1", &sealed).is_err(), "another key");
        assert_ne!(
            key.seal("u1", b"secret bytes").unwrap(),
            sealed,
            "fresh nonce"
        );
        let mut altered = sealed.into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            key.open("u1", &String::from_utf8(altered).unwrap())
                .is_err()
        );
    }

    #[test]
    fn backup_codes_are_ten_distinct_50_bit_codes_hashed_per_user() {
        let key = key();
        let codes = new_backup_codes().unwrap();
        assert_eq!(codes.len(), 10);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), 10);
        for code in &codes {
            assert!(looks_like_backup_code(code), "{code}");
            assert_eq!(code.len(), 11);
        }
        let typed = codes[0].to_lowercase().replace('-', " ");
        assert_eq!(
            key.backup_code_hash("u1", &typed),
            key.backup_code_hash("u1", &codes[0])
        );
        assert_ne!(
            key.backup_code_hash("u2", &codes[0]),
            key.backup_code_hash("u1", &codes[0])
        );
        assert!(!looks_like_backup_code("123456"));
        assert!(MfaKey::from_base64("c2hvcnQ=").is_err());
    }
}
