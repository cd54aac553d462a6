//! Attacks on the bearer token, through a protected endpoint: each is a 401
//! with the right code, and none reaches the handler.

use accounts_tests::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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

/// Signs `claims` as the service would, with another algorithm, key or kid if told.
fn sign(claims: &Value, alg: Algorithm, secret: &str, kid: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
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

on_both_stores! {
    async fn every_forgery_is_refused(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let real = ada.access_token.clone();
        assert_eq!(t.get("/user/profile", &real).await.status, 200);
        let (header, claims, signature) = parts(&real);
        let kid = Some("primary");
        let resign = |c: &Value| sign(c, Algorithm::HS256, SIGNING_KEY, kid);

        let forgeries: Vec<(&str, String)> = vec![
            ("alg none", format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": "primary"})), b64(&claims))),
            ("alg none, signature kept", format!("{}.{}.{signature}", b64(&json!({"alg": "none", "kid": "primary"})), b64(&claims))),
            ("HS512 with the right key", sign(&claims, Algorithm::HS512, SIGNING_KEY, kid)),
            ("HS384 with the right key", sign(&claims, Algorithm::HS384, SIGNING_KEY, kid)),
            ("RS256 header on an HMAC signature", format!("{}.{}.{signature}", b64(&with(&header, "alg", json!("RS256"))), b64(&claims))),
            ("wrong key", sign(&claims, Algorithm::HS256, "another-secret-0123456789abcdef0123", kid)),
            ("unknown kid", sign(&claims, Algorithm::HS256, SIGNING_KEY, Some("other"))),
            ("no kid", sign(&claims, Algorithm::HS256, SIGNING_KEY, None)),
            ("wrong issuer", resign(&with(&claims, "iss", json!("evil")))),
            ("wrong audience", resign(&with(&claims, "aud", json!("evil")))),
            ("refresh type", resign(&with(&claims, "type", json!("refresh")))),
            ("no type", resign(&without(&claims, "type"))),
            ("no exp", resign(&without(&claims, "exp"))),
            ("no sub", resign(&without(&claims, "sub"))),
            ("sub and userId disagree", resign(&with(&claims, "userId", json!("someone-else")))),
            ("issued in the future", resign(&with(&claims, "iat", json!(T0 + 3600)))),
            ("another organization", resign(&with(&claims, "orgId", json!("other-org")))),
            ("tampered payload", format!("{}.{}.{signature}", b64(&header), b64(&with(&claims, "sub", json!("someone-else"))))),
            ("tampered header", format!("{}.{}.{signature}", b64(&with(&header, "kid", json!("primary2"))), b64(&claims))),
            ("tampered signature", format!("{}.{}.{}", b64(&header), b64(&claims), signature.chars().rev().collect::<String>())),
            ("truncated", real[..real.len() - 5].to_owned()),
            ("two parts", real.rsplit_once('.').unwrap().0.to_owned()),
            ("refresh token as bearer", ada.refresh_token.clone()),
            ("over-long header", format!("{}.{}.{signature}", b64(&with(&header, "x", json!("a".repeat(8000)))), b64(&claims))),
            ("not base64", "!!!.???.***".to_owned()),
        ];
        for (name, token) in forgeries {
            let reply = t.get("/user/profile", &token).await;
            assert_eq!(reply.status, 401, "{name}: {}", reply.body);
            assert_eq!(reply.code(), "INVALID_TOKEN", "{name}: {}", reply.body);
        }

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

    async fn rotated_keys_keep_old_tokens_valid(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let old_key = format!("primary:{SIGNING_KEY}");
        let rotated = t.sharing_store(test_config(&[
            ("JWT_SIGNING_KEY", "the-next-signing-key-0123456789abcdef"),
            ("JWT_KEY_ID", "next"),
            ("JWT_VERIFICATION_KEYS", &old_key),
        ]));
        assert_eq!(rotated.get("/user/profile", &ada.access_token).await.status, 200, "old token, old key still trusted");
        let fresh = rotated.login("ada@acme.com", PASSWORD).await.str("accessToken");
        assert_eq!(parts(&fresh).0["kid"], "next");
        t.get("/user/profile", &fresh).await.assert_error(401, "INVALID_TOKEN");
        let retired = t.sharing_store(test_config(&[
            ("JWT_SIGNING_KEY", "the-next-signing-key-0123456789abcdef"),
            ("JWT_KEY_ID", "next"),
        ]));
        retired.get("/user/profile", &ada.access_token).await.assert_error(401, "INVALID_TOKEN");
    }
}
