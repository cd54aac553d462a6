//! Keys as AWS holds them: the private set in one Secrets Manager secret
//! (read by the signing functions only), the public set in another (read by
//! the verifiers), both on moto; rotation without a redeploy; functions that
//! refuse to start on a missing or unusable key; and a verifier that is not
//! this crate, checking tokens with the published keys alone. And on both
//! stores: a rotated key trusted until pruned, ES256 selectable and pinned.

use std::sync::Arc;
use std::time::Duration;

use accounts::App;
use accounts::auth::key_ring::{KeyRing, KeyRingError, KeyUse, SecretsManagerKeys};
use accounts::auth::keys::{KeySet, SigningAlgorithm};
use accounts::http::Route;
use accounts_tests::*;

fn secret_names() -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    (
        format!("accounts-test/{id}/private"),
        format!("accounts-test/{id}/public"),
    )
}

/// Keys as a function of `route` reads them: the private secret only if it
/// signs, the public secret only if it verifies.
async fn ring_for(
    route: Route,
    private: &str,
    public: &str,
    refresh_every: Duration,
) -> Result<KeyRing, KeyRingError> {
    let need = route.key_use();
    KeyRing::from_secrets_manager(
        secrets_manager(),
        need.sign.then(|| private.to_owned()),
        need.verify.then(|| public.to_owned()),
        SigningAlgorithm::Rs256,
        need,
        refresh_every,
    )
    .await
}

/// An app for one function, on `store`, with its keys from Secrets Manager.
fn function_app(t: &TestApp, keys: KeyRing) -> TestApp {
    let app = App::with_keys(
        test_config(&[]),
        Arc::clone(&t.store),
        t.clock.clone(),
        keys,
    )
    .expect("app");
    TestApp {
        app: Arc::new(app),
        store: Arc::clone(&t.store),
        clock: t.clock.clone(),
        backend: t.backend,
    }
}

/// What `accounts-admin key rotate` does to the two secrets.
async fn rotate(keys: &SecretsManagerKeys, private: &str, public: &str, now: i64) -> String {
    let mut set = keys.read(private).await.unwrap().unwrap_or_default();
    let kid = set.rotate(SigningAlgorithm::Rs256, now).unwrap();
    keys.write(private, &set).await.unwrap();
    keys.write(public, &set.public()).await.unwrap();
    kid
}

/// What `accounts-admin key prune` does once `retired` (retired at
/// `T0 + 10`) has outlived every token it signed.
async fn prune(keys: &SecretsManagerKeys, private: &str, public: &str, retired: &str) {
    let mut set = keys.read(private).await.unwrap().unwrap();
    assert_eq!(set.prune(T0 + 10 + 3661, 3660), vec![retired.to_owned()]);
    keys.write(private, &set).await.unwrap();
    keys.write(public, &set.public()).await.unwrap();
}

fn kid_of(token: &str) -> String {
    let header = jsonwebtoken::decode_header(token).unwrap();
    header.kid.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signers_and_verifiers_read_only_their_own_secret_and_follow_a_rotation() {
    let t = TestApp::new(Backend::Dynamo).await;
    let sm = secrets_manager();
    let (private, public) = secret_names();
    let first = rotate(&sm, &private, &public, T0).await;
    // Re-read at every request, so that the test need not wait.
    let now = Duration::ZERO;
    let login = function_app(
        &t,
        ring_for(Route::Login, &private, &public, now)
            .await
            .unwrap(),
    );
    let register = function_app(
        &t,
        ring_for(Route::Register, &private, &public, now)
            .await
            .unwrap(),
    );
    let profile = function_app(
        &t,
        ring_for(Route::Profile, &private, &public, now)
            .await
            .unwrap(),
    );
    let jwks = function_app(
        &t,
        ring_for(Route::Jwks, &private, &public, now).await.unwrap(),
    );

    // The verifier holds no signing key, the signer no verification key.
    assert!(profile.app.access_tokens.keys().current().signer.is_none());
    assert!(
        login
            .app
            .access_tokens
            .keys()
            .current()
            .verifiers
            .is_empty()
    );

    let token = register.register("ada@acme.com").await.str("accessToken");
    assert_eq!(kid_of(&token), first);
    let me = profile.get("/user/profile", &token).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["data"]["email"], "ada@acme.com");

    // Rotate: the signer picks the new key up, the verifier learns it, the
    // old key's tokens keep working, the JWKS lists both.
    let second = rotate(&sm, &private, &public, T0 + 10).await;
    let fresh = login
        .login("ada@acme.com", PASSWORD)
        .await
        .str("accessToken");
    assert_eq!(kid_of(&fresh), second);
    assert_eq!(profile.get("/user/profile", &fresh).await.status, 200);
    assert_eq!(profile.get("/user/profile", &token).await.status, 200);
    let published = jwks.call("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert_eq!(
        published.headers["cache-control"].to_str().unwrap(),
        "public, max-age=300"
    );
    let kids: Vec<&str> = published.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [second.as_str(), first.as_str()]);
    assert!(
        !published.body.to_string().contains("\"d\""),
        "no private member published"
    );

    // Prune the retired key: its tokens are refused from then on.
    prune(&sm, &private, &public, &first).await;
    profile
        .get("/user/profile", &token)
        .await
        .assert_error(401, "INVALID_TOKEN");
    assert_eq!(profile.get("/user/profile", &fresh).await.status, 200);
}

