//! An organization's MFA, on both stores: enforcement (`mfa/organization/
//! enforce`: a member without a second factor signs in to an `mfa_enroll`
//! token that only sets one up, and verify-setup starts its session), an
//! administrator's reset of a member's MFA (`mfa/reset`), and the second
//! factor a password change asks for.

use accounts::auth::totp;
use accounts::http::Route;
use accounts::model::mail::MailKind;
use accounts::role::Role;
use accounts_tests::mfa::*;
use accounts_tests::race::race;
use accounts_tests::routes::{Bearer, Cast, call_of};
use accounts_tests::*;
use accounts_tests::{mail, oidc};
use serde_json::{Value, json};

async fn enforce(t: &TestApp, token: &str, enforced: bool) -> Reply {
    let body = json!({"enforced": enforced});
    t.call("POST", "/mfa/organization/enforce", Some(body), Some(token))
        .await
}

async fn reset(t: &TestApp, token: &str, user_id: &str, enable: bool) -> Reply {
    let body = json!({"resetUserId": user_id, "enable": enable});
    t.call("POST", "/mfa/reset", Some(body), Some(token)).await
}

/// A sign-in's answer that must enroll first: login's shape, `mfaRequired`,
/// no refresh token and no session id, an `mfa_enroll` token of 5 minutes.
#[track_caller]
fn assert_enrolling(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["mfaRequired"], json!(true), "{}", reply.body);
    assert!(reply.body["refreshToken"].is_null(), "{}", reply.body);
    assert!(reply.body["tokenId"].is_null(), "{}", reply.body);
    let token = reply.str("accessToken");
    let claims = claims(&token);
    assert_eq!(claims["type"], json!("mfa_enroll"), "{claims}");
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 300, "5 minutes");
    token
}

/// A password sign-in of `email` that must enroll first: its token.
async fn enroll_login(t: &TestApp, email: &str) -> String {
    assert_enrolling(&t.login(email, PASSWORD).await)
}

/// Sets a factor up with an enrollment's token: the secret, and
/// verify-setup's answer (the session it started).
async fn enroll_with(t: &TestApp, token: &str) -> (Vec<u8>, Reply) {
    let set_up = setup(t, token).await;
    assert_eq!(set_up.status, 200, "{}", set_up.body);
    let secret = set_up.body["data"]["secret"].as_str().unwrap();
    let secret = totp::decode_secret(secret).unwrap();
    let verified = verify_setup(t, token, &code_now(t, &secret)).await;
    (secret, verified)
}

async fn live_sessions(t: &TestApp, user_id: &str) -> usize {
    let user = t.store.user(user_id).await.unwrap().expect("user");
    let sessions = t.store.user_sessions(user_id).await.unwrap();
    let now = t.clock_now();
    sessions
        .iter()
        .filter(|s| s.is_live_for(&user, now))
        .count()
}

