//! The code flows of social sign-in against the local provider, on both
//! stores: GitHub (`POST /auth/github`, `/auth/github/link`: the code
//! traded server-side with the client secret, then GitHub's API) and the
//! OpenID code flow (`POST /auth/{google,microsoft}/exchange`, answering
//! Flashback's `OAuth2ResponseDTO`); the client secret from Secrets Manager.

use accounts::auth::providers::read_client_secrets;
use accounts::config::ClientSecret;
use accounts_tests::github::GithubUser;
use accounts_tests::oidc::{
    self, CLIENT_ID, FakeProvider, app_with, assert_nothing_written, refused_base, setting, started,
};
use accounts_tests::*;
use serde_json::{Value, json};

fn code(code: &str) -> Value {
    json!({"code": code, "deviceInfo": {"userAgent": "flashback/1"}})
}

/// `email`'s account as stored, and its sessions.
async fn census(t: &TestApp, email: &str) -> (String, usize) {
    let user = t.store.user_by_email(email).await.unwrap();
    let sessions = match &user {
        Some(user) => t.store.user_sessions(&user.id).await.unwrap().len(),
        None => 0,
    };
    (format!("{user:?}"), sessions)
}

on_both_stores! {
    async fn a_github_code_makes_a_validated_account_from_the_verified_primary_address(t: TestApp) {
        let (p, s) = started(&t).await;
        let code_1 = p.github_code(GithubUser::verified(583231, "Mona@GitHub.test"));
        let reply = s.post("/auth/github", code(&code_1)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let b = &reply.body;
        assert_eq!(b["user"]["email"], json!("mona@github.test"));
        assert_eq!(reply.headers["cache-control"], "no-store");
        let user = t.store.user_by_email("mona@github.test").await.unwrap().unwrap();
        assert!(user.validated && user.password_hash.is_empty());
        assert_eq!(user.name, "Mona");
        // The subject is GitHub's numeric id, not the login or the address.
        let identity = t.store.identity("GITHUB", "583231").await.unwrap().unwrap();
        assert_eq!(identity.user_id, user.id);
        let session = t.store.session(b["tokenId"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(session.login_method, "GITHUB");
        let sessions = s.get("/sessions", b["accessToken"].as_str().unwrap()).await;
        assert_eq!(sessions.body["sessions"][0]["loginMethod"], json!("GITHUB"));
        let members = s.get("/organization/users", b["accessToken"].as_str().unwrap()).await;
        assert_eq!(members.body["data"][0]["authMethod"], json!("GITHUB"), "{}", members.body);
        // The unverified second address made nothing.
        assert!(t.store.user_by_email("other583231@unverified.test").await.unwrap().is_none());
        // A code is single use.
        s.post("/auth/github", code(&code_1)).await.assert_error(401, "INVALID_TOKEN");
        assert_eq!(t.store.user_sessions(&user.id).await.unwrap().len(), 1);
    }

    async fn a_bad_github_code_or_no_verified_primary_address_writes_nothing(t: TestApp) {
        let (p, s) = started(&t).await;
        s.post("/auth/github", code("not-a-code-it-issued")).await.assert_error(401, "INVALID_TOKEN");
        // The primary address unverified, another one verified: not enough.
        let mut unverified = GithubUser::verified(7, "primary@github.test");
        unverified.emails = vec![
            ("primary@github.test".into(), true, false),
            ("second@github.test".into(), false, true),
        ];
        s.post("/auth/github", code(&p.github_code(unverified))).await.assert_error(401, "INVALID_TOKEN");
        assert_nothing_written(&t, "primary@github.test", "GITHUB", "7").await;
        assert_nothing_written(&t, "second@github.test", "GITHUB", "7").await;
        // Our client secret wrong: GitHub refuses every code.
        let wrong = app_with(&t, &setting(p.settings(), "GITHUB_CLIENT_SECRET", "not-it"));
        let reply = wrong.post("/auth/github", code(&p.github_code(GithubUser::verified(8, "eight@github.test")))).await;
        reply.assert_error(401, "INVALID_TOKEN");
        assert_nothing_written(&t, "eight@github.test", "GITHUB", "8").await;
        // A code that is no code is a bad request.
        s.post("/auth/github", json!({"code": ""})).await.assert_error(400, "VALIDATION_ERROR");
        s.post("/auth/github", json!({"code": "a b"})).await.assert_error(400, "VALIDATION_ERROR");
        s.post("/auth/github", json!({"code": "x".repeat(2049)})).await.assert_error(400, "VALIDATION_ERROR");
        s.post("/auth/github", json!({"token": "an-id-token"})).await.assert_error(400, "VALIDATION_ERROR");
    }

    async fn github_never_takes_over_a_password_account_and_links_from_its_session(t: TestApp) {
        let (p, s) = started(&t).await;
        let ada = t.owner("ada@acme.com").await;
        let before = census(&t, "ada@acme.com").await;
        let reply = s.post("/auth/github", code(&p.github_code(GithubUser::verified(42, "ada@acme.com")))).await;
        reply.assert_error(409, "ACCOUNT_EXISTS");
        assert!(t.store.identity("GITHUB", "42").await.unwrap().is_none());
        assert_eq!(census(&t, "ada@acme.com").await, before, "nothing written");
        // Linking needs a session first, then a good code.
        s.post("/auth/github/link", json!({"code": "x"})).await.assert_error(401, "NO_AUTH_USER");
        s.call("POST", "/auth/github/link", Some(json!({"code": "bad"})), Some(&ada.access_token))
            .await
            .assert_error(401, "INVALID_TOKEN");
        let linked = s
            .call("POST", "/auth/github/link", Some(json!({"code": p.github_code(GithubUser::verified(42, "ada@acme.com"))})), Some(&ada.access_token))
            .await;
        assert_eq!(linked.status, 200, "{}", linked.body);
        assert_eq!(linked.body["provider"], json!("GITHUB"));
        assert_eq!(t.store.identity("GITHUB", "42").await.unwrap().unwrap().user_id, ada.id);
        // From then on the GitHub account signs Ada in, whatever its address.
        let signed = s.post("/auth/github", code(&p.github_code(GithubUser::verified(42, "ada@elsewhere.test")))).await;
        assert_eq!(signed.status, 200, "{}", signed.body);
        assert_eq!(signed.body["user"]["id"], json!(ada.id));
        assert!(t.store.user_by_email("ada@elsewhere.test").await.unwrap().is_none());
        // Another account cannot take the same GitHub identity.
        let bob = t.owner("bob@acme.com").await;
        s.call("POST", "/auth/github/link", Some(json!({"code": p.github_code(GithubUser::verified(42, "bob@acme.com"))})), Some(&bob.access_token))
            .await
            .assert_error(409, "ACCOUNT_EXISTS");
        assert_eq!(t.store.identity("GITHUB", "42").await.unwrap().unwrap().user_id, ada.id);
    }

    async fn github_down_or_slow_is_a_503_with_retry_after_and_nothing_written(t: TestApp) {
        let p = FakeProvider::start().await;
        let refused = refused_base().await;
        for (name, value) in [("GITHUB_URL", format!("{refused}/github")), ("GITHUB_API_URL", format!("{refused}/github-api"))] {
            let down = app_with(&t, &setting(p.settings(), name, &value));
            let reply = down.post("/auth/github", code(&p.github_code(GithubUser::verified(9, "down@github.test")))).await;
            reply.assert_error(503, "SERVICE_UNAVAILABLE");
            assert!(reply.headers.contains_key("retry-after"), "{name}: {:?}", reply.headers);
            assert_nothing_written(&t, "down@github.test", "GITHUB", "9").await;
        }
        let slow = app_with(&t, &p.settings());
        p.set_slow(true);
        let started_at = std::time::Instant::now();
        let reply = slow.post("/auth/github", code(&p.github_code(GithubUser::verified(9, "down@github.test")))).await;
        reply.assert_error(503, "SERVICE_UNAVAILABLE");
        assert!(started_at.elapsed() < oidc::SLOW, "{:?}", started_at.elapsed());
        assert_nothing_written(&t, "down@github.test", "GITHUB", "9").await;
        p.set_slow(false);
        // Each of GitHub's three calls in time (400 ms of 500), not all of
        // them (twice the timeout in all): 503 at the total bound.
        p.set_delay(std::time::Duration::from_millis(400));
        let started_at = std::time::Instant::now();
        let reply = slow.post("/auth/github", code(&p.github_code(GithubUser::verified(9, "down@github.test")))).await;
        reply.assert_error(503, "SERVICE_UNAVAILABLE");
        let took = started_at.elapsed();
        assert!(took >= std::time::Duration::from_millis(900) && took < std::time::Duration::from_millis(1150), "{took:?}");
        assert_nothing_written(&t, "down@github.test", "GITHUB", "9").await;
        p.set_delay(std::time::Duration::ZERO);
        let reply = slow.post("/auth/github", code(&p.github_code(GithubUser::verified(9, "down@github.test")))).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    async fn the_code_flow_answers_flashbacks_oauth2_response(t: TestApp) {
        let (p, s) = started(&t).await;
        let now = s.clock_now();
        let id_token = p.google_token(now, "g-code", "Lin@Gmail.test", json!({"picture": "https://lh3.example/p.jpg"}));
        let reply = s.post("/auth/google/exchange", json!({"code": p.code_for(&id_token)})).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.headers["cache-control"], "no-store");
        let state = &reply.body["authState"];
        let access = state["accessToken"].as_str().unwrap().to_owned();
        assert_eq!(reply.body, json!({"success": true, "authState": {
            "user": {"email": "lin@gmail.test", "name": "Grace Hopper", "imageUrl": "https://lh3.example/p.jpg"},
            "token": access, "accessToken": access, "refreshToken": state["refreshToken"],
            "expiresAt": now + 3600, "provider": "google"}}));
        // A working session of the new account, refreshed on the social path.
        assert_eq!(s.get("/user/profile", &access).await.status, 200);
        let refreshed = s.post("/auth/google/refresh", json!({"refresh_token": state["refreshToken"]})).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        let user = t.store.user_by_email("lin@gmail.test").await.unwrap().unwrap();
        assert!(user.validated);
        assert_eq!(t.store.identity("GOOGLE", "g-code").await.unwrap().unwrap().user_id, user.id);
        // Microsoft's token endpoint (from its discovery document) likewise.
        let ms = p.microsoft_token(now, "ms-code", "alan@contoso.test", json!({}));
        let reply = s.post("/auth/microsoft/exchange", json!({"code": p.code_for(&ms)})).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["authState"]["provider"], json!("microsoft"));
        assert_eq!(reply.body["authState"]["user"]["imageUrl"], Value::Null);
        assert!(t.store.identity("MICROSOFT", "ms-code").await.unwrap().is_some());
    }

    async fn the_code_flow_refuses_bad_codes_and_bad_id_tokens_and_writes_nothing(t: TestApp) {
        let (p, s) = started(&t).await;
        let now = s.clock_now();
        let good = p.google_token(now, "g-x", "x@gmail.test", json!({}));
        let used = p.code_for(&good);
        s.post("/auth/google/exchange", json!({"code": "never-issued"})).await.assert_error(401, "INVALID_TOKEN");
        // The ID token the code brings is checked like any other.
        for bad in [
            p.google_token(now, "g-x", "x@gmail.test", json!({"aud": "another-client"})),
            p.google_token(now, "g-x", "x@gmail.test", json!({"email_verified": false})),
            p.google_token(now, "g-x", "x@gmail.test", json!({"exp": now - 3600})),
            p.google_token_other_key(now, "g-x", "x@gmail.test"),
        ] {
            s.post("/auth/google/exchange", json!({"code": p.code_for(&bad)})).await.assert_error(401, "INVALID_TOKEN");
        }
        // Our redirect URI or secret not the provider's: refused.
        for (name, value) in [("GOOGLE_REDIRECT_URI", "https://elsewhere.example/cb"), ("GOOGLE_CLIENT_SECRET", "not-it")] {
            let wrong = app_with(&t, &setting(p.settings(), name, value));
            wrong.post("/auth/google/exchange", json!({"code": p.code_for(&good)})).await.assert_error(401, "INVALID_TOKEN");
        }
        assert_nothing_written(&t, "x@gmail.test", "GOOGLE", "g-x").await;
        assert_eq!(s.post("/auth/google/exchange", json!({"code": used})).await.status, 200);
        s.post("/auth/google/exchange", json!({"code": used})).await.assert_error(401, "INVALID_TOKEN");
        // An address with a password account: 409, nothing linked.
        t.owner("ada@acme.com").await;
        let ada = p.google_token(now, "g-ada", "ada@acme.com", json!({}));
        s.post("/auth/google/exchange", json!({"code": p.code_for(&ada)})).await.assert_error(409, "ACCOUNT_EXISTS");
        assert!(t.store.identity("GOOGLE", "g-ada").await.unwrap().is_none());
        // The provider down: 503.
        let refused = refused_base().await;
        let down = app_with(&t, &setting(p.settings(), "GOOGLE_ISSUER", &format!("{refused}/google")));
        let reply = down.post("/auth/google/exchange", json!({"code": p.code_for(&good)})).await;
        reply.assert_error(503, "SERVICE_UNAVAILABLE");
        assert!(reply.headers.contains_key("retry-after"));
    }

    async fn a_member_invited_to_use_google_proves_the_mailbox_then_links_google(t: TestApp) {
        let (p, s) = started(&t).await;
        let owner = s.owner("ada@acme.com").await;
        let invite = |method: &str| json!({"email": "lin@acme.com", "firstName": "Lin", "lastName": "Yu", "authMethod": method});
        s.call("POST", "/organization/users", Some(invite("FACEBOOK")), Some(&owner.access_token))
            .await
            .assert_error(400, "VALIDATION_ERROR");
        assert!(t.store.user_by_email("lin@acme.com").await.unwrap().is_none());
        let created = s.call("POST", "/organization/users", Some(invite("GOOGLE")), Some(&owner.access_token)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["data"]["authMethod"], json!("GOOGLE"));
        assert_eq!(created.body["data"]["pendingInvitation"], json!(true));
        // Google vouching for the address is not the invitation: 409, nothing linked.
        let lin_token = |sub: &str| p.google_token(s.clock_now(), sub, "lin@acme.com", json!({}));
        s.post("/auth/google", json!({"token": lin_token("g-lin")})).await.assert_error(409, "ACCOUNT_EXISTS");
        assert!(t.store.identity("GOOGLE", "g-lin").await.unwrap().is_none());
        let token = s.invitation_token("lin@acme.com").await;
        let pre = s.post("/user/pre-verify-email", json!({"token": token})).await;
        assert_eq!(pre.status, 200, "{}", pre.body);
        assert_eq!((&pre.body["authMethod"], &pre.body["hasPassword"]), (&json!("GOOGLE"), &json!(false)));
        // Accepting needs no password for this member: the mail proves the mailbox.
        let accepted = s.post("/user/verify-email", json!({"token": token})).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        let lin = t.store.user_by_email("lin@acme.com").await.unwrap().unwrap();
        assert!(lin.validated && lin.password_hash.is_empty());
        let members = s.get("/organization/users", &owner.access_token).await;
        let item = members.body["data"].as_array().unwrap().iter().find(|m| m["email"] == "lin@acme.com").unwrap().clone();
        assert_eq!((&item["authMethod"], &item["pendingInvitation"]), (&json!("GOOGLE"), &json!(false)));
        // Still never linked automatically: the member links from its session.
        s.post("/auth/google", json!({"token": lin_token("g-lin")})).await.assert_error(409, "ACCOUNT_EXISTS");
        let linked = s.call("POST", "/auth/google/link", Some(json!({"token": lin_token("g-lin")})), Some(&accepted.str("accessToken"))).await;
        assert_eq!(linked.status, 200, "{}", linked.body);
        let signed = s.post("/auth/google", json!({"token": lin_token("g-lin")})).await;
        assert_eq!(signed.status, 200, "{}", signed.body);
        assert_eq!(signed.body["user"]["id"], json!(lin.id));
        assert_eq!(signed.body["user"]["orgId"], json!(owner.org_id));
        s.login("lin@acme.com", PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        // A password member still must choose one to accept.
        s.call("POST", "/organization/users", Some(json!({"email": "kai@acme.com", "firstName": "Kai", "lastName": "Li"})), Some(&owner.access_token)).await;
        let token = s.invitation_token("kai@acme.com").await;
        let pre = s.post("/user/pre-verify-email", json!({"token": token})).await;
        assert_eq!(pre.body["authMethod"], json!("LOCAL"));
        s.post("/user/verify-email", json!({"token": token})).await.assert_error(400, "VALIDATION_ERROR");
    }

    async fn code_routes_of_providers_not_configured_answer_404(t: TestApp) {
        for path in ["/auth/github", "/auth/google/exchange", "/auth/microsoft/exchange"] {
            t.post(path, json!({"code": "x"})).await.assert_error(404, "NOT_FOUND");
        }
        let registered = t.register("r@acme.com").await;
        t.post("/auth/github/link", json!({"code": "x"})).await.assert_error(401, "NO_AUTH_USER");
        t.call("POST", "/auth/github/link", Some(json!({"code": "x"})), Some(&registered.str("accessToken")))
            .await
            .assert_error(404, "NOT_FOUND");
    }
}

/// `GITHUB_CLIENT_SECRET_NAME`: the secret read from Secrets Manager (moto)
/// at start, then used for the exchange; a secret that is not there
/// refuses to start, naming the secret and never a value.
#[tokio::test]
async fn the_client_secret_comes_from_secrets_manager() {
    let t = TestApp::new(Backend::Embedded).await;
    let p = FakeProvider::start().await;
    let client = secrets_manager_client();
    let name = format!("accounts-test/github-{}", uuid::Uuid::new_v4().simple());
    client
        .create_secret()
        .name(&name)
        .secret_string(oidc::CLIENT_SECRET)
        .send()
        .await
        .expect("create the secret");
    let mut settings = p.settings();
    settings.retain(|(k, _)| k != "GITHUB_CLIENT_SECRET");
    settings.push(("GITHUB_CLIENT_SECRET_NAME".into(), name.clone()));
    let pairs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut config = test_config(&pairs);
    assert_eq!(
        config.providers.github.as_ref().unwrap().client_secret,
        ClientSecret::SecretsManager(name.clone())
    );
    read_client_secrets(&mut config.providers, &client)
        .await
        .expect("read");
    let github = config.providers.github.as_ref().unwrap();
    assert_eq!(
        github.client_secret.value().unwrap().expose(),
        oidc::CLIENT_SECRET
    );
    assert_eq!(github.client_id, CLIENT_ID);
    let s = t.sharing_store(config);
    let reply = s
        .post(
            "/auth/github",
            code(&p.github_code(GithubUser::verified(77, "sm@github.test"))),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let missing = format!("{name}-missing");
    let mut config = test_config(&[
        ("GITHUB_CLIENT_ID", CLIENT_ID),
        ("GITHUB_CLIENT_SECRET_NAME", &missing),
    ]);
    let error = read_client_secrets(&mut config.providers, &client)
        .await
        .unwrap_err();
    assert!(
        error.contains("GITHUB_CLIENT_SECRET_NAME") && error.contains(&missing),
        "{error}"
    );
    assert!(!error.contains(oidc::CLIENT_SECRET));
}