/// A verifier that re-reads its keys only every `JWT_KEYS_REFRESH_SECONDS`
/// still accepts a token of a key it has not seen: it re-reads at once,
/// and at most once in `FORCED_REFRESH_SECONDS` (made-up key ids cannot
/// turn into a stream of Secrets Manager reads).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_kid_is_re_read_at_once_and_not_again_within_the_bound() {
    let t = TestApp::new(Backend::Dynamo).await;
    let sm = secrets_manager();
    let (private, public) = secret_names();
    rotate(&sm, &private, &public, T0).await;
    let every_request = Duration::ZERO;
    let never = Duration::from_secs(3600);
    let login = ring_for(Route::Login, &private, &public, every_request);
    let login = function_app(&t, login.await.unwrap());
    let register = ring_for(Route::Register, &private, &public, every_request);
    let register = function_app(&t, register.await.unwrap());
    let profile = ring_for(Route::Profile, &private, &public, never);
    let profile = function_app(&t, profile.await.unwrap());
    register.register("ada@acme.com").await;

    let second = rotate(&sm, &private, &public, T0 + 10).await;
    let fresh = login
        .login("ada@acme.com", PASSWORD)
        .await
        .str("accessToken");
    assert_eq!(kid_of(&fresh), second);
    let reply = profile.get("/user/profile", &fresh).await;
    assert_eq!(
        reply.status, 200,
        "the new key was read at once: {}",
        reply.body
    );

    // Another new key within the bound: not re-read, refused (until the
    // bound or the interval has passed).
    let third = rotate(&sm, &private, &public, T0 + 20).await;
    let newest = login
        .login("ada@acme.com", PASSWORD)
        .await
        .str("accessToken");
    assert_eq!(kid_of(&newest), third);
    profile
        .get("/user/profile", &newest)
        .await
        .assert_error(401, "INVALID_TOKEN");
    assert_eq!(profile.get("/user/profile", &fresh).await.status, 200);
}

/// The periodic re-read: a pruned key stops verifying once the interval has
/// passed, on the verifier with that interval only (its kid stays known to
/// both, so no unknown-kid re-read is involved).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_are_re_read_every_refresh_interval() {
    let t = TestApp::new(Backend::Dynamo).await;
    let sm = secrets_manager();
    let (private, public) = secret_names();
    let first = rotate(&sm, &private, &public, T0).await;
    let register = ring_for(Route::Register, &private, &public, Duration::ZERO);
    let register = function_app(&t, register.await.unwrap());
    let interval = Duration::from_secs(1);
    let periodic = ring_for(Route::Profile, &private, &public, interval);
    let periodic = function_app(&t, periodic.await.unwrap());
    let never = ring_for(Route::Profile, &private, &public, Duration::from_secs(3600));
    let never = function_app(&t, never.await.unwrap());
    let token = register.register("ada@acme.com").await.str("accessToken");
    assert_eq!(kid_of(&token), first);
    assert_eq!(periodic.get("/user/profile", &token).await.status, 200);

    // The first key retired and pruned: only the second is published.
    rotate(&sm, &private, &public, T0 + 10).await;
    prune(&sm, &private, &public, &first).await;
    // At least the interval later (a loaded machine only makes it longer).
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    periodic
        .get("/user/profile", &token)
        .await
        .assert_error(401, "INVALID_TOKEN");
    let cached = never.get("/user/profile", &token).await;
    assert_eq!(
        cached.status, 200,
        "an hour's interval has not passed: {}",
        cached.body
    );
}

