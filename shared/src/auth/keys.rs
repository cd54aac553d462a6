//! Signing keys as JSON Web Keys (RFC 7517, 7518): generated here, checked
//! when loaded, and turned into the key pair the service signs with and what
//! `jsonwebtoken` verifies with.
//!
//! A private key set is what Secrets Manager (or the local key file) holds:
//! the signing key and the retired keys whose tokens may still be alive, in
//! the standard JWK private members (`d`, `p`, `q`, … for RSA; `d` for EC),
//! so that any JOSE tool can read or produce one. Two members are ours:
//! `createdAt` and `retiredAt` (Unix seconds), which rotation and pruning use.
//! The public set is derived from it and holds only public members.

use std::fmt;

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use pkcs1::der::{Decode, Encode};
use serde::{Deserialize, Serialize};

pub use super::signing::SigningAlgorithm;
use super::signing::{Pair, SigningKey};

/// RSA keys below this are refused (NIST SP 800-131A; RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key {kid:?}: {reason}")]
    Invalid { kid: String, reason: String },
    #[error("not a JWK set: {0}")]
    NotAKeySet(String),
    #[error("the key set holds no active {0} signing key")]
    NoSigningKey(&'static str),
    #[error("the key set holds no {0} key to verify with")]
    NoVerificationKey(&'static str),
    #[error("key generation failed")]
    Generation,
}

fn invalid(kid: &str, reason: impl Into<String>) -> KeyError {
    KeyError::Invalid {
        kid: kid.to_owned(),
        reason: reason.into(),
    }
}

/// One JSON Web Key: public members always, private members in the private
/// set only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub kid: String,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    #[serde(default)]
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(rename = "retiredAt", default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private", &self.d.is_some())
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(kid: &str, member: &str, value: Option<&String>) -> Result<Vec<u8>, KeyError> {
    let value = value.ok_or_else(|| invalid(kid, format!("member {member} is missing")))?;
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| invalid(kid, format!("member {member} is not base64url")))
}

/// Big-endian unsigned integers as RFC 7518 writes them: no leading zeros.
fn minimal(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

impl Jwk {
    /// A fresh key pair for `algorithm`, named `kid`.
    pub fn generate(algorithm: SigningAlgorithm, kid: &str, now: i64) -> Result<Jwk, KeyError> {
        let mut jwk = match algorithm {
            SigningAlgorithm::Rs256 => generate_rsa(kid)?,
            SigningAlgorithm::Es256 => generate_ec(kid)?,
        };
        jwk.created_at = Some(now);
        Ok(jwk)
    }

    pub fn is_private(&self) -> bool {
        self.d.is_some()
    }

    /// The same key with its private members (and our bookkeeping) removed.
    pub fn public(&self) -> Jwk {
        Jwk {
            kty: self.kty.clone(),
            kid: self.kid.clone(),
            key_use: Some("sig".into()),
            alg: self.alg.clone(),
            n: self.n.clone(),
            e: self.e.clone(),
            crv: self.crv.clone(),
            x: self.x.clone(),
            y: self.y.clone(),
            ..Jwk::default()
        }
    }

    fn algorithm(&self) -> Result<SigningAlgorithm, KeyError> {
        let algorithm = SigningAlgorithm::parse(&self.alg)
            .ok_or_else(|| invalid(&self.kid, format!("unsupported alg {:?}", self.alg)))?;
        let kty = match algorithm {
            SigningAlgorithm::Rs256 => "RSA",
            SigningAlgorithm::Es256 => "EC",
        };
        if self.kty != kty {
            return Err(invalid(
                &self.kid,
                format!("alg {} needs kty {kty}", self.alg),
            ));
        }
        if self.key_use.as_deref().is_some_and(|u| u != "sig") {
            return Err(invalid(&self.kid, "use is not sig"));
        }
        Ok(algorithm)
    }

    /// The checked key pair the service signs with, parsed once (see
    /// [`SigningKey`]); refuses public-only, inconsistent or weak keys.
    pub fn signing_key(&self) -> Result<SigningKey, KeyError> {
        let pair = match self.private_algorithm()? {
            SigningAlgorithm::Rs256 => Pair::Rsa(self.rsa_key_pair()?.1),
            SigningAlgorithm::Es256 => Pair::Ec(self.ec_key_pair()?),
        };
        SigningKey::new(&self.kid, pair).map_err(|e| invalid(&self.kid, e.to_string()))
    }

    /// What `jsonwebtoken` signs with (the tests' independent signer); the
    /// same checks as [`Jwk::signing_key`].
    pub fn encoding_key(&self) -> Result<EncodingKey, KeyError> {
        match self.private_algorithm()? {
            SigningAlgorithm::Rs256 => Ok(EncodingKey::from_rsa_der(&self.rsa_key_pair()?.0)),
            SigningAlgorithm::Es256 => {
                let document = self
                    .ec_key_pair()?
                    .to_pkcs8v1()
                    .map_err(|_| invalid(&self.kid, "cannot encode the EC key"))?;
                Ok(EncodingKey::from_ec_der(document.as_ref()))
            }
        }
    }

    fn private_algorithm(&self) -> Result<SigningAlgorithm, KeyError> {
        if !self.is_private() {
            return Err(invalid(
                &self.kid,
                "holds no private key (a public key set where a private one is needed?)",
            ));
        }
        self.algorithm()
    }

    /// What `jsonwebtoken` verifies with; refuses weak keys and wrong curves.
    pub fn decoding_key(&self) -> Result<DecodingKey, KeyError> {
        match self.algorithm()? {
            SigningAlgorithm::Rs256 => {
                let n = unb64(&self.kid, "n", self.n.as_ref())?;
                let e = unb64(&self.kid, "e", self.e.as_ref())?;
                let bits = minimal(&n).len() * 8;
                if bits < MIN_RSA_BITS {
                    return Err(invalid(
                        &self.kid,
                        format!("RSA modulus of about {bits} bits; at least {MIN_RSA_BITS} needed"),
                    ));
                }
                Ok(DecodingKey::from_rsa_raw_components(&n, &e))
            }
            SigningAlgorithm::Es256 => {
                let point = self.ec_public_point()?;
                // Parsing checks that the point is on the curve.
                aws_lc_rs::signature::ParsedPublicKey::new(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                    &point,
                )
                .map_err(|_| invalid(&self.kid, "not a P-256 public key"))?;
                let (x, y) = (self.x.as_deref(), self.y.as_deref());
                DecodingKey::from_ec_components(x.unwrap_or(""), y.unwrap_or(""))
                    .map_err(|_| invalid(&self.kid, "bad EC coordinates"))
            }
        }
    }

    /// The RSAPrivateKey DER and the pair aws-lc parsed (and checked) from it.
    fn rsa_key_pair(&self) -> Result<(Vec<u8>, RsaKeyPair), KeyError> {
        let kid = &self.kid;
        let members = [
            ("n", &self.n),
            ("e", &self.e),
            ("d", &self.d),
            ("p", &self.p),
            ("q", &self.q),
            ("dp", &self.dp),
            ("dq", &self.dq),
            ("qi", &self.qi),
        ];
        let mut values = Vec::with_capacity(members.len());
        for (name, value) in members {
            values.push(unb64(kid, name, value.as_ref())?);
        }
        fn uint<'a>(kid: &str, bytes: &'a [u8]) -> Result<pkcs1::UintRef<'a>, KeyError> {
            pkcs1::UintRef::new(minimal(bytes)).map_err(|_| invalid(kid, "bad RSA integer"))
        }
        let key = pkcs1::RsaPrivateKey {
            modulus: uint(kid, &values[0])?,
            public_exponent: uint(kid, &values[1])?,
            private_exponent: uint(kid, &values[2])?,
            prime1: uint(kid, &values[3])?,
            prime2: uint(kid, &values[4])?,
            exponent1: uint(kid, &values[5])?,
            exponent2: uint(kid, &values[6])?,
            coefficient: uint(kid, &values[7])?,
            other_prime_infos: None,
        };
        let der = key
            .to_der()
            .map_err(|_| invalid(kid, "cannot encode the RSA key"))?;
        // aws-lc checks the key's consistency (the primes, the exponents).
        let pair = RsaKeyPair::from_der(&der).map_err(|e| {
            invalid(
                kid,
                format!(
                    "RSA key rejected ({e}): it must be consistent and at least \
                         {MIN_RSA_BITS} bits"
                ),
            )
        })?;
        let bits = pair.public_modulus_len() * 8;
        if bits < MIN_RSA_BITS {
            return Err(invalid(
                kid,
                format!("RSA key of {bits} bits; at least {MIN_RSA_BITS} needed"),
            ));
        }
        Ok((der, pair))
    }

    fn ec_public_point(&self) -> Result<Vec<u8>, KeyError> {
        if self.crv.as_deref() != Some("P-256") {
            return Err(invalid(&self.kid, "ES256 needs curve P-256"));
        }
        let x = unb64(&self.kid, "x", self.x.as_ref())?;
        let y = unb64(&self.kid, "y", self.y.as_ref())?;
        if x.len() != 32 || y.len() != 32 {
            return Err(invalid(&self.kid, "P-256 coordinates are 32 bytes each"));
        }
        let mut point = Vec::with_capacity(65);
        point.push(0x04);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        Ok(point)
    }

    fn ec_key_pair(&self) -> Result<EcdsaKeyPair, KeyError> {
        let point = self.ec_public_point()?;
        let d = unb64(&self.kid, "d", self.d.as_ref())?;
        EcdsaKeyPair::from_private_key_and_public_key(&ECDSA_P256_SHA256_FIXED_SIGNING, &d, &point)
            .map_err(|e| invalid(&self.kid, format!("EC key rejected: {e}")))
    }
}