on_both_stores! {
    async fn under_enforcement_a_member_without_mfa_enrolls_before_any_session(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let grace = t.member(&ada, "grace@acme.com", Role::User.value()).await;
        // A USER may not turn it on; nothing is written.
        enforce(&t, &grace.access_token, true).await.assert_error(403, "INSUFFICIENT_PERMISSIONS");
        assert!(!t.store.organization(&ada.org_id).await.unwrap().unwrap().mfa_enforced);

        let enforced = enforce(&t, &ada.access_token, true).await;
        assert_eq!(enforced.status, 200, "{}", enforced.body);
        assert_eq!(enforced.body["data"], json!({"orgId": ada.org_id, "mfaEnforced": true}));
        assert!(t.store.organization(&ada.org_id).await.unwrap().unwrap().mfa_enforced);
        let shown = t.get(&format!("/organization/{}", ada.org_id), &ada.access_token).await;
        assert_eq!(shown.body["data"]["mfaEnforced"], json!(true), "{}", shown.body);

        // The sessions that existed go on, refreshes included; the profile
        // says MFA is required of the member now (mfa/status's isRequired).
        let profile = t.get("/user/profile", &grace.access_token).await;
        assert_eq!(profile.status, 200, "{}", profile.body);
        assert_eq!(profile.body["data"]["mfaRequired"], json!(true), "{}", profile.body);
        let refreshed = t.refresh(&grace.refresh_token).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        let old_session = refreshed.str("accessToken");

        // A new sign-in starts none: it enrolls first.
        let sessions = t.store.user_sessions(&grace.id).await.unwrap().len();
        let token = enroll_login(&t, "grace@acme.com").await;
        assert_eq!(t.store.user_sessions(&grace.id).await.unwrap().len(), sessions, "no session yet");
        let status = t.get("/mfa/status", &token).await;
        assert_eq!(status.body["data"], json!({"isEnabled": false, "isRequired": true,
            "isEnforced": true, "enabledMethods": [], "sessionVerified": false}), "{}", status.body);
        assert_eq!(t.get("/mfa/methods", &token).await.body["data"], json!(["GOOGLE_AUTH", "MAGIC_LINK"]));
        verify_login(&t, &token, "123456").await.assert_error(403, "MFA_REQUIRED");
        t.get("/user/profile", &token).await.assert_error(403, "MFA_REQUIRED");

        let (secret, verified) = enroll_with(&t, &token).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(verified.headers["cache-control"], "no-store");
        let data = &verified.body["data"];
        assert_eq!((&data["isEnabled"], &data["enabledMethods"]), (&json!(true), &json!(["GOOGLE_AUTH"])));
        let full = data["fullAccessToken"].as_str().expect("a full token").to_owned();
        assert_eq!(data["accessToken"].as_str(), Some(full.as_str()));
        let full_claims = claims(&full);
        assert_eq!(full_claims["type"], json!("access"));
        assert_eq!(full_claims["amr"], json!(["pwd", "otp"]));
        assert_eq!(t.get("/user/profile", &full).await.status, 200);
        let session = t.store.session(data["tokenId"].as_str().unwrap()).await.unwrap().expect("the session");
        assert_eq!(session.mfa_at, Some(t.clock_now()));
        assert_eq!(t.get("/mfa/status", &full).await.body["data"]["sessionVerified"], json!(true));
        let next = t.refresh(data["refreshToken"].as_str().unwrap()).await;
        assert_eq!(next.status, 200, "{}", next.body);
        let user = t.store.user(&grace.id).await.unwrap().unwrap();
        assert!(user.mfa_required && !user.mfa_enroll);
        assert!(record(&t, &grace.id).await.unwrap().is_enabled());
        // As at any verify-setup, the sessions signed in without it end.
        t.get("/user/profile", &old_session).await.assert_error(401, "SESSION_REVOKED");
        // The token started its session: it enrolls nothing more.
        verify_setup(&t, &token, &code_now(&t, &secret)).await.assert_error(403, "MFA_REQUIRED");
        assert_eq!(live_sessions(&t, &grace.id).await, 1);

        // From now on it signs in with the factor, like anyone with MFA.
        let pending = pending_login(&t, "grace@acme.com").await;
        assert_eq!(claims(&pending)["type"], json!("mfa_pending"));
        t.clock.advance(totp::STEP_SECONDS);
        assert_eq!(verify_login(&t, &pending, &code_now(&t, &secret)).await.status, 200);
    }

    async fn a_member_with_mfa_still_gets_mfa_pending_and_enforcement_can_end(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        t.member(&ada, "grace@acme.com", Role::User.value()).await;
        enroll(&t, &ada.access_token).await;
        assert_eq!(enforce(&t, &ada.access_token, true).await.status, 200);
        assert_eq!(claims(&pending_login(&t, "ada@acme.com").await)["type"], json!("mfa_pending"));
        enroll_login(&t, "grace@acme.com").await;
        let ended = enforce(&t, &ada.access_token, false).await;
        assert_eq!(ended.status, 200, "{}", ended.body);
        assert_eq!(ended.body["data"]["mfaEnforced"], json!(false));
        assert!(!t.store.organization(&ada.org_id).await.unwrap().unwrap().mfa_enforced);
        let login = t.login("grace@acme.com", PASSWORD).await;
        assert_eq!(login.body["mfaRequired"], json!(false), "{}", login.body);
        assert!(login.body["refreshToken"].is_string(), "{}", login.body);
    }

    async fn an_enroll_token_is_refused_on_every_route_but_the_enrollment_ones(t: TestApp) {
        let cast = Cast::new(&t).await;
        assert_eq!(enforce(&t, &cast.owner.access_token, true).await.status, 200);
        let token = enroll_login(&t, &cast.owner.email).await;
        let mut refused = 0;
        for route in Route::ALL {
            let call = call_of(route, &cast);
            if call.bearer == Bearer::None {
                continue;
            }
            let reply = t.send_call(&call, Some(&token)).await;
            if route.accepts_enroll_token() {
                // Accepted (the table's code of verify-setup is a wrong one).
                assert!(matches!(reply.status, 200 | 400), "{route:?}: {}", reply.body);
                assert_ne!(reply.code(), "MFA_REQUIRED", "{route:?}: {}", reply.body);
            } else {
                assert_eq!(reply.status, 403, "{route:?}: {}", reply.body);
                assert_eq!(reply.code(), "MFA_REQUIRED", "{route:?}: {}", reply.body);
                refused += 1;
            }
        }
        assert!(refused > 30, "{refused} routes checked");
        assert!(!Route::MfaVerifyLogin.accepts_enroll_token(), "verify-login was in the loop");
        // The organization is as it was: no route acted on the token.
        let org = t.store.organization(&cast.owner.org_id).await.unwrap().unwrap();
        assert!(org.mfa_enforced);
        assert_eq!(t.role_of(&cast.member.id).await, Role::User.value());
    }

    async fn every_way_in_enrolls_under_enforcement(t: TestApp) {
        // An invitation's acceptance (verify-email) signs in like login.
        let ada = t.owner("ada@acme.com").await;
        assert_eq!(enforce(&t, &ada.access_token, true).await.status, 200);
        let body = json!({"email": "kai@acme.com", "firstName": "Kai", "lastName": "K"});
        let created = t.call("POST", "/organization/users", Some(body), Some(&ada.access_token)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let kai = created.body["data"]["id"].as_str().unwrap().to_owned();
        let token = assert_enrolling(&t.accept_invitation("kai@acme.com", PASSWORD).await);
        let user = t.store.user(&kai).await.unwrap().unwrap();
        assert!(user.validated && !user.password_hash.is_empty(), "the invitation is accepted");
        assert!(t.store.user_sessions(&kai).await.unwrap().is_empty(), "no session yet");
        let (_, verified) = enroll_with(&t, &token).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(live_sessions(&t, &kai).await, 1);

        // A social sign-in (through the same start of a session as login).
        let (p, s) = oidc::started(&t).await;
        let id_token = |s: &TestApp| p.google_token(s.clock_now(), "g-mia", "mia@acme.com", json!({}));
        let first = s.post("/auth/google", json!({"token": id_token(&s)})).await;
        assert_eq!(first.status, 200, "{}", first.body);
        assert_eq!(enforce(&s, first.body["accessToken"].as_str().unwrap(), true).await.status, 200);
        let again = s.post("/auth/google", json!({"token": id_token(&s)})).await;
        let token = assert_enrolling(&again);
        let (_, verified) = enroll_with(&s, &token).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        let session = t.store.session(verified.body["data"]["tokenId"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(session.login_method, "GOOGLE");
        assert_eq!(claims(verified.body["data"]["fullAccessToken"].as_str().unwrap())["amr"], json!(["fed", "otp"]));
    }

    async fn of_two_enrollments_racing_with_one_token_exactly_one_starts_a_session(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        assert_eq!(enforce(&t, &ada.access_token, true).await.status, 200);
        let token = enroll_login(&t, "ada@acme.com").await;
        let set_up = setup(&t, &token).await;
        let secret = totp::decode_secret(set_up.body["data"]["secret"].as_str().unwrap()).unwrap();
        let code = code_now(&t, &secret);
        let mut racers = Vec::new();
        for _ in 0..2 {
            let (t, token, code) = (t.clone(), token.clone(), code.clone());
            racers.push(async move { verify_setup(&t, &token, &code).await });
        }
        let raced = race(racers).await;
        raced.assert_overlapped_on(t.backend);
        let statuses: Vec<u16> = raced.answers.iter().map(|r| r.status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(t.store.user_sessions(&ada.id).await.unwrap().iter().filter(|s| s.mfa_at.is_some()).count(), 1);
        assert!(record(&t, &ada.id).await.unwrap().is_enabled());
    }

    async fn the_last_method_stays_on_while_enforced(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        enroll(&t, &ada.access_token).await;
        assert_eq!(enforce(&t, &ada.access_token, true).await.status, 200);
        let body = json!({"mfaType": "GOOGLE_AUTH"});
        let disabled = t.call("POST", "/mfa/disable", Some(body.clone()), Some(&ada.access_token)).await;
        disabled.assert_error(409, "MFA_ENFORCED");
        assert!(record(&t, &ada.id).await.unwrap().is_enabled());
        assert!(t.store.user(&ada.id).await.unwrap().unwrap().mfa_required);
        assert_eq!(enforce(&t, &ada.access_token, false).await.status, 200);
        let disabled = t.call("POST", "/mfa/disable", Some(body), Some(&ada.access_token)).await;
        assert_eq!(disabled.status, 200, "{}", disabled.body);
    }

    async fn an_admins_reset_removes_a_members_mfa_and_ends_its_sessions(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let ian = t.member(&ada, "ian@acme.com", Role::Administrators.value()).await;
        let grace = t.member(&ada, "grace@acme.com", Role::User.value()).await;
        let enrolled = enroll(&t, &grace.access_token).await;
        let pending = pending_login(&t, "grace@acme.com").await;
        let second = verify_login(&t, &pending, &code_now(&t, &enrolled.secret)).await;
        assert_eq!(second.status, 200, "{}", second.body);

        let done = reset(&t, &ian.access_token, &grace.id, false).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(done.body["message"], json!("MFA reset"));
        let stored = record(&t, &grace.id).await.expect("the record");
        assert!(stored.totp.is_none() && stored.pending_totp.is_none(), "{stored:?}");
        assert!(stored.backup_codes.is_empty() && stored.primary.is_none(), "{stored:?}");
        let user = t.store.user(&grace.id).await.unwrap().unwrap();
        assert!(!user.mfa_required && !user.mfa_enroll, "{user:?}");
        // Every session of the member ended, refresh tokens and all.
        assert_eq!(live_sessions(&t, &grace.id).await, 0);
        t.get("/user/profile", &grace.access_token).await.assert_error(401, "SESSION_REVOKED");
        t.refresh(&second.str("refreshToken")).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        // The caller's own session is untouched; the member signs in with its password alone.
        assert_eq!(t.get("/user/profile", &ian.access_token).await.status, 200);
        let login = t.login("grace@acme.com", PASSWORD).await;
        assert_eq!(login.body["mfaRequired"], json!(false), "{}", login.body);
        assert!(login.body["refreshToken"].is_string());

        // With enable: it enrolls again at its next sign-in, enforced or not.
        let again = reset(&t, &ada.access_token, &grace.id, true).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert!(!t.store.organization(&ada.org_id).await.unwrap().unwrap().mfa_enforced);
        assert!(t.store.user(&grace.id).await.unwrap().unwrap().mfa_enroll);
        t.refresh(&login.str("refreshToken")).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        let token = enroll_login(&t, "grace@acme.com").await;
        let status = t.get("/mfa/status", &token).await;
        assert_eq!((&status.body["data"]["isRequired"], &status.body["data"]["isEnforced"]), (&json!(true), &json!(false)));
        let (_, verified) = enroll_with(&t, &token).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        let user = t.store.user(&grace.id).await.unwrap().unwrap();
        assert!(user.mfa_required && !user.mfa_enroll, "the enrollment clears the request");
    }

    async fn a_reset_acts_only_where_the_role_rules_let_it(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let ian = t.member(&ada, "ian@acme.com", Role::Administrators.value()).await;
        let wes = t.member(&ada, "wes@acme.com", Role::Workspaces.value()).await;
        let grace = t.member(&ada, "grace@acme.com", Role::User.value()).await;
        let other = t.owner("zoe@other.com").await;
        for member in [&ada, &ian, &grace, &other] {
            enroll(&t, &member.access_token).await;
        }
        let still_on = |id: String| { let t = t.clone(); async move { record(&t, &id).await.unwrap().is_enabled() } };
        // Below ADMINISTRATORS: refused, whoever the target.
        reset(&t, &grace.access_token, &ian.id, false).await.assert_error(403, "INSUFFICIENT_PERMISSIONS");
        reset(&t, &wes.access_token, &grace.id, false).await.assert_error(403, "INSUFFICIENT_PERMISSIONS");
        // ADMINISTRATORS never on an OWNER.
        reset(&t, &ian.access_token, &ada.id, true).await.assert_error(403, "INSUFFICIENT_PERMISSIONS");
        // Another organization's user is no user at all, as is a malformed id.
        reset(&t, &ada.access_token, &other.id, false).await.assert_error(404, "USER_NOT_FOUND");
        reset(&t, &ian.access_token, "not-a-user", false).await.assert_error(404, "USER_NOT_FOUND");
        // One's own MFA goes by mfa/disable, with its fresh proof.
        reset(&t, &ada.access_token, &ada.id, false).await.assert_error(400, "VALIDATION_ERROR");
        let missing = t.call("POST", "/mfa/reset", Some(json!({"enable": true})), Some(&ada.access_token)).await;
        missing.assert_error(400, "VALIDATION_ERROR");
        for member in [&ada, &ian, &grace, &other] {
            assert!(still_on(member.id.clone()).await, "{} untouched", member.email);
        }
        // OWNER on ADMINISTRATORS, ADMINISTRATORS on a USER: allowed.
        assert_eq!(reset(&t, &ada.access_token, &ian.id, false).await.status, 200);
        // Its sessions ended with it: it signs in again, without MFA now.
        t.get("/user/profile", &ian.access_token).await.assert_error(401, "SESSION_REVOKED");
        let ian_again = t.login("ian@acme.com", PASSWORD).await.str("accessToken");
        assert_eq!(reset(&t, &ian_again, &grace.id, false).await.status, 200);
        assert!(!still_on(ian.id.clone()).await && !still_on(grace.id.clone()).await);
    }

    async fn a_password_change_with_mfa_on_needs_a_second_factor_within_15_minutes(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        let path = format!("/user/{}", ada.id);
        let hash = || { let t = t.clone(); let id = ada.id.clone(); async move { t.store.user(&id).await.unwrap().unwrap().password_hash } };
        let before = hash().await;
        t.clock.advance(16 * 60);
        let change = json!({"password": "Another-pass-456", "currentPassword": PASSWORD});
        t.put(&path, change.clone(), &ada.access_token).await.assert_error(403, "MFA_REQUIRED");
        assert_eq!(hash().await, before, "the password is as it was");
        // The current password is not even tried: no attempt counted.
        assert!(t.store.login_throttle("ada@acme.com").await.unwrap().is_none());
        // A fresh second factor: the change goes through.
        let pending = pending_login(&t, "ada@acme.com").await;
        let fresh = verify_login(&t, &pending, &code_now(&t, &enrolled.secret)).await;
        assert_eq!(fresh.status, 200, "{}", fresh.body);
        let changed = t.put(&path, change, &fresh.str("fullAccessToken")).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        assert_ne!(hash().await, before);
        // MFA stays on after the change.
        let login = t.login("ada@acme.com", "Another-pass-456").await;
        assert_eq!(claims(&pending_or(&login))["type"], json!("mfa_pending"), "{}", login.body);
    }

    async fn a_password_reset_leaves_mfa_on(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        let mailer = t.mailer();
        mailer.deliver().await;
        let asked = t.post("/user/request-reset-password", json!({"email": "ada@acme.com"})).await;
        assert_eq!(asked.status, 200, "{}", asked.body);
        let mails = mailer.deliver().await;
        let mail = mails.iter().find(|m| m.kind == MailKind::Reset).expect("a reset mail");
        let link = mail::link_token(mail, &t.app.config.mail.app_url, "reset-password");
        let done = t.post("/user/reset-password", json!({"token": link, "newPassword": "Another-pass-456"})).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body["refreshToken"].is_null(), "no session from the reset: {}", done.body);
        assert!(record(&t, &ada.id).await.unwrap().is_enabled());
        assert!(t.store.user(&ada.id).await.unwrap().unwrap().mfa_required);
        let login = t.login("ada@acme.com", "Another-pass-456").await;
        assert_eq!(login.body["mfaRequired"], json!(true), "{}", login.body);
        let pending = pending_or(&login);
        assert_eq!(claims(&pending)["type"], json!("mfa_pending"));
        assert_eq!(verify_login(&t, &pending, &code_now(&t, &enrolled.secret)).await.status, 200);
    }
}

/// The access token of a sign-in's answer, whatever kind it is.
fn pending_or(reply: &Reply) -> String {
    match &reply.body["accessToken"] {
        Value::String(token) => token.clone(),
        _ => panic!("no access token: {}", reply.body),
    }
}
