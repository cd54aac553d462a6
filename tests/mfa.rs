//! Multi-factor authentication (TOTP with backup codes), on both stores:
//! setup stays pending until a code proves it, every sign-in of a user with
//! MFA waits for `mfa/verify-login`, and codes are counted, single use and
//! never replayed.

use accounts::auth::totp;
use accounts::http::Route;
use accounts_tests::mfa::*;
use accounts_tests::race::race;
use accounts_tests::routes::{Bearer, Cast, call_of};
use accounts_tests::*;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

on_both_stores! {
    async fn setup_shows_a_secret_qr_code_and_backup_codes_and_turns_on_only_when_verified(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let other_session = t.login("ada@acme.com", PASSWORD).await.str("accessToken");
        let set_up = setup(&t, &ada.access_token).await;
        assert_eq!(set_up.status, 200, "{}", set_up.body);
        assert_eq!(set_up.headers["cache-control"], "no-store");
        let data = &set_up.body["data"];
        let secret_text = data["secret"].as_str().unwrap();
        assert_eq!(secret_text.len(), 32, "160 bits of base32");
        let secret = totp::decode_secret(secret_text).unwrap();
        assert_eq!(secret.len(), 20);
        let qr = data["qrCode"].as_str().unwrap();
        let svg = STANDARD.decode(qr.strip_prefix("data:image/svg+xml;base64,").expect("a data: URL")).unwrap();
        assert!(String::from_utf8(svg).unwrap().contains("<svg"), "an SVG an <img> shows");
        let codes: Vec<&str> = data["backupCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10);

        // Pending: nothing is on yet.
        let status = t.get("/mfa/status", &ada.access_token).await;
        assert_eq!(status.body["data"], json!({"isEnabled": false, "isRequired": false,
            "isEnforced": false, "enabledMethods": [], "sessionVerified": false}));
        assert_eq!(t.get("/user/profile", &ada.access_token).await.body["data"]["mfaRequired"], json!(false));
        assert_eq!(t.login("ada@acme.com", PASSWORD).await.body["mfaRequired"], json!(false));

        // The stored secret is sealed: neither it nor a backup code is in the record.
        let stored = record(&t, &ada.id).await.expect("a record");
        let stored_text = serde_json::to_string(&stored).unwrap();
        assert!(stored.pending_totp.is_some() && stored.totp.is_none());
        assert!(!stored_text.contains(secret_text), "the plain base32 secret is not stored");
        assert!(!stored_text.contains(&URL_SAFE_NO_PAD.encode(&secret)));
        for code in &codes {
            assert!(!stored_text.contains(code) && !stored_text.contains(&code.replace('-', "")));
        }

        verify_setup(&t, &ada.access_token, "000000").await.assert_error(400, "INVALID_MFA_CODE");
        let wrong_type = t.call("POST", "/mfa/verify-setup",
            Some(json!({"mfaType": "PASSKEY", "code": "123456"})), Some(&ada.access_token)).await;
        wrong_type.assert_error(400, "VALIDATION_ERROR");
        let verified = verify_setup(&t, &ada.access_token, &code_now(&t, &secret)).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(verified.body["data"]["enabledMethods"], json!(["GOOGLE_AUTH"]));

        let status = t.get("/mfa/status", &ada.access_token).await;
        assert_eq!(status.body["data"], json!({"isEnabled": true, "isRequired": true,
            "isEnforced": false, "enabledMethods": ["GOOGLE_AUTH"], "primaryMethod": "GOOGLE_AUTH",
            "sessionVerified": true}));
        assert_eq!(t.get("/user/profile", &ada.access_token).await.body["data"]["mfaRequired"], json!(true));
        // Every other session signed in without the factor: ended.
        t.get("/user/profile", &other_session).await.assert_error(401, "SESSION_REVOKED");
        let stored = record(&t, &ada.id).await.unwrap();
        assert!(stored.pending_totp.is_none());
        assert_eq!(stored.backup_codes.len(), 10);
        // Verified once: a second verify-setup has nothing pending.
        verify_setup(&t, &ada.access_token, &code_now(&t, &secret)).await.assert_error(400, "MFA_NOT_SET_UP");
    }

    async fn methods_are_the_ones_served_and_passkey_routes_do_not_exist(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let methods = t.get("/mfa/methods", &ada.access_token).await;
        assert_eq!(methods.body, json!({"success": true, "data": ["GOOGLE_AUTH", "MAGIC_LINK"]}));
        let passkey = t.call("POST", "/mfa/passkey/auth-options", Some(json!({})), Some(&ada.access_token)).await;
        passkey.assert_error(404, "NOT_FOUND");
        t.get("/mfa/status", "not-a-token").await.assert_error(401, "INVALID_TOKEN");
    }

    async fn a_password_sign_in_with_mfa_waits_for_the_second_factor(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        let reply = t.login("ada@acme.com", PASSWORD).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["mfaRequired"], json!(true));
        assert!(reply.body.get("refreshToken").is_none(), "{}", reply.body);
        assert!(reply.body.get("tokenId").is_none(), "{}", reply.body);
        assert_eq!(reply.body["user"]["id"], json!(ada.id));
        let pending = reply.str("accessToken");
        let pending_claims = claims(&pending);
        assert_eq!(pending_claims["type"], "mfa_pending");
        assert_eq!(pending_claims["exp"].as_i64().unwrap(), t.clock_now() + 300);
        assert_eq!(reply.body["expiresAt"], pending_claims["exp"]);
        // No session exists for it.
        assert!(t.store.session(pending_claims["sid"].as_str().unwrap()).await.unwrap().is_none());

        // The MFA routes it may use.
        let status = t.get("/mfa/status", &pending).await;
        assert_eq!(status.status, 200, "{}", status.body);
        assert_eq!(status.body["data"]["sessionVerified"], json!(false));
        assert_eq!(status.body["data"]["isEnabled"], json!(true));
        assert_eq!(t.get("/mfa/methods", &pending).await.status, 200);
        setup(&t, &pending).await.assert_error(403, "MFA_REQUIRED");
        // Nothing to refresh; logout with the pending token alone is fine.
        t.refresh(&pending).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        let logout = t.call("POST", "/user/logout", Some(json!({})), Some(&pending)).await;
        assert_eq!(logout.status, 200, "{}", logout.body);

        // The pending token does not pass as a full one.
        let full_token_of = t.get("/user/profile", &pending).await;
        full_token_of.assert_error(403, "MFA_REQUIRED");

        let verified = verify_login(&t, &pending, &code_now(&t, &enrolled.secret)).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(verified.headers["cache-control"], "no-store");
        let b = &verified.body;
        assert_eq!(b["success"], json!(true));
        assert!(b.get("data").is_none(), "unwrapped, as Flashback's client reads it: {b}");
        assert_eq!(b["fullAccessToken"], b["accessToken"]);
        let full = verified.str("fullAccessToken");
        let full_claims = claims(&full);
        assert_eq!(full_claims["type"], "access");
        assert_eq!(full_claims["amr"], json!(["pwd", "otp"]));
        assert_eq!(full_claims["auth_time"], json!(t.clock_now()));
        assert_eq!(full_claims["sid"], pending_claims["sid"], "the session the pending token named");
        let session = t.store.session(&verified.str("tokenId")).await.unwrap().expect("the session starts here");
        assert_eq!(session.mfa_at, Some(t.clock_now()));
        assert_eq!(session.token_hash, accounts::auth::refresh::hash(&verified.str("refreshToken")));
        let profile = t.get("/user/profile", &full).await;
        assert_eq!(profile.status, 200, "{}", profile.body);
        assert_eq!(t.get("/mfa/status", &full).await.body["data"]["sessionVerified"], json!(true));

        // A pending token starts one session at most.
        t.clock.advance(totp::STEP_SECONDS);
        verify_login(&t, &pending, &code_now(&t, &enrolled.secret)).await.assert_error(400, "INVALID_MFA_CODE");
        assert_eq!(t.store.user_sessions(&ada.id).await.unwrap().iter().filter(|s| s.id == session.id).count(), 1);

        // A refresh keeps when the proof was made.
        let signed_in_at = t.clock_now() - totp::STEP_SECONDS;
        t.clock.advance(600);
        let refreshed = t.refresh(&verified.str("refreshToken")).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        let refreshed_claims = claims(&refreshed.str("accessToken"));
        assert_eq!(refreshed_claims["auth_time"], json!(signed_in_at));
        assert_eq!(refreshed_claims["amr"], json!(["pwd", "otp"]));
        // ...and the pending token is gone with its five minutes.
        t.get("/mfa/status", &pending).await.assert_error(401, "TOKEN_EXPIRED");
        // A full token is not a pending one.
        verify_login(&t, &full, &code_now(&t, &enrolled.secret)).await.assert_error(403, "MFA_REQUIRED");
        // A plain sign-in's token says how it was made.
        let plain = t.owner("grace@acme.com").await;
        assert_eq!(claims(&plain.access_token)["amr"], json!(["pwd"]));
    }

    async fn a_pending_token_is_refused_on_every_route_but_the_mfa_ones(t: TestApp) {
        let cast = Cast::new(&t).await;
        enroll(&t, &cast.owner.access_token).await;
        let pending = pending_login(&t, &cast.owner.email).await;
        let mut refused = 0;
        for route in Route::ALL {
            let call = call_of(route, &cast);
            if matches!(call.bearer, Bearer::None | Bearer::Pending) {
                continue;
            }
            let reply = t.send_call(&call, Some(&pending)).await;
            if route.accepts_pending_token() {
                assert_eq!(reply.status, 200, "{route:?}: {}", reply.body);
            } else {
                assert_eq!(reply.status, 403, "{route:?}: {}", reply.body);
                assert_eq!(reply.code(), "MFA_REQUIRED", "{route:?}: {}", reply.body);
                refused += 1;
            }
        }
        assert!(refused > 30, "{refused} routes checked");
        // The owner is as it was: no route acted on the pending token.
        assert_eq!(t.get("/user/profile", &cast.owner.access_token).await.body["data"]["name"], json!("Ada"));
    }

    async fn a_code_is_accepted_once_and_the_next_step_is_a_new_code(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        let code = code_now(&t, &enrolled.secret);
        let first = pending_login(&t, "ada@acme.com").await;
        assert_eq!(verify_login(&t, &first, &code).await.status, 200);
        // The same code again, within its window: refused.
        let second = pending_login(&t, "ada@acme.com").await;
        verify_login(&t, &second, &code).await.assert_error(400, "INVALID_MFA_CODE");
        // The code of the step before (still inside the window) too.
        let earlier = totp::code_at(&enrolled.secret, t.clock_now() - totp::STEP_SECONDS);
        verify_login(&t, &second, &earlier).await.assert_error(400, "INVALID_MFA_CODE");
        t.clock.advance(totp::STEP_SECONDS);
        let next = verify_login(&t, &second, &code_now(&t, &enrolled.secret)).await;
        assert_eq!(next.status, 200, "{}", next.body);
        assert_eq!(record(&t, &ada.id).await.unwrap().last_totp_step, totp::step_at(t.clock_now()));
    }

    async fn the_sixth_wrong_code_is_refused_even_when_right_until_the_window_passes(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        let pending = pending_login(&t, "ada@acme.com").await;
        let sessions_before = t.store.user_sessions(&ada.id).await.unwrap().len();
        let right = code_now(&t, &enrolled.secret);
        let wrong = if right == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            verify_login(&t, &pending, wrong).await.assert_error(400, "INVALID_MFA_CODE");
        }
        let locked = verify_login(&t, &pending, &right).await;
        locked.assert_error(429, "TOO_MANY_ATTEMPTS");
        let wait: i64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&wait), "Retry-After {wait}");
        assert_eq!(t.store.user_sessions(&ada.id).await.unwrap().len(), sessions_before, "no session started");
        // The password throttle is another count: the password still works,
        // and once the wait is over so does the code.
        t.clock.advance(wait);
        let again = pending_login(&t, "ada@acme.com").await;
        let after = verify_login(&t, &again, &code_now(&t, &enrolled.secret)).await;
        assert_eq!(after.status, 200, "{}", after.body);
    }

    async fn a_backup_code_signs_in_once(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        let code = &enrolled.backup_codes[3];
        let first = pending_login(&t, "ada@acme.com").await;
        // As typed: lower case, without the hyphen.
        let typed = code.to_lowercase().replace('-', "");
        let signed_in = verify_login(&t, &first, &typed).await;
        assert_eq!(signed_in.status, 200, "{}", signed_in.body);
        assert_eq!(record(&t, &ada.id).await.unwrap().backup_codes.len(), 9);
        let second = pending_login(&t, "ada@acme.com").await;
        verify_login(&t, &second, code).await.assert_error(400, "INVALID_MFA_CODE");
        verify_login(&t, &second, "ZZZZZ-ZZZZZ").await.assert_error(400, "INVALID_MFA_CODE");
        assert_eq!(record(&t, &ada.id).await.unwrap().backup_codes.len(), 9);
        assert_eq!(verify_login(&t, &second, &enrolled.backup_codes[4]).await.status, 200);
    }

    async fn of_two_sign_ins_racing_with_one_code_exactly_one_wins(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        let code = code_now(&t, &enrolled.secret);
        let mut racers = Vec::new();
        for _ in 0..2 {
            let pending = pending_login(&t, "ada@acme.com").await;
            let (t, code) = (t.clone(), code.clone());
            racers.push(async move { verify_login(&t, &pending, &code).await });
        }
        let raced = race(racers).await;
        raced.assert_overlapped_on(t.backend);
        let statuses: Vec<u16> = raced.answers.iter().map(|r| r.status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        let loser = raced.answers.iter().find(|r| r.status != 200).unwrap();
        loser.assert_error(400, "INVALID_MFA_CODE");
        let live = t.store.user_sessions(&ada.id).await.unwrap().into_iter().filter(|s| s.mfa_at.is_some() && !s.revoked).count();
        // The enrolling session, and the one winner.
        assert_eq!(live, 2);
    }

    async fn a_new_setup_never_replaces_the_active_secret_until_verified(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        // Within 15 minutes of the proof: a new setup is let through, pending.
        let again = setup(&t, &ada.access_token).await;
        assert_eq!(again.status, 200, "{}", again.body);
        let new_secret = totp::decode_secret(again.body["data"]["secret"].as_str().unwrap()).unwrap();
        assert_ne!(new_secret, enrolled.secret);
        // Still the first secret that signs in.
        let pending = pending_login(&t, "ada@acme.com").await;
        verify_login(&t, &pending, &code_now(&t, &new_secret)).await.assert_error(400, "INVALID_MFA_CODE");
        let old = verify_login(&t, &pending, &code_now(&t, &enrolled.secret)).await;
        assert_eq!(old.status, 200, "{}", old.body);
        assert_eq!(record(&t, &ada.id).await.unwrap().backup_codes.len(), 10, "the old codes live on");

        // Later, without a fresh proof, a new setup needs a code.
        t.clock.advance(16 * 60);
        let session = old.str("fullAccessToken");
        t.clock.advance(16 * 60);
        setup(&t, &session).await.assert_error(403, "MFA_REQUIRED");
        let with_code = t.call("POST", "/mfa/setup",
            Some(json!({"mfaType": "GOOGLE_AUTH", "code": code_now(&t, &enrolled.secret)})), Some(&session)).await;
        assert_eq!(with_code.status, 200, "{}", with_code.body);
    }

    async fn a_password_reset_and_a_verification_link_still_ask_for_the_second_factor(t: TestApp) {
        let registered = t.register("ada@acme.com").await;
        let ada_token = registered.str("accessToken");
        let enrolled = enroll(&t, &ada_token).await;
        // Turning MFA on ended the sessions, and the links with them: a
        // fresh verification link signs in, after the second factor only.
        t.mailer().deliver().await;
        let resend = format!("/user/resend-verification/{}", registered.str("verificationTokenId"));
        assert_eq!(t.post(&resend, json!({})).await.status, 200);
        let verification = t.mailer().deliver().await;
        let token = mail::link_token(&verification[0], &t.app.config.mail.app_url, "verify-email");
        let verified = t.post("/user/verify-email", json!({"token": token})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(verified.body["mfaRequired"], json!(true));
        assert!(verified.body.get("refreshToken").is_none());
        assert_eq!(claims(&verified.str("accessToken"))["type"], "mfa_pending");
        assert!(t.store.user_by_email("ada@acme.com").await.unwrap().unwrap().validated);

        // A reset changes the password, not the second factor.
        t.post("/user/request-reset-password", json!({"email": "ada@acme.com"})).await;
        let reset = t.mailer().deliver().await;
        let token = mail::link_token(reset.last().unwrap(), &t.app.config.mail.app_url, "reset-password");
        let done = t.post("/user/reset-password", json!({"token": token, "newPassword": "Another-pass-456"})).await;
        assert_eq!(done.status, 200, "{}", done.body);
        let login = t.login("ada@acme.com", "Another-pass-456").await;
        assert_eq!(login.body["mfaRequired"], json!(true), "{}", login.body);
        let pending = login.str("accessToken");
        assert_eq!(verify_login(&t, &pending, &code_now(&t, &enrolled.secret)).await.status, 200);
    }
}

#[test]
fn the_secret_shown_is_what_apps_read() {
    // RFC 4648 base32 of RFC 6238's test secret.
    let secret = totp::decode_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    assert_eq!(secret, b"12345678901234567890");
    assert_eq!(totp::code_at(&secret, 59), "287082");
}