fn generate_rsa(kid: &str) -> Result<Jwk, KeyError> {
    let pair =
        aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?;
    let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
        .map_err(|_| KeyError::Generation)?;
    let info = pkcs8::PrivateKeyInfo::from_der(pkcs8.as_ref()).map_err(|_| KeyError::Generation)?;
    let key = pkcs1::RsaPrivateKey::from_der(info.private_key).map_err(|_| KeyError::Generation)?;
    let member = |value: pkcs1::UintRef<'_>| Some(b64(value.as_bytes()));
    Ok(Jwk {
        kty: "RSA".into(),
        kid: kid.into(),
        key_use: Some("sig".into()),
        alg: "RS256".into(),
        n: member(key.modulus),
        e: member(key.public_exponent),
        d: member(key.private_exponent),
        p: member(key.prime1),
        q: member(key.prime2),
        dp: member(key.exponent1),
        dq: member(key.exponent2),
        qi: member(key.coefficient),
        ..Jwk::default()
    })
}

fn generate_ec(kid: &str) -> Result<Jwk, KeyError> {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| KeyError::Generation)?;
    let d = pair
        .private_key()
        .as_be_bytes()
        .map_err(|_| KeyError::Generation)?;
    let point = pair.public_key().as_ref();
    if point.len() != 65 || point[0] != 0x04 {
        return Err(KeyError::Generation);
    }
    Ok(Jwk {
        kty: "EC".into(),
        kid: kid.into(),
        key_use: Some("sig".into()),
        alg: "ES256".into(),
        crv: Some("P-256".into()),
        x: Some(b64(&point[1..33])),
        y: Some(b64(&point[33..65])),
        d: Some(b64(d.as_ref())),
        ..Jwk::default()
    })
}

