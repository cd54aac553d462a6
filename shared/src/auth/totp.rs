//! TOTP (RFC 6238 over RFC 4226's HOTP) on aws-lc-rs's HMAC: SHA-1, 6
//! digits, 30-second steps. About thirty lines, so no TOTP crate and no
//! second crypto stack (the ones on crates.io bring RustCrypto's sha1 and
//! hmac); the RFCs' own test vectors below hold it to the standard.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use data_encoding::BASE32_NOPAD;

use crate::error::{Error, Result};

/// Seconds per step (RFC 6238's default, what authenticator apps use).
pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// 160 bits: RFC 4226's recommended secret length.
pub const SECRET_BYTES: usize = 20;

/// RFC 4226's HOTP value of `counter`, `digits` long.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    // Dynamic truncation (RFC 4226, 5.3).
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    binary % 10u32.pow(digits)
}

/// The step that contains `now`.
pub fn step_at(now: i64) -> i64 {
    now.div_euclid(STEP_SECONDS)
}

/// The code of `step`, zero-padded: what an authenticator app shows.
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    let value = hotp(secret, step.max(0) as u64, DIGITS);
    format!("{value:0width$}", width = DIGITS as usize)
}

/// The code an authenticator app shows at `now`.
pub fn code_at(secret: &[u8], now: i64) -> String {
    code_at_step(secret, step_at(now))
}

/// The step (`now`'s, or one either way for clock drift) whose code is
/// `code`; the latest such step when several match. Every candidate is
/// compared, in constant time, so timing says nothing about which matched.
pub fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        let expected = code_at_step(secret, step);
        if aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), code.as_bytes())
            .is_ok()
        {
            found = Some(step);
        }
    }
    found
}

/// A fresh random secret.
pub fn new_secret() -> Result<[u8; SECRET_BYTES]> {
    let mut secret = [0u8; SECRET_BYTES];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| Error::Internal("random source failed".into()))?;
    Ok(secret)
}

/// The secret as authenticator apps take it: RFC 4648 base32, unpadded
/// (32 characters for 160 bits).
pub fn encode_secret(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// A base32 secret back to bytes (spaces and case ignored, as apps show it).
pub fn decode_secret(text: &str) -> Option<Vec<u8>> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    BASE32_NOPAD
        .decode(cleaned.trim_end_matches('=').as_bytes())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4226 appendix D: the HOTP values of counters 0..=9.
    #[test]
    fn hotp_matches_rfc_4226() {
        let secret = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64, 6), value, "counter {counter}");
        }
    }

    /// RFC 6238 appendix B, the SHA-1 rows (8 digits there).
    #[test]
    fn totp_matches_rfc_6238() {
        let secret = b"12345678901234567890";
        for (time, value) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(secret, step_at(time) as u64, 8), value, "time {time}");
        }
        assert_eq!(code_at(secret, 59), "287082");
    }

    #[test]
    fn one_step_either_way_matches_and_no_further() {
        let secret = b"12345678901234567890";
        let now = 1_800_000_015;
        let step = step_at(now);
        for s in [step - 1, step, step + 1] {
            assert_eq!(
                matching_step(secret, &code_at_step(secret, s), now),
                Some(s)
            );
        }
        for s in [step - 2, step + 2] {
            let code = code_at_step(secret, s);
            let near = [step - 1, step, step + 1].map(|n| code_at_step(secret, n));
            if !near.contains(&code) {
                assert_eq!(matching_step(secret, &code, now), None);
            }
        }
        assert_eq!(matching_step(secret, "12345", now), None);
        assert_eq!(matching_step(secret, "12345a", now), None);
    }

    #[test]
    fn secrets_round_trip_through_base32() {
        let secret = new_secret().unwrap();
        let text = encode_secret(&secret);
        assert_eq!(text.len(), 32);
        assert_eq!(decode_secret(&text.to_lowercase()).unwrap(), secret);
        assert_ne!(new_secret().unwrap(), secret);
    }
}
