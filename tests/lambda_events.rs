//! Each function's handler on a real API Gateway HTTP API (payload 2.0)
//! event, parsed by `lambda_http` itself, as the Lambda runtime would.

use accounts::http::{Route, serve, serve_unmatched};
use accounts_tests::github::GithubUser;
use accounts_tests::mail;
use accounts_tests::oidc;
use accounts_tests::*;
use lambda_http::{Body, Context, RequestExt};
use serde_json::Value;

fn fixture(route: Route) -> String {
    let path = format!(
        "{}/fixtures/apigw-v2-{}.json",
        env!("CARGO_MANIFEST_DIR"),
        route.function_name()
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses the event as the runtime does and calls the function's handler.
async fn invoke(t: &TestApp, route: Route, event: &str) -> (u16, Value, String) {
    let mut context = Context::default();
    context.request_id = format!("lambda-request-{}", route.function_name());
    let req = lambda_http::request::from_str(event)
        .expect("lambda_http parses the fixture")
        .with_lambda_context(context);
    let response = serve(&t.app, req, route).await.unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (response.status().as_u16(), body, request_id)
}

on_both_stores! {
    async fn register_login_and_refresh_handle_their_events(t: TestApp) {
        let (status, body, request_id) = invoke(&t, Route::Register, &fixture(Route::Register)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["user"]["email"], "fixture@acme.com");
        assert_eq!(request_id, "lambda-request-post-user-register");

        // The login fixture's body is base64-encoded, as API Gateway sends binary bodies.
        let (status, body, _) = invoke(&t, Route::Login, &fixture(Route::Login)).await;
        assert_eq!(status, 200, "{body}");
        let session = t.store.session(body["tokenId"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(session.device_info, Some(serde_json::json!({"os": "ios"})));
        // The address API Gateway saw, from `requestContext.http.sourceIp`.
        assert_eq!(session.ip_address.as_deref(), Some("203.0.113.7"));

        let event = fixture(Route::Refresh).replace("REFRESH_TOKEN", body["refreshToken"].as_str().unwrap());
        let (status, refreshed, _) = invoke(&t, Route::Refresh, &event).await;
        assert_eq!(status, 200, "{refreshed}");
        assert_ne!(refreshed["refreshToken"], body["refreshToken"]);
    }

    async fn a_client_mistake_in_an_event_is_a_4xx_response(t: TestApp) {
        let event = fixture(Route::Register).replace("fixture@acme.com", "not an email");
        let (status, body, _) = invoke(&t, Route::Register, &event).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_code"], "VALIDATION_ERROR");
        let event = fixture(Route::Refresh);
        let (status, body, _) = invoke(&t, Route::Refresh, &event).await;
        assert_eq!(status, 401);
        assert_eq!(body["error_code"], "INVALID_REFRESH_TOKEN");
    }
}

/// An event for a protected route, with the caller's token and a target id.
fn protected(route: Route, token: &str, user_id: &str) -> String {
    fixture(route)
        .replace("ACCESS_TOKEN", token)
        .replace("USER_ID", user_id)
}

on_both_stores! {
    async fn protected_functions_handle_their_events(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;

        let (status, body, _) = invoke(&t, Route::Profile, &protected(Route::Profile, &ada.access_token, "")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["id"], ada.id.as_str());

        let (status, body, _) = invoke(&t, Route::Quota, &protected(Route::Quota, &ada.access_token, "")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["subscription"]["name"], "Free Trial");

        let (status, created, _) = invoke(&t, Route::CreateMember, &protected(Route::CreateMember, &ada.access_token, "")).await;
        assert_eq!(status, 201, "{created}");
        let grace = created["data"]["id"].as_str().unwrap();

        let (status, body, _) = invoke(&t, Route::ListMembers, &protected(Route::ListMembers, &ada.access_token, "")).await;
        assert_eq!((status, body["total"].as_u64()), (200, Some(2)), "{body}");

        // The userId comes from the event's path parameters.
        let (status, body, _) = invoke(&t, Route::GetUser, &protected(Route::GetUser, &ada.access_token, grace)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["userId"], grace);

        let (status, body, _) = invoke(&t, Route::UpdateRole, &protected(Route::UpdateRole, &ada.access_token, grace)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(t.role_of(grace).await, 1);

        let (status, body, _) = invoke(&t, Route::UpdateUser, &protected(Route::UpdateUser, &ada.access_token, grace)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(t.store.user(grace).await.unwrap().unwrap().name, "Augusta");

        // The same events without a valid token are 401s, not Lambda errors.
        let (status, body, _) = invoke(&t, Route::GetUser, &protected(Route::GetUser, "forged", grace)).await;
        assert_eq!((status, body["error_code"].as_str()), (401, Some("INVALID_TOKEN")));
    }
}

on_both_stores! {
    async fn organization_management_functions_handle_their_events(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let event = |route: Route, user_id: &str| protected(route, &ada.access_token, user_id).replace("ORG_ID", &ada.org_id);
        let (status, created, _) = invoke(&t, Route::CreateMember, &event(Route::CreateMember, "")).await;
        assert_eq!(status, 201, "{created}");
        let grace = created["data"]["id"].as_str().unwrap();
        let (status, body, _) = invoke(&t, Route::GetMember, &event(Route::GetMember, grace)).await;
        assert_eq!((status, body["id"].as_str()), (200, Some(grace)), "{body}");
        let (status, body, _) = invoke(&t, Route::UpdateMember, &event(Route::UpdateMember, grace)).await;
        assert_eq!((status, body["data"]["orgRole"].as_u64()), (200, Some(1)), "{body}");
        for route in [Route::ResendInvitation, Route::ActivateMember, Route::GetOrganization, Route::UpdateOrganization] {
            let (status, body, _) = invoke(&t, route, &event(route, grace)).await;
            assert_eq!(status, 200, "{route:?}: {body}");
        }
        assert!(t.store.organization(&ada.org_id).await.unwrap().unwrap().mfa_enforced);
        let (status, body, _) = invoke(&t, Route::RemoveMember, &event(Route::RemoveMember, grace)).await;
        assert_eq!(status, 200, "{body}");
        // `?includeDeleted=true` as API Gateway passes it.
        let listed = |query: bool| {
            let list = event(Route::ListMembers, "");
            if !query { return list; }
            list.replace("\"rawQueryString\": \"\"", "\"rawQueryString\": \"includeDeleted=true\", \"queryStringParameters\": {\"includeDeleted\": \"true\"}")
        };
        let (_, body, _) = invoke(&t, Route::ListMembers, &listed(false)).await;
        assert_eq!(body["total"], 1, "{body}");
        let (_, body, _) = invoke(&t, Route::ListMembers, &listed(true)).await;
        assert_eq!(body["total"], 2, "{body}");

        let routes = [
            (Route::ReplaceUserSettings, Route::GetUserSettings, Route::MergeUserSettings, Route::DeleteUserSettings),
            (Route::ReplaceOrgSettings, Route::GetOrgSettings, Route::MergeOrgSettings, Route::DeleteOrgSettings),
        ];
        for (replace, get, merge, delete) in routes {
            for route in [replace, merge, delete] {
                let (status, body, _) = invoke(&t, route, &event(route, "")).await;
                assert_eq!(status, 200, "{route:?}: {body}");
            }
            let (status, body, _) = invoke(&t, get, &event(get, "")).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["settings"].as_object().unwrap().len(), 1, "{body}");
        }
    }
}

on_both_stores! {
    async fn lifecycle_functions_handle_their_events(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let second = t.login("ada@acme.com", PASSWORD).await;
        let third = t.login("ada@acme.com", PASSWORD).await;
        let event = |route: Route, token: &str| protected(route, token, "");

        let (status, body, _) = invoke(&t, Route::ListSessions, &event(Route::ListSessions, &ada.access_token)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["sessions"].as_array().unwrap().len(), 3);
        // The same function serves Flashback's older path.
        let older = event(Route::ListSessions, &ada.access_token)
            .replace("GET /sessions", "GET /token")
            .replace("\"/sessions\"", "\"/token\"");
        let (status, same, _) = invoke(&t, Route::ListSessions, &older).await;
        // ... under `tokens`, as Flashback's getTokens reads them.
        assert_eq!((status, &same["tokens"]), (200, &body["sessions"]), "{same}");
        assert!(same.get("sessions").is_none(), "{same}");

        let revoke = event(Route::RevokeSession, &ada.access_token).replace("SESSION_ID", &second.str("tokenId"));
        let (status, body, _) = invoke(&t, Route::RevokeSession, &revoke).await;
        assert_eq!((status, body["message"].as_str()), (200, Some("Session revoked")), "{body}");
        assert!(t.store.session(&second.str("tokenId")).await.unwrap().unwrap().revoked);
        // DELETE /token/{tokenId}: the same function, the other parameter name.
        let delete = event(Route::RevokeSession, &ada.access_token)
            .replace("POST /sessions/{id}/revoke", "DELETE /token/{tokenId}")
            .replace("/sessions/SESSION_ID/revoke", "/token/SESSION_ID")
            .replace("\"POST\"", "\"DELETE\"")
            .replace("\"id\"", "\"tokenId\"")
            .replace("SESSION_ID", &third.str("tokenId"));
        let (status, body, _) = invoke(&t, Route::RevokeSession, &delete).await;
        assert_eq!(status, 200, "{body}");
        assert!(t.store.session(&third.str("tokenId")).await.unwrap().unwrap().revoked);

        let logout = fixture(Route::Logout).replace("REFRESH_TOKEN", &ada.refresh_token);
        let (status, body, _) = invoke(&t, Route::Logout, &logout).await;
        assert_eq!((status, body["message"].as_str()), (200, Some("Logged out")), "{body}");
        let (status, body, _) = invoke(&t, Route::Profile, &event(Route::Profile, &ada.access_token)).await;
        assert_eq!((status, body["error_code"].as_str()), (401, Some("SESSION_REVOKED")));

        let fresh = t.login("ada@acme.com", PASSWORD).await;
        let (status, body, _) = invoke(&t, Route::RevokeAllSessions, &event(Route::RevokeAllSessions, &fresh.str("accessToken"))).await;
        assert_eq!((status, body["revoked"].as_u64()), (200, Some(1)), "{body}");

        let last = t.login("ada@acme.com", PASSWORD).await;
        let (status, body, _) = invoke(&t, Route::Deactivate, &event(Route::Deactivate, &last.str("accessToken"))).await;
        assert_eq!((status, body["message"].as_str()), (200, Some("Account deactivated")), "{body}");
        assert!(!t.store.user(&ada.id).await.unwrap().unwrap().is_active());

        let (status, body, _) = invoke(&t, Route::Health, &fixture(Route::Health)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, serde_json::json!({"success": true, "status": "ok", "checks": {"store": "ok"}}));
    }
}

/// Every route's function has its event here (a new route needs one),
/// for one of the routes it serves.
#[test]
fn every_function_has_an_event_fixture() {
    for route in Route::ALL {
        let event: Value = serde_json::from_str(&fixture(route)).unwrap();
        let key = event["routeKey"].as_str().unwrap();
        let served = Route::ALL.iter().any(|r| {
            r.function_name() == route.function_name()
                && key == format!("{} {}", r.method(), r.path())
        });
        assert!(
            served,
            "{route:?}: the fixture's routeKey {key} is not its function's"
        );
    }
}

on_both_stores! {
    async fn key_and_mail_functions_handle_their_events(t: TestApp) {
        let (status, body, _) = invoke(&t, Route::Jwks, &fixture(Route::Jwks)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["keys"][0]["kid"], test_keys().active().unwrap().kid.as_str());
        let (status, body, _) = invoke(&t, Route::OpenIdConfiguration, &fixture(Route::OpenIdConfiguration)).await;
        assert_eq!((status, body["issuer"].as_str()), (200, Some(ISSUER)), "{body}");

        let registered = t.register("ada@acme.com").await;
        let mailer = t.mailer();
        let app_url = t.app.config.mail.app_url.clone();
        let verify = mail::link_token(&mailer.deliver().await[0], &app_url, "verify-email");
        let with_token = |route: Route, token: &str| fixture(route).replace("MAIL_TOKEN", token);
        let (status, body, _) = invoke(&t, Route::PreVerifyEmail, &with_token(Route::PreVerifyEmail, &verify)).await;
        assert_eq!(status, 200, "{body}");
        // Signed in through the mail route: its tokens work.
        let (status, body, _) = invoke(&t, Route::VerifyEmail, &with_token(Route::VerifyEmail, &verify)).await;
        assert_eq!(status, 200, "{body}");
        let me = t.get("/user/profile", body["accessToken"].as_str().unwrap()).await;
        assert_eq!((me.status, me.body["data"]["validated"].as_bool()), (200, Some(true)), "{}", me.body);
        let id = registered.str("verificationTokenId");
        let resend = fixture(Route::ResendVerification).replace("VERIFICATION_ID", &id);
        let (status, body, _) = invoke(&t, Route::ResendVerification, &resend).await;
        assert_eq!(status, 200, "{body}");

        let asked = fixture(Route::RequestPasswordReset).replace("EMAIL", "ada@acme.com");
        let (status, body, _) = invoke(&t, Route::RequestPasswordReset, &asked).await;
        assert_eq!(status, 200, "{body}");
        let reset = mail::link_token(&mailer.deliver().await[0], &app_url, "reset-password");
        let (status, body, _) = invoke(&t, Route::ResetPassword, &with_token(Route::ResetPassword, &reset)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(t.login("ada@acme.com", "Another-pass-456").await.status, 200);
    }
}

/// The `default-route` function on a `$default` event: what API Gateway
/// sends when no route matches.
async fn invoke_default_route(method: &str, path: &str) -> (u16, Value, String) {
    let path_fixture = format!(
        "{}/fixtures/apigw-v2-default-route.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event = std::fs::read_to_string(&path_fixture)
        .unwrap_or_else(|e| panic!("{path_fixture}: {e}"))
        .replace("REQUEST_METHOD", method)
        .replace("REQUEST_PATH", path);
    let mut context = Context::default();
    context.request_id = "lambda-request-default-route".into();
    let req = lambda_http::request::from_str(&event)
        .expect("lambda_http parses the fixture")
        .with_lambda_context(context);
    let response = serve_unmatched(req).await.unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (response.status().as_u16(), body, request_id)
}

#[tokio::test]
async fn the_default_route_answers_unmatched_events_with_the_envelope() {
    // A path of the API with a method it does not serve.
    for (method, path) in [
        ("DELETE", "/user/login"),
        ("POST", "/user/abc-123"),
        ("GET", "/user/abc-123/role"),
    ] {
        let (status, body, request_id) = invoke_default_route(method, path).await;
        assert_eq!(status, 405, "{method} {path}: {body}");
        assert_eq!(body["success"], false);
        assert_eq!(body["error_code"], "METHOD_NOT_ALLOWED");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert_eq!(request_id, "lambda-request-default-route");
    }
    // No such path.
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/users"),
        ("POST", "/user/abc/role/extra"),
    ] {
        let (status, body, _) = invoke_default_route(method, path).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert_eq!(body["success"], false);
        assert_eq!(body["error_code"], "NOT_FOUND");
    }
}

on_both_stores! {
    async fn social_sign_in_and_link_handle_their_events(t: TestApp) {
        let provider = oidc::FakeProvider::start().await;
        let s = oidc::app_with(&t, &provider.settings());
        let now = s.clock_now();
        let ada = s.register("ada@acme.com").await;
        let claims = serde_json::json!({});
        // (sign-in, link, the body's placeholder, the sign-in's and the link's proof, loginMethod)
        let cases = [
            (Route::GoogleSignIn, Route::GoogleLink, "ID_TOKEN",
             provider.google_token(now, "g-event", "event@social.test", claims.clone()),
             provider.google_token(now, "g-ada", "ada@gmail.test", claims.clone()), "GOOGLE"),
            (Route::GithubSignIn, Route::GithubLink, "AUTH_CODE",
             provider.github_code(GithubUser::verified(1234, "octo@social.test")),
             provider.github_code(GithubUser::verified(99, "ada@github.test")), "GITHUB"),
        ];
        for (sign_in, link, placeholder, proof, link_proof, method) in cases {
            let event = fixture(sign_in).replace(placeholder, &proof);
            let (status, body, _) = invoke(&s, sign_in, &event).await;
            assert_eq!(status, 200, "{sign_in:?}: {body}");
            let session = s.store.session(body["tokenId"].as_str().unwrap()).await.unwrap().unwrap();
            assert_eq!(session.ip_address.as_deref(), Some("203.0.113.7"));
            assert_eq!(session.login_method, method);
            let event = fixture(link)
                .replace("ACCESS_TOKEN", &ada.str("accessToken"))
                .replace(placeholder, &link_proof);
            let (status, body, _) = invoke(&s, link, &event).await;
            assert_eq!(status, 200, "{link:?}: {body}");
            assert_eq!(body["provider"], method);
        }
        for (route, token) in [
            (Route::GoogleExchange, provider.google_token(now, "g-ev", "g-ev@social.test", serde_json::json!({}))),
            (Route::MicrosoftExchange, provider.microsoft_token(now, "m-ev", "m-ev@social.test", serde_json::json!({}))),
        ] {
            let event = fixture(route).replace("AUTH_CODE", &provider.code_for(&token));
            let (status, body, _) = invoke(&s, route, &event).await;
            assert_eq!(status, 200, "{route:?}: {body}");
            assert!(body["authState"]["accessToken"].is_string(), "{body}");
        }
    }
}

on_both_stores! {
    async fn mfa_functions_handle_their_events(t: TestApp) {
        use accounts::auth::totp;
        let ada = t.owner("ada@acme.com").await;
        let with_token = |route: Route, token: &str| fixture(route).replace("ACCESS_TOKEN", token);
        let (status, set_up, _) = invoke(&t, Route::MfaSetup, &with_token(Route::MfaSetup, &ada.access_token)).await;
        assert_eq!(status, 200, "{set_up}");
        let secret = totp::decode_secret(set_up["data"]["secret"].as_str().unwrap()).unwrap();
        let verify = with_token(Route::MfaVerifySetup, &ada.access_token)
            .replace("MFA_CODE", &totp::code_at(&secret, t.clock_now()));
        let (status, body, _) = invoke(&t, Route::MfaVerifySetup, &verify).await;
        assert_eq!(status, 200, "{body}");
        t.clock.advance(totp::STEP_SECONDS);
        let pending = t.login("ada@acme.com", PASSWORD).await.str("accessToken");
        for route in [Route::MfaStatus, Route::MfaMethods] {
            let (status, body, _) = invoke(&t, route, &with_token(route, &pending)).await;
            assert_eq!(status, 200, "{route:?}: {body}");
        }
        let login = with_token(Route::MfaVerifyLogin, &pending)
            .replace("MFA_CODE", &totp::code_at(&secret, t.clock_now()));
        let (status, body, _) = invoke(&t, Route::MfaVerifyLogin, &login).await;
        assert_eq!(status, 200, "{body}");
        let session = t.store.session(body["tokenId"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(session.ip_address.as_deref(), Some("203.0.113.7"));
        assert!(session.mfa_at.is_some());

        // The changes, on the session that just passed MFA (a fresh proof).
        let full = body["fullAccessToken"].as_str().unwrap().to_owned();
        for route in [Route::MfaPrimary, Route::MfaBackupCodes, Route::MfaDisable, Route::MfaEnable] {
            let event = with_token(route, &full).replace("MFA_CODE", "");
            let (status, body, _) = invoke(&t, route, &event).await;
            assert_eq!(status, 200, "{route:?}: {body}");
        }

        // The organization's: enforcement, and a member's reset.
        let by = Member { access_token: full.clone(), ..ada.clone() };
        let grace = t.member(&by, "grace@acme.com", 0).await;
        let (status, body, _) = invoke(&t, Route::MfaEnforce, &with_token(Route::MfaEnforce, &full)).await;
        assert_eq!(status, 200, "{body}");
        assert!(t.store.organization(&ada.org_id).await.unwrap().unwrap().mfa_enforced);
        let event = with_token(Route::MfaReset, &full).replace("TARGET_ID", &grace.id);
        let (status, body, _) = invoke(&t, Route::MfaReset, &event).await;
        assert_eq!(status, 200, "{body}");
        assert!(t.store.user(&grace.id).await.unwrap().unwrap().mfa_enroll);
    }
}

on_both_stores! {
    async fn magic_link_functions_handle_their_events(t: TestApp) {
        use accounts::model::mail::MailKind;
        use accounts_tests::mfa::{mailed_link, setup_link, verify_login_with_link};
        let ada = t.owner("ada@acme.com").await;
        let with_token = |route: Route, token: &str| fixture(route).replace("ACCESS_TOKEN", token);
        assert_eq!(setup_link(&t, &ada.access_token).await.status, 200);
        let link = mailed_link(&t, "ada@acme.com", MailKind::MfaActivation).await;
        let event = with_token(Route::MfaMagicLinkActivate, &ada.access_token).replace("LINK_TOKEN", &link);
        let (status, body, _) = invoke(&t, Route::MfaMagicLinkActivate, &event).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["enabledMethods"], serde_json::json!(["MAGIC_LINK"]));
        let pending = t.login("ada@acme.com", PASSWORD).await.str("accessToken");
        let (status, body, _) = invoke(&t, Route::MfaMagicLinkSend, &with_token(Route::MfaMagicLinkSend, &pending)).await;
        assert_eq!(status, 200, "{body}");
        let link = mailed_link(&t, "ada@acme.com", MailKind::MagicLink).await;
        let signed_in = verify_login_with_link(&t, &pending, &link).await;
        assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    }
}