#[tokio::test]
async fn a_function_refuses_to_start_without_a_usable_key() {
    let sm = secrets_manager();
    let (private, public) = secret_names();
    let never = Duration::from_secs(300);

    // No such secret: named, with the way out.
    let err = ring_for(Route::Login, &private, &public, never)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains(&private), "{err}");
    assert!(err.to_string().contains("key rotate"), "{err}");

    // Not configured at all.
    let err = KeyRing::from_secrets_manager(
        sm.clone(),
        None,
        None,
        SigningAlgorithm::Rs256,
        KeyUse::SIGN,
        never,
    )
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("JWT_PRIVATE_KEYS_SECRET"), "{err}");

    // A public set where the private one is needed.
    let mut set = KeySet::default();
    set.rotate(SigningAlgorithm::Rs256, T0).unwrap();
    sm.write(&private, &set.public()).await.unwrap();
    let err = ring_for(Route::Login, &private, &public, never)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("no private key"), "{err}");

    // An RSA key under 2048 bits, as a signer and as a verifier.
    let weak = include_str!("fixtures/weak-rsa-1024.jwks.json");
    let weak = KeySet::parse(weak).unwrap();
    sm.write(&private, &weak).await.unwrap();
    sm.write(&public, &weak.public()).await.unwrap();
    for route in [Route::Login, Route::Profile] {
        let err = ring_for(route, &private, &public, never)
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().contains("2048"), "{route:?}: {err}");
        let d = weak.keys[0].d.as_deref().unwrap();
        assert!(!err.to_string().contains(d), "no key material in {err}");
    }

    // ES256 on another curve.
    let mut set = KeySet::default();
    set.rotate(SigningAlgorithm::Es256, T0).unwrap();
    set.keys[0].crv = Some("P-384".into());
    sm.write(&private, &set).await.unwrap();
    let err = KeyRing::from_secrets_manager(
        sm.clone(),
        Some(private.clone()),
        None,
        SigningAlgorithm::Es256,
        KeyUse::SIGN,
        never,
    )
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("P-256"), "{err}");

    // Not a key set at all; the message does not quote it.
    sm.write(&public, &KeySet::default()).await.unwrap();
    let err = ring_for(Route::Profile, &private, &public, never)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("no RS256 key"), "{err}");
}