/// A JWK set (`{"keys": […]}`), private or public.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySet {
    pub keys: Vec<Jwk>,
}

impl KeySet {
    pub fn parse(text: &str) -> Result<KeySet, KeyError> {
        // serde's message may quote the input; say only where it failed.
        serde_json::from_str(text)
            .map_err(|e| KeyError::NotAKeySet(format!("line {}, column {}", e.line(), e.column())))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The key that signs: the newest one not retired.
    pub fn active(&self) -> Option<&Jwk> {
        self.keys
            .iter()
            .filter(|k| k.retired_at.is_none())
            .max_by_key(|k| k.created_at.unwrap_or(i64::MIN))
    }

    /// Every key's public half, as `/.well-known/jwks.json` publishes it.
    pub fn public(&self) -> KeySet {
        KeySet {
            keys: self.keys.iter().map(Jwk::public).collect(),
        }
    }

    /// Makes a new signing key and retires the current one, which stays in
    /// the set (and so in the JWKS) until pruned. Returns the new key's id.
    pub fn rotate(&mut self, algorithm: SigningAlgorithm, now: i64) -> Result<String, KeyError> {
        let kid = new_kid(algorithm, now);
        let key = Jwk::generate(algorithm, &kid, now)?;
        for old in self.keys.iter_mut().filter(|k| k.retired_at.is_none()) {
            old.retired_at = Some(now);
        }
        self.keys.insert(0, key);
        Ok(kid)
    }

    /// Drops the keys retired long enough ago that every token they signed
    /// has expired (`token_lifetime`, clock leeway included). Returns their ids.
    pub fn prune(&mut self, now: i64, token_lifetime: i64) -> Vec<String> {
        let (gone, kept): (Vec<Jwk>, Vec<Jwk>) = self
            .keys
            .drain(..)
            .partition(|k| k.retired_at.is_some_and(|at| at + token_lifetime < now));
        self.keys = kept;
        gone.into_iter().map(|k| k.kid).collect()
    }
}

/// A key id that sorts by time and says what it is: `rs256-20261127-1a2b3c`.
fn new_kid(algorithm: SigningAlgorithm, now: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(now)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!(
        "{}-{:04}{:02}{:02}-{suffix}",
        algorithm.name().to_ascii_lowercase(),
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify_through_their_jwks() {
        for algorithm in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let jwk = Jwk::generate(algorithm, "k1", 0).unwrap();
            let encoding = jwk.encoding_key().unwrap();
            let decoding = jwk.public().decoding_key().unwrap();
            let mut header = jsonwebtoken::Header::new(algorithm.jwt());
            header.kid = Some("k1".into());
            let claims = serde_json::json!({"sub": "u", "exp": 4_000_000_000i64});
            let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
            let mut validation = jsonwebtoken::Validation::new(algorithm.jwt());
            validation.required_spec_claims.clear();
            jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).unwrap();
        }
    }

