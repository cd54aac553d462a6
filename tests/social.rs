//! Social sign-in (`/auth/google`, `/auth/microsoft`, their `link` and
//! `refresh` paths) against a local OpenID provider, on both stores.

use accounts::model::UserStatus;
use accounts_tests::mfa;
use accounts_tests::oidc::{
    self, FakeProvider, assert_nothing_written, refused_base, started, unsigned_token,
};
use accounts_tests::*;
use serde_json::{Value, json};

fn with_provider(t: &TestApp, settings: Vec<(String, String)>) -> TestApp {
    oidc::app_with(t, &settings)
}

fn google(token: &str) -> Value {
    json!({"token": token, "deviceInfo": {"userAgent": "flashback/1"}})
}

on_both_stores! {
    async fn a_new_google_address_makes_a_validated_account_without_password(t: TestApp) {
        let (p, s) = started(&t).await;
        let token = p.google_token(s.clock_now(), "g-100", "Grace@Navy.mil", json!({}));
        let reply = s.post("/auth/google", google(&token)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let b = &reply.body;
        assert_eq!(b["success"], json!(true));
        assert_eq!(b["user"]["email"], json!("grace@navy.mil"));
        assert_eq!(b["user"]["name"], json!("Grace"));
        assert_eq!(b["expiresAt"], json!(T0 + 3600));
        let user = t.store.user_by_email("grace@navy.mil").await.unwrap().unwrap();
        assert!(user.validated, "the provider verified the address");
        assert!(user.password_hash.is_empty(), "no password");
        assert_eq!(user.org_role, accounts::role::Role::Owner);
        let org = t.store.organization(&user.org_id).await.unwrap().unwrap();
        assert_eq!(org.owner_count, 1);
        let sub = t.store.subscription(&user.org_id).await.unwrap().unwrap();
        assert_eq!(sub.plan_id, "free-trial");
        let identity = t.store.identity("GOOGLE", "g-100").await.unwrap().unwrap();
        assert_eq!(identity.user_id, user.id);
        let session = t.store.session(b["tokenId"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(session.login_method, "GOOGLE");
        assert_eq!(session.device_info, Some(json!({"userAgent": "flashback/1"})));
        // The access token works, and a password never signs this account in.
        let profile = t.get("/user/profile", b["accessToken"].as_str().unwrap()).await;
        assert_eq!(profile.status, 200, "{}", profile.body);
        s.login("grace@navy.mil", "").await.assert_error(400, "VALIDATION_ERROR");
        s.login("grace@navy.mil", PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
    }

    async fn a_linked_identity_signs_in_its_account_whatever_its_email_says_later(t: TestApp) {
        let (p, s) = started(&t).await;
        let first = s.post("/auth/google", google(&p.google_token(s.clock_now(), "g-7", "ada@acme.com", json!({})))).await;
        assert_eq!(first.status, 200, "{}", first.body);
        let again = s.post("/auth/google", google(&p.google_token(s.clock_now(), "g-7", "ada@elsewhere.org", json!({})))).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.body["user"]["id"], first.body["user"]["id"]);
        assert_eq!(again.body["user"]["email"], json!("ada@acme.com"));
        assert_ne!(again.body["tokenId"], first.body["tokenId"]);
        assert!(t.store.user_by_email("ada@elsewhere.org").await.unwrap().is_none());
    }

    async fn every_bad_token_is_invalid_and_writes_nothing(t: TestApp) {
        let (p, s) = started(&t).await;
        let now = s.clock_now();
        let email = "eve@evil.test";
        let sub = "g-eve";
        let claims = json!({"iss": p.google_issuer(), "aud": oidc::CLIENT_ID, "sub": sub,
            "email": email, "email_verified": true, "iat": now, "exp": now + 3600});
        let cases: Vec<(&str, String, Option<&str>)> = vec![
            ("wrong aud", p.google_token(now, sub, email, json!({"aud": "someone-else"})), None),
            ("wrong iss", p.google_token(now, sub, email, json!({"iss": "https://accounts.google.com.evil"})), None),
            ("expired", p.google_token(now, sub, email, json!({"iat": now - 7200, "exp": now - 3600})), None),
            ("unsigned", unsigned_token(&claims), None),
            ("another key", p.google_token_other_key(now, sub, email), None),
            ("unverified email", p.google_token(now, sub, email, json!({"email_verified": false})), None),
            ("no email_verified", p.google_token(now, sub, email, json!({"email_verified": null})), None),
            ("nonce mismatch", p.google_token(now, sub, email, json!({"nonce": "n-1"})), Some("n-2")),
            ("nonce missing", p.google_token(now, sub, email, json!({})), Some("n-2")),
            ("not a JWT", "not-a-token".to_owned(), None),
        ];
        for (what, token, nonce) in cases {
            let mut body = google(&token);
            if let Some(n) = nonce {
                body["nonce"] = json!(n);
            }
            let reply = s.post("/auth/google", body).await;
            assert_eq!((reply.status, reply.code()), (401, "INVALID_TOKEN"), "{what}: {}", reply.body);
            assert_nothing_written(&t, email, "GOOGLE", sub).await;
        }
        // The nonce given and matching is accepted.
        let ok = s.post("/auth/google", json!({"token": p.google_token(now, sub, email, json!({"nonce": "n-1"})), "nonce": "n-1"})).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
    }

    async fn microsoft_needs_the_tenants_issuer_and_a_verified_domain(t: TestApp) {
        let (p, s) = started(&t).await;
        let now = s.clock_now();
        let (sub, email) = ("ms-1", "alan@contoso.test");
        let cases = [
            ("unverified domain (no xms_edov)", json!({"xms_edov": null})),
            ("xms_edov false", json!({"xms_edov": false})),
            ("issuer of another tenant", json!({"iss": format!("{}/other-tenant/v2.0", p.base)})),
            ("no tenant", json!({"tid": null})),
            ("wrong aud", json!({"aud": "other-app"})),
        ];
        for (what, overrides) in cases {
            let reply = s.post("/auth/microsoft", json!({"token": p.microsoft_token(now, sub, email, overrides)})).await;
            assert_eq!((reply.status, reply.code()), (401, "INVALID_TOKEN"), "{what}: {}", reply.body);
            assert_nothing_written(&t, email, "MICROSOFT", sub).await;
        }
        let ok = s.post("/auth/microsoft", json!({"token": p.microsoft_token(now, sub, email, json!({}))})).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        let session = t.store.session(ok.body["tokenId"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(session.login_method, "MICROSOFT");
        // A Google token is not a Microsoft one (another issuer).
        let google = s.post("/auth/microsoft", json!({"token": p.google_token(now, "g-1", "g@x.test", json!({"aud": oidc::CLIENT_ID}))})).await;
        google.assert_error(401, "INVALID_TOKEN");
    }

    async fn an_existing_address_is_never_linked_automatically_only_from_its_session(t: TestApp) {
        let (p, s) = started(&t).await;
        let registered = s.register("ada@acme.com").await;
        assert_eq!(registered.status, 201);
        let now = s.clock_now();
        // The takeover attempt: a provider account with the same (verified) address.
        let token = p.google_token(now, "g-ada", "ada@acme.com", json!({}));
        let reply = s.post("/auth/google", google(&token)).await;
        reply.assert_error(409, "ACCOUNT_EXISTS");
        assert!(t.store.identity("GOOGLE", "g-ada").await.unwrap().is_none(), "nothing linked");
        let user = t.store.user_by_email("ada@acme.com").await.unwrap().unwrap();
        assert_eq!(user.version, 1, "the account is untouched");
        let sessions = t.store.user_sessions(&user.id).await.unwrap();
        assert_eq!(sessions.len(), 1, "no session was started: {sessions:?}");
        // Linking needs the account's own session.
        s.post("/auth/google/link", json!({"token": token})).await.assert_error(401, "NO_AUTH_USER");
        let access = registered.str("accessToken");
        let bad = s.call("POST", "/auth/google/link", Some(json!({"token": p.google_token(now, "g-ada", "ada@acme.com", json!({"aud": "x"}))})), Some(&access)).await;
        bad.assert_error(401, "INVALID_TOKEN");
        let linked = s.call("POST", "/auth/google/link", Some(json!({"token": token})), Some(&access)).await;
        assert_eq!(linked.status, 200, "{}", linked.body);
        assert_eq!(linked.body["provider"], json!("GOOGLE"));
        let again = s.call("POST", "/auth/google/link", Some(json!({"token": token})), Some(&access)).await;
        assert_eq!(again.status, 200, "linking twice is the same link: {}", again.body);
        // Now the provider signs that account in.
        let signed = s.post("/auth/google", google(&token)).await;
        assert_eq!(signed.status, 200, "{}", signed.body);
        assert_eq!(signed.body["user"]["id"], registered.body["user"]["id"]);
        // And its session refreshes on Flashback's social path.
        let refreshed = s.post("/auth/google/refresh", json!({"refresh_token": signed.str("refreshToken")})).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        assert_ne!(refreshed.body["refreshToken"], signed.body["refreshToken"]);
        // Another account cannot take the identity over.
        let other = s.register("bob@acme.com").await;
        let stolen = s.call("POST", "/auth/google/link", Some(json!({"token": token})), Some(&other.str("accessToken"))).await;
        stolen.assert_error(409, "ACCOUNT_EXISTS");
        assert_eq!(t.store.identity("GOOGLE", "g-ada").await.unwrap().unwrap().user_id, registered.body["user"]["id"].as_str().unwrap());
    }

    async fn a_social_sign_in_of_an_account_with_mfa_waits_for_the_second_factor(t: TestApp) {
        let (p, s) = started(&t).await;
        let id_token = |s: &TestApp| p.google_token(s.clock_now(), "g-mfa", "mia@acme.com", json!({}));
        let first = s.post("/auth/google", google(&id_token(&s))).await;
        assert_eq!(first.status, 200, "{}", first.body);
        let enrolled = mfa::enroll(&s, first.body["accessToken"].as_str().unwrap()).await;
        let user_id = first.body["user"]["id"].as_str().unwrap().to_owned();
        let sessions = t.store.user_sessions(&user_id).await.unwrap().len();
        // By ID token and by the code flow alike: a pending token, no session.
        let again = s.post("/auth/google", google(&id_token(&s))).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.body["mfaRequired"], json!(true));
        assert!(again.body["refreshToken"].is_null() && again.body["tokenId"].is_null(), "{}", again.body);
        let exchanged = s.post("/auth/google/exchange", json!({"code": p.code_for(&id_token(&s))})).await;
        assert_eq!(exchanged.status, 200, "{}", exchanged.body);
        let state = &exchanged.body["authState"];
        assert_eq!(state["mfaRequired"], json!(true), "{}", exchanged.body);
        assert!(state["refreshToken"].is_null(), "{}", exchanged.body);
        for pending in [again.str("accessToken"), state["token"].as_str().unwrap().to_owned()] {
            assert_eq!(mfa::claims(&pending)["type"], json!("mfa_pending"));
            s.get("/user/profile", &pending).await.assert_error(403, "MFA_REQUIRED");
        }
        assert_eq!(t.store.user_sessions(&user_id).await.unwrap().len(), sessions, "no session before the factor");
        // The second factor starts the session, still a Google one.
        let done = mfa::verify_login(&s, &again.str("accessToken"), &mfa::code_now(&s, &enrolled.secret)).await;
        assert_eq!(done.status, 200, "{}", done.body);
        let full = done.body["fullAccessToken"].as_str().unwrap();
        let amr = mfa::claims(full)["amr"].clone();
        assert!(amr.as_array().unwrap().contains(&json!("otp")), "{amr}");
        assert_eq!(s.get("/user/profile", full).await.status, 200);
        let session = t.store.session(done.body["tokenId"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(session.login_method, "GOOGLE");
    }

    async fn a_deactivated_account_is_refused_as_login_refuses_it(t: TestApp) {
        let (p, s) = started(&t).await;
        let token = p.google_token(s.clock_now(), "g-9", "ina@acme.com", json!({}));
        assert_eq!(s.post("/auth/google", google(&token)).await.status, 200);
        let mut user = t.store.user_by_email("ina@acme.com").await.unwrap().unwrap();
        user.status = UserStatus::Inactive;
        user.version += 1;
        t.store.update_user(&user).await.unwrap();
        let before = t.store.user_sessions(&user.id).await.unwrap().len();
        s.post("/auth/google", google(&token)).await.assert_error(403, "USER_INACTIVE");
        assert_eq!(t.store.user_sessions(&user.id).await.unwrap().len(), before);
    }

    async fn a_provider_that_is_down_or_slow_is_a_503_with_retry_after(t: TestApp) {
        let p = FakeProvider::start().await;
        let now = t.clock_now();
        let token = p.google_token(now, "g-down", "down@acme.com", json!({}));
        // Connection refused.
        let mut settings = p.settings();
        let refused = refused_base().await;
        settings.retain(|(k, _)| k != "GOOGLE_ISSUER");
        settings.push(("GOOGLE_ISSUER".into(), format!("{refused}/google")));
        let down = with_provider(&t, settings);
        let reply = down.post("/auth/google", google(&token)).await;
        reply.assert_error(503, "SERVICE_UNAVAILABLE");
        assert!(reply.headers.contains_key("retry-after"), "{:?}", reply.headers);
        assert_nothing_written(&t, "down@acme.com", "GOOGLE", "g-down").await;
        // Slower than the timeout.
        let (p2, slow) = started(&t).await;
        p2.set_slow(true);
        let token = p2.google_token(now, "g-down", "down@acme.com", json!({}));
        let started_at = std::time::Instant::now();
        let reply = slow.post("/auth/google", google(&token)).await;
        reply.assert_error(503, "SERVICE_UNAVAILABLE");
        assert!(reply.headers.contains_key("retry-after"));
        assert!(started_at.elapsed() < oidc::SLOW, "the timeout cut it short: {:?}", started_at.elapsed());
        assert_nothing_written(&t, "down@acme.com", "GOOGLE", "g-down").await;
        // Once it answers again, so do we.
        p2.set_slow(false);
        assert_eq!(slow.post("/auth/google", google(&token)).await.status, 200);
    }

    async fn an_unknown_key_id_rereads_the_keys_at_most_every_30_seconds(t: TestApp) {
        let (p, s) = started(&t).await;
        let now = s.clock_now();
        assert_eq!(s.post("/auth/google", google(&p.google_token(now, "g-k", "k@acme.com", json!({})))).await.status, 200);
        assert_eq!(p.jwks_reads(), 1);
        assert_eq!(s.post("/auth/google", google(&p.google_token(now, "g-k", "k@acme.com", json!({})))).await.status, 200);
        assert_eq!(p.jwks_reads(), 1, "cached");
        let other = p.google_token_other_key(now, "g-k", "k@acme.com");
        s.post("/auth/google", google(&other)).await.assert_error(401, "INVALID_TOKEN");
        assert_eq!(p.jwks_reads(), 2, "an unknown kid re-reads once");
        s.post("/auth/google", google(&other)).await.assert_error(401, "INVALID_TOKEN");
        assert_eq!(p.jwks_reads(), 2, "not again within 30 s");
    }

    async fn providers_not_configured_answer_404(t: TestApp) {
        for path in ["/auth/google", "/auth/microsoft"] {
            t.post(path, json!({"token": "x"})).await.assert_error(404, "NOT_FOUND");
        }
        // Linking checks the caller first, as every bearer route does.
        let registered = t.register("r@acme.com").await;
        for path in ["/auth/google/link", "/auth/microsoft/link"] {
            t.post(path, json!({"token": "x"})).await.assert_error(401, "NO_AUTH_USER");
            t.call("POST", path, Some(json!({"token": "x"})), Some(&registered.str("accessToken")))
                .await
                .assert_error(404, "NOT_FOUND");
        }
        // Refresh is refresh, configured or not.
        for path in ["/auth/google/refresh", "/auth/github/refresh", "/auth/microsoft/refresh"] {
            t.post(path, json!({"refresh_token": "nope"})).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        }
        let r = t.post("/auth/github/refresh", json!({"refresh_token": registered.str("refreshToken")})).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
}
