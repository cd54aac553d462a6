//! Attacks on the bearer token, through a protected endpoint: each is a 401
//! with the right code, and none reaches the handler.

use accounts::auth::keys::{Jwk, SigningAlgorithm};
use accounts_tests::*;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

fn parts(token: &str) -> (Value, Value, String) {
    let mut it = token.split('.');
    let mut decode =
        || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
    let (header, claims) = (decode(), decode());
    (header, claims, it.next().unwrap().to_owned())
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Signs `claims` under `header` with `key`, as an attacker (or the
/// service, with its own key) would.
fn sign_with(header: Header, claims: &Value, key: &EncodingKey) -> String {
    encode(&header, claims, key).unwrap()
}

fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header
}

fn hmac(claims: &Value, alg: Algorithm, secret: &[u8], kid: &str) -> String {
    sign_with(
        header(alg, Some(kid)),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

fn with(claims: &Value, field: &str, value: Value) -> Value {
    let mut c = claims.clone();
    c[field] = value;
    c
}

fn without(claims: &Value, field: &str) -> Value {
    let mut c = claims.clone();
    c.as_object_mut().unwrap().remove(field);
    c
}

/// The service's signing key, as the tests hold it.
fn service_key() -> &'static Jwk {
    test_keys().active().expect("a signing key")
}

/// The service's public key as PEM (SubjectPublicKeyInfo), the form a
/// confused verifier would take as an HMAC secret.
fn public_key_pem() -> String {
    let jwk = service_key();
    let n = URL_SAFE_NO_PAD.decode(jwk.n.as_ref().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk.e.as_ref().unwrap()).unwrap();
    let der = pkcs1::der::Encode::to_der(&pkcs1::RsaPublicKey {
        modulus: pkcs1::UintRef::new(&n).unwrap(),
        public_exponent: pkcs1::UintRef::new(&e).unwrap(),
    })
    .unwrap();
    format!(
        "-----BEGIN RSA PUBLIC KEY-----\n{}\n-----END RSA PUBLIC KEY-----\n",
        STANDARD.encode(der)
    )
}

on_both_stores! {
    async fn every_forgery_is_refused(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let real = ada.access_token.clone();
        assert_eq!(t.get("/user/profile", &real).await.status, 200);
        let (header_json, claims, signature) = parts(&real);
        assert_eq!(header_json["alg"], "RS256");
        let kid = service_key().kid.clone();
        assert_eq!(header_json["kid"], kid.as_str());
        let ours = service_key().encoding_key().unwrap();
        let resign = |c: &Value| sign_with(header(Algorithm::RS256, Some(&kid)), c, &ours);
        // What an attacker can make: keys of their own, and our public key.
        let attacker_rsa = Jwk::generate(SigningAlgorithm::Rs256, &kid, T0).unwrap();
        let attacker_ec = Jwk::generate(SigningAlgorithm::Es256, &kid, T0).unwrap();
        let pem = public_key_pem();
        let jwks = t.call("GET", "/.well-known/jwks.json", None, None).await;
        assert_eq!(jwks.status, 200, "{}", jwks.body);
        let published = jwks.body["keys"][0].to_string();
        let n_bytes = URL_SAFE_NO_PAD.decode(service_key().n.as_ref().unwrap()).unwrap();
        let attacker_header = |extra: &str, value: Value, kid: &str, alg: Algorithm| {
            let mut h = serde_json::to_value(header(alg, Some(kid))).unwrap();
            h[extra] = value;
            h
        };
        let self_signed = |h: Value, jwk: &Jwk| {
            // jsonwebtoken's Header has no jku/x5u members: sign by hand.
            let signing_input = format!("{}.{}", b64(&h), b64(&claims));
            let alg = if jwk.alg == "RS256" { Algorithm::RS256 } else { Algorithm::ES256 };
            let sig = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &jwk.encoding_key().unwrap(), alg).unwrap();
            format!("{signing_input}.{sig}")
        };

        let forgeries: Vec<(&str, String)> = vec![
            ("alg none", format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})), b64(&claims))),
            ("alg none, signature kept", format!("{}.{}.{signature}", b64(&json!({"alg": "none", "kid": kid})), b64(&claims))),
            ("HS256 with the public key (PEM) as secret", hmac(&claims, Algorithm::HS256, pem.as_bytes(), &kid)),
            ("HS256 with the public JWK as secret", hmac(&claims, Algorithm::HS256, published.as_bytes(), &kid)),
            ("HS256 with the modulus as secret", hmac(&claims, Algorithm::HS256, &n_bytes, &kid)),
            ("HS512 with the public key as secret", hmac(&claims, Algorithm::HS512, pem.as_bytes(), &kid)),
            ("ES256 by an attacker's key, our kid", sign_with(header(Algorithm::ES256, Some(&kid)), &claims, &attacker_ec.encoding_key().unwrap())),
            ("ES256 header on our RS256 signature", format!("{}.{}.{signature}", b64(&with(&header_json, "alg", json!("ES256"))), b64(&claims))),
            ("PS256 with our own key", sign_with(header(Algorithm::PS256, Some(&kid)), &claims, &ours)),
            ("RS512 with our own key", sign_with(header(Algorithm::RS512, Some(&kid)), &claims, &ours)),
            ("RS256 by an attacker's key, our kid", sign_with(header(Algorithm::RS256, Some(&kid)), &claims, &attacker_rsa.encoding_key().unwrap())),
            ("unknown kid", sign_with(header(Algorithm::RS256, Some("other")), &claims, &ours)),
            ("no kid", sign_with(header(Algorithm::RS256, None), &claims, &ours)),
            ("jku to the attacker's keys", self_signed(attacker_header("jku", json!("https://evil.example/jwks.json"), "evil", Algorithm::RS256), &attacker_rsa)),
            ("x5u to the attacker's certificate", self_signed(attacker_header("x5u", json!("https://evil.example/cert.pem"), "evil", Algorithm::RS256), &attacker_rsa)),
            ("embedded jwk, our kid", self_signed(attacker_header("jwk", serde_json::to_value(attacker_rsa.public()).unwrap(), &kid, Algorithm::RS256), &attacker_rsa)),
            ("embedded jwk, its own kid", self_signed(attacker_header("jwk", serde_json::to_value(attacker_ec.public()).unwrap(), "evil", Algorithm::ES256), &attacker_ec)),
            ("wrong issuer", resign(&with(&claims, "iss", json!("https://evil.example")))),
            ("wrong audience", resign(&with(&claims, "aud", json!("evil")))),
            ("refresh type", resign(&with(&claims, "type", json!("refresh")))),
            ("no type", resign(&without(&claims, "type"))),
            ("no exp", resign(&without(&claims, "exp"))),
            ("no iss", resign(&without(&claims, "iss"))),
            ("no sub", resign(&without(&claims, "sub"))),
            ("sub and userId disagree", resign(&with(&claims, "userId", json!("someone-else")))),
            ("issued in the future", resign(&with(&claims, "iat", json!(T0 + 3600)))),
            ("another organization", resign(&with(&claims, "orgId", json!("other-org")))),
            ("tampered payload", format!("{}.{}.{signature}", b64(&header_json), b64(&with(&claims, "sub", json!("someone-else"))))),
            ("tampered header", format!("{}.{}.{signature}", b64(&with(&header_json, "kid", json!("other"))), b64(&claims))),
            ("tampered signature", format!("{}.{}.{}", b64(&header_json), b64(&claims), signature.chars().rev().collect::<String>())),
            ("truncated", real[..real.len() - 5].to_owned()),
            ("two parts", real.rsplit_once('.').unwrap().0.to_owned()),
            ("refresh token as bearer", ada.refresh_token.clone()),
            ("over-long header", format!("{}.{}.{signature}", b64(&with(&header_json, "x", json!("a".repeat(8000)))), b64(&claims))),
            ("not base64", "!!!.???.***".to_owned()),
        ];
        for (name, token) in forgeries {
            let reply = t.get("/user/profile", &token).await;
            assert_eq!(reply.status, 401, "{name}: {}", reply.body);
            assert_eq!(reply.code(), "INVALID_TOKEN", "{name}: {}", reply.body);
        }

        // Header members a verifier must not follow are ignored, not trusted:
        // signed by our key, the token is ours whatever jku says.
        let ours_with_jku = {
            let h = attacker_header("jku", json!("https://evil.example/jwks.json"), &kid, Algorithm::RS256);
            let signing_input = format!("{}.{}", b64(&h), b64(&claims));
            let sig = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &ours, Algorithm::RS256).unwrap();
            format!("{signing_input}.{sig}")
        };
        assert_eq!(t.get("/user/profile", &ours_with_jku).await.status, 200);

        let expired = resign(&with(&claims, "exp", json!(T0 - 60)));
        t.get("/user/profile", &expired).await.assert_error(401, "TOKEN_EXPIRED");
        // Within the leeway is still valid.
        let just = resign(&with(&claims, "exp", json!(T0 - 10)));
        assert_eq!(t.get("/user/profile", &just).await.status, 200);
        t.call("GET", "/user/profile", None, None).await.assert_error(401, "NO_AUTH_USER");
    }

    async fn an_access_token_is_not_a_refresh_token(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        t.refresh(&ada.access_token).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        assert_eq!(t.refresh(&ada.refresh_token).await.status, 200);
    }
}