    #[test]
    fn public_halves_carry_no_private_member() {
        let jwk = Jwk::generate(SigningAlgorithm::Rs256, "k1", 0).unwrap();
        let public = serde_json::to_value(jwk.public()).unwrap();
        for member in ["d", "p", "q", "dp", "dq", "qi", "createdAt", "retiredAt"] {
            assert!(public.get(member).is_none(), "{member} in {public}");
        }
        assert_eq!(public["use"], "sig");
        assert_eq!(public["alg"], "RS256");
        let err = jwk.public().encoding_key().err().unwrap();
        assert!(err.to_string().contains("no private key"), "{err}");
        assert!(!format!("{jwk:?}").contains(jwk.d.as_deref().unwrap()));
    }

    #[test]
    fn weak_rsa_keys_and_other_curves_are_refused() {
        // A 1024-bit modulus, as a careless tool might produce.
        let mut jwk = Jwk::generate(SigningAlgorithm::Rs256, "k", 0).unwrap();
        let n = unb64("k", "n", jwk.n.as_ref()).unwrap();
        jwk.n = Some(b64(&n[..128]));
        let err = jwk.public().decoding_key().err().unwrap();
        assert!(err.to_string().contains("at least 2048"), "{err}");
        assert!(
            jwk.encoding_key().is_err(),
            "an inconsistent key must not load"
        );

        let mut ec = Jwk::generate(SigningAlgorithm::Es256, "e", 0).unwrap();
        ec.crv = Some("P-384".into());
        let err = ec.encoding_key().err().unwrap();
        assert!(err.to_string().contains("P-256"), "{err}");
        assert!(ec.public().decoding_key().is_err());
    }

    #[test]
    fn rotation_retires_and_pruning_drops_only_expired_keys() {
        let mut set = KeySet::default();
        let first = set.rotate(SigningAlgorithm::Es256, 1_000).unwrap();
        assert_eq!(set.active().unwrap().kid, first);
        let second = set.rotate(SigningAlgorithm::Es256, 2_000).unwrap();
        assert_eq!(set.active().unwrap().kid, second);
        assert_eq!(set.keys.len(), 2);
        assert_eq!(set.keys[1].retired_at, Some(2_000));
        assert!(set.prune(2_000 + 3_600, 3_600).is_empty(), "not yet");
        assert_eq!(set.prune(2_000 + 3_601, 3_600), vec![first]);
        assert_eq!(set.keys.len(), 1);
        let parsed = KeySet::parse(&set.to_json()).unwrap();
        assert_eq!(parsed, set);
    }

    #[test]
    fn a_malformed_set_is_refused_without_echoing_it() {
        let err = KeySet::parse("{\"keys\": secret-material").unwrap_err();
        assert!(!err.to_string().contains("secret-material"), "{err}");
    }
}
