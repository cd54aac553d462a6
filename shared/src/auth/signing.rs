//! Signing access tokens with a key pair parsed once, when the key set is
//! loaded, and used for every token after.
//!
//! `jsonwebtoken::encode` rebuilds its signer from the key's bytes on every
//! call: for RSA that is a DER parse and aws-lc's full key check
//! (`RSA_check_key`) per token, and the key's Montgomery contexts and
//! blinding, which aws-lc caches inside the key, die with it each time. Here
//! the aws-lc key pair lives as long as the loaded keys, so that work is done
//! once per instance and key. The compact JWS is the one `jsonwebtoken`
//! makes (its own `Header` serialised the same way, base64url without
//! padding), so every verifier, ours included, reads it as before.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Serialize;

/// The algorithms this service signs with. API Gateway's JWT authorizer
/// accepts only RSA, hence the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    #[default]
    Rs256,
    Es256,
}

impl SigningAlgorithm {
    pub fn parse(name: &str) -> Option<SigningAlgorithm> {
        match name {
            "RS256" => Some(SigningAlgorithm::Rs256),
            "ES256" => Some(SigningAlgorithm::Es256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Es256 => "ES256",
        }
    }

    pub fn jwt(self) -> Algorithm {
        match self {
            SigningAlgorithm::Rs256 => Algorithm::RS256,
            SigningAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

/// What the key ring signs with: one key, parsed and checked.
pub struct SigningKey {
    kid: String,
    pair: Pair,
    /// The token's first part, the same for every token this key signs.
    encoded_header: String,
    rng: SystemRandom,
}

pub(super) enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl Pair {
    fn algorithm(&self) -> SigningAlgorithm {
        match self {
            Pair::Rsa(_) => SigningAlgorithm::Rs256,
            Pair::Ec(_) => SigningAlgorithm::Es256,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("cannot encode the token's {0}")]
    Encoding(&'static str),
    #[error("signing failed")]
    Signing,
}

impl SigningKey {
    pub(super) fn new(kid: &str, pair: Pair) -> Result<SigningKey, SigningError> {
        let mut header = jsonwebtoken::Header::new(pair.algorithm().jwt());
        header.kid = Some(kid.to_owned());
        Ok(SigningKey {
            kid: kid.to_owned(),
            pair,
            encoded_header: encode_part(&header, "header")?,
            rng: SystemRandom::new(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.pair.algorithm()
    }

    /// `claims` as a compact JWS: header, claims and signature, each base64url.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, SigningError> {
        let mut token = String::with_capacity(1024);
        token.push_str(&self.encoded_header);
        token.push('.');
        token.push_str(&encode_part(claims, "claims")?);
        let signature = match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &self.rng,
                    token.as_bytes(),
                    &mut signature,
                )
                .map_err(|_| SigningError::Signing)?;
                signature
            }
            Pair::Ec(pair) => pair
                .sign(&self.rng, token.as_bytes())
                .map_err(|_| SigningError::Signing)?
                .as_ref()
                .to_vec(),
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}

fn encode_part<T: Serialize>(value: &T, part: &'static str) -> Result<String, SigningError> {
    let json = serde_json::to_vec(value).map_err(|_| SigningError::Encoding(part))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Header, Validation, decode, encode};

    use crate::auth::keys::{Jwk, SigningAlgorithm};

    fn claims() -> serde_json::Value {
        serde_json::json!({"sub": "u1", "email": "ada@acme.com", "exp": 4_000_000_000i64})
    }

    fn header(algorithm: SigningAlgorithm, kid: &str) -> Header {
        let mut header = Header::new(algorithm.jwt());
        header.kid = Some(kid.into());
        header
    }

    #[test]
    fn rs256_tokens_are_the_ones_jsonwebtoken_made() {
        // PKCS#1 v1.5 signatures are deterministic: same key, same bytes.
        let jwk = Jwk::generate(SigningAlgorithm::Rs256, "k1", 0).unwrap();
        let ours = jwk.signing_key().unwrap().sign(&claims()).unwrap();
        let theirs = encode(
            &header(SigningAlgorithm::Rs256, "k1"),
            &claims(),
            &jwk.encoding_key().unwrap(),
        )
        .unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn es256_tokens_verify_with_the_published_key_and_share_jsonwebtokens_header() {
        let jwk = Jwk::generate(SigningAlgorithm::Es256, "k2", 0).unwrap();
        let key = jwk.signing_key().unwrap();
        assert_eq!(
            (key.kid(), key.algorithm()),
            ("k2", SigningAlgorithm::Es256)
        );
        let decoding = jwk.public().decoding_key().unwrap();
        let mut validation = Validation::new(SigningAlgorithm::Es256.jwt());
        validation.required_spec_claims.clear();
        let theirs = encode(
            &header(SigningAlgorithm::Es256, "k2"),
            &claims(),
            &jwk.encoding_key().unwrap(),
        )
        .unwrap();
        // ECDSA signatures are randomized: two signatures of one token differ.
        let (first, second) = (key.sign(&claims()).unwrap(), key.sign(&claims()).unwrap());
        assert_ne!(first, second);
        for token in [&first, &second] {
            let decoded = decode::<serde_json::Value>(token, &decoding, &validation).unwrap();
            assert_eq!(decoded.claims, claims());
            assert_eq!(decoded.header.kid.as_deref(), Some("k2"));
            let prefix = |t: &str| t.rsplit_once('.').map(|(signed, _)| signed.to_owned());
            assert_eq!(
                prefix(token),
                prefix(&theirs),
                "header and claims as before"
            );
        }
        // Another key's published half does not verify them.
        let other = Jwk::generate(SigningAlgorithm::Es256, "k2", 0).unwrap();
        let wrong = other.public().decoding_key().unwrap();
        assert!(decode::<serde_json::Value>(&first, &wrong, &validation).is_err());
    }

    #[test]
    fn public_keys_cannot_sign() {
        let jwk = Jwk::generate(SigningAlgorithm::Rs256, "k3", 0).unwrap();
        let error = jwk.public().signing_key().err().unwrap();
        assert!(error.to_string().contains("no private key"), "{error}");
    }
}