on_both_stores! {
    async fn a_third_party_verifier_accepts_tokens_with_the_published_keys_alone(t: TestApp) {
        let python = std::env::var("ACCOUNTS_TEST_PYTHON").unwrap_or_else(|_| {
            panic!("ACCOUNTS_TEST_PYTHON is not set: run the suite with scripts/test.sh, \
                    which installs the Python verifier's library (joserfc) with moto")
        });
        // The other verifier checks `exp` and `iat` against the real clock.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        t.clock.set(now.as_secs() as i64);
        let token = t.owner("ada@acme.com").await.access_token;
        let jwks = t.call("GET", "/.well-known/jwks.json", None, None).await;
        assert_eq!(jwks.status, 200);
        let dir = std::env::temp_dir().join(format!("verifier-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let jwks_file = dir.join("jwks.json");
        std::fs::write(&jwks_file, jwks.body.to_string()).unwrap();
        let verify = |token: &str| {
            let token_file = dir.join("token");
            std::fs::write(&token_file, token).unwrap();
            std::process::Command::new(&python)
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/verifier/verify_jwt.py"))
                .args([&jwks_file, &token_file])
                .args([ISSUER, "flashback"])
                .output()
                .expect("python runs")
        };
        let accepted = verify(&token);
        assert!(accepted.status.success(), "{}", String::from_utf8_lossy(&accepted.stderr));
        let out: serde_json::Value = serde_json::from_slice(&accepted.stdout).unwrap();
        assert_eq!(out["claims"]["email"], "ada@acme.com");
        assert_eq!(out["kid"], test_keys().active().unwrap().kid.as_str());
        // The same verifier refuses a token whose payload was changed.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_payload = {
            use base64::Engine;
            let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let mut claims: serde_json::Value =
                serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
            claims["orgId"] = "another-org".into();
            engine.encode(claims.to_string())
        };
        parts[1] = &forged_payload;
        // Refused as the script refuses (exit 1, the signature named), not
        // by a crash (which exits non-zero too).
        let refused = verify(&parts.join("."));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "a forged token must not verify: {stderr}");
        assert!(stderr.starts_with("refused: BadSignatureError"), "{stderr}");
        assert!(refused.stdout.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    async fn discovery_names_the_issuer_and_its_keys(t: TestApp) {
        let reply = t.call("GET", "/.well-known/openid-configuration", None, None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["issuer"], ISSUER);
        assert_eq!(reply.body["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
        assert_eq!(reply.body["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
        assert_eq!(reply.headers["cache-control"].to_str().unwrap(), "public, max-age=3600");
        let jwks = t.call("GET", "/.well-known/jwks.json", None, None).await;
        let key = &jwks.body["keys"][0];
        assert_eq!((key["kty"].as_str(), key["use"].as_str(), key["alg"].as_str()), (Some("RSA"), Some("sig"), Some("RS256")));
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} published: {key}");
        }
    }

    async fn rotation_keeps_old_tokens_valid_until_the_key_is_pruned(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let old_kid = kid_of(&ada.access_token);
        let mut set: KeySet = test_keys().clone();
        let new_kid = set.rotate(SigningAlgorithm::Rs256, T0).unwrap();
        let rotated = t.sharing_store(with_keys(set.clone()));
        assert_eq!(rotated.get("/user/profile", &ada.access_token).await.status, 200, "old token, retired key still trusted");
        let fresh = rotated.login("ada@acme.com", PASSWORD).await.str("accessToken");
        assert_eq!(kid_of(&fresh), new_kid);
        assert_ne!(kid_of(&fresh), old_kid);
        let jwks = rotated.call("GET", "/.well-known/jwks.json", None, None).await;
        let kids: Vec<&str> = jwks.body["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, [new_kid.as_str(), old_kid.as_str()], "both published, newest first");
        // An app that never heard of the new key refuses its tokens.
        t.get("/user/profile", &fresh).await.assert_error(401, "INVALID_TOKEN");
        // Pruned once the old key's tokens have expired: they no longer verify.
        assert!(set.prune(T0 + 3600, 3600 + 60).is_empty(), "too early to prune");
        assert_eq!(set.prune(T0 + 3600 + 61, 3600 + 60), vec![old_kid.as_str().to_owned()]);
        let pruned = t.sharing_store(with_keys(set));
        pruned.get("/user/profile", &ada.access_token).await.assert_error(401, "INVALID_TOKEN");
        assert_eq!(pruned.get("/user/profile", &fresh).await.status, 200);
    }

    async fn es256_is_selectable_and_pinned(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let mut set = KeySet::default();
        let kid = set.rotate(SigningAlgorithm::Es256, T0).unwrap();
        let mut config = with_keys(set);
        config.tokens.algorithm = SigningAlgorithm::Es256;
        let es = t.sharing_store(config);
        let token = es.login("ada@acme.com", PASSWORD).await.str("accessToken");
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
        assert_eq!(es.get("/user/profile", &token).await.status, 200);
        // Each deployment accepts only its own algorithm, even from a key it
        // holds and publishes: an RS256 deployment whose set also has the
        // ES256 key (retired, so that RS256 signs) refuses its tokens.
        let mut both = test_keys().clone();
        let mut es_key = es_keys_of(&es).keys.remove(0);
        es_key.retired_at = Some(T0);
        both.keys.push(es_key);
        let rs = t.sharing_store(with_keys(both));
        let published = rs.call("GET", "/.well-known/jwks.json", None, None).await;
        assert!(published.body.to_string().contains(&kid), "the ES256 key is published: {}", published.body);
        rs.get("/user/profile", &token).await.assert_error(401, "INVALID_TOKEN");
        assert_eq!(rs.get("/user/profile", &ada.access_token).await.status, 200);
        es.get("/user/profile", &ada.access_token).await.assert_error(401, "INVALID_TOKEN");
    }
}

/// The key set a deployment was given (`with_keys`).
fn es_keys_of(t: &TestApp) -> KeySet {
    match &t.app.config.tokens.keys {
        accounts::auth::key_ring::KeySource::Fixed(set) => set.clone(),
        _ => panic!("not a fixed key set"),
    }
}

/// Test settings with another key set.
fn with_keys(set: KeySet) -> accounts::config::Config {
    let mut config = test_config(&[]);
    config.tokens.keys = accounts::auth::key_ring::KeySource::Fixed(set);
    config
}
