//! `MAGIC_LINK`, a mailed one-time link as the second factor, on both
//! stores: setup mails an activation link that only the asking session may
//! open, a sign-in asks for a link and spends it at `mfa/verify-login`,
//! links are single use, counted with the codes, capped per user, and gone
//! with an administrator's reset.

use accounts::model::mail::MailKind;
use accounts::model::mfa::LinkPurpose;
use accounts::role::Role;
use accounts_tests::mfa::*;
use accounts_tests::race::race;
use accounts_tests::*;
use serde_json::json;

/// A sign-in of `email` (MAGIC_LINK on) completed with a mailed link: the
/// verify-login reply.
async fn sign_in_with_link(t: &TestApp, email: &str) -> Reply {
    let (pending, link) = pending_with_link(t, email).await;
    verify_login_with_link(t, &pending, &link).await
}

on_both_stores! {
    async fn an_activation_link_turns_magic_link_on_for_the_session_that_asked(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let other_session = t.login("ada@acme.com", PASSWORD).await.str("accessToken");
        let sent = setup_link(&t, &ada.access_token).await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        assert_eq!(sent.body["data"], json!({"email": "ada@acme.com", "verificationRequired": true}));
        let stored = record(&t, &ada.id).await.expect("a record");
        let pending = stored.pending_link.clone().expect("a pending link");
        assert_eq!(pending.purpose, LinkPurpose::Activate);
        assert_eq!(pending.expires_at, t.clock_now() + 1800);
        assert!(stored.magic_link.is_none(), "nothing on before the link is opened");
        let status = t.get("/mfa/status", &ada.access_token).await;
        assert_eq!(status.body["data"]["isEnabled"], json!(false), "{}", status.body);

        let link = mailed_link(&t, "ada@acme.com", MailKind::MfaActivation).await;
        assert_eq!(link.len(), 64);
        // Only its hash is stored.
        let stored_text = serde_json::to_string(&record(&t, &ada.id).await.unwrap()).unwrap();
        assert!(!stored_text.contains(&link));
        assert_eq!(pending.hash, accounts::auth::mail_token::hash(&link));

        // Another session of the same user, a wrong token: refused alike.
        activate_link(&t, &other_session, &link).await.assert_error(400, "INVALID_MFA_CODE");
        activate_link(&t, &ada.access_token, &"B".repeat(64)).await.assert_error(400, "INVALID_MFA_CODE");
        activate_link(&t, &ada.access_token, "").await.assert_error(400, "VALIDATION_ERROR");

        let activated = activate_link(&t, &ada.access_token, &link).await;
        assert_eq!(activated.status, 200, "{}", activated.body);
        assert_eq!(activated.body["data"], json!({"isEnabled": true,
            "enabledMethods": ["MAGIC_LINK"], "primaryMethod": "MAGIC_LINK"}));
        let status = t.get("/mfa/status", &ada.access_token).await;
        assert_eq!(status.body["data"], json!({"isEnabled": true, "isRequired": true,
            "isEnforced": false, "enabledMethods": ["MAGIC_LINK"], "primaryMethod": "MAGIC_LINK",
            "sessionVerified": true}));
        assert_eq!(t.get("/user/profile", &ada.access_token).await.body["data"]["mfaRequired"], json!(true));
        // Every other session signed in without the factor: ended.
        t.get("/user/profile", &other_session).await.assert_error(401, "SESSION_REVOKED");
        let stored = record(&t, &ada.id).await.unwrap();
        assert!(stored.pending_link.is_none(), "spent");
        assert!(stored.magic_link.is_some_and(|m| m.enabled));
        // Spent: opened twice, the second time is refused.
        activate_link(&t, &ada.access_token, &link).await.assert_error(400, "INVALID_MFA_CODE");
        // verify-setup takes the token as its code, too.
        let again = setup_link(&t, &ada.access_token).await;
        assert_eq!(again.status, 200, "{}", again.body);
        let second = mailed_link(&t, "ada@acme.com", MailKind::MfaActivation).await;
        let by_code = t.call("POST", "/mfa/verify-setup",
            Some(json!({"mfaType": "MAGIC_LINK", "code": second})), Some(&ada.access_token)).await;
        assert_eq!(by_code.status, 200, "{}", by_code.body);
    }

    async fn a_sign_in_with_magic_link_waits_for_the_link_mailed_to_it(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        enable_link(&t, &ada.access_token, "ada@acme.com").await;
        let pending = pending_login(&t, "ada@acme.com").await;
        assert_eq!(t.get("/mfa/status", &pending).await.body["data"]["enabledMethods"], json!(["MAGIC_LINK"]));
        // No link asked for yet: nothing to spend.
        verify_login_with_link(&t, &pending, &"C".repeat(64)).await.assert_error(400, "INVALID_MFA_CODE");
        // Send takes a pending sign-in's token only.
        send_link(&t, &ada.access_token).await.assert_error(403, "MFA_REQUIRED");
        let sent = send_link(&t, &pending).await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        assert_eq!(sent.body["data"]["email"], json!("ada@acme.com"));
        let stored = record(&t, &ada.id).await.unwrap().pending_link.expect("a link");
        assert_eq!(stored.purpose, LinkPurpose::SignIn);
        assert_eq!(stored.expires_at, claims(&pending)["exp"].as_i64().unwrap(), "as long as the pending token");
        let link = mailed_link(&t, "ada@acme.com", MailKind::MagicLink).await;

        // Another pending sign-in cannot spend it; a TOTP code is no answer.
        let other = pending_login(&t, "ada@acme.com").await;
        verify_login_with_link(&t, &other, &link).await.assert_error(400, "INVALID_MFA_CODE");
        verify_login(&t, &pending, "123456").await.assert_error(400, "INVALID_MFA_CODE");

        let verified = verify_login_with_link(&t, &pending, &link).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        let full = verified.str("fullAccessToken");
        assert_eq!(claims(&full)["amr"], json!(["pwd", "mca"]));
        assert_eq!(claims(&full)["auth_time"].as_i64(), Some(t.clock_now()));
        let session = t.store.session(&verified.str("tokenId")).await.unwrap().expect("a session");
        assert_eq!((session.mfa_at, session.mfa_amr.as_deref()), (Some(t.clock_now()), Some("mca")));
        assert_eq!(t.get("/user/profile", &full).await.status, 200);
        // A refresh keeps the proof as it was.
        t.clock.advance(60);
        let refreshed = t.refresh(&verified.str("refreshToken")).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        let refreshed_claims = claims(&refreshed.str("accessToken"));
        assert_eq!(refreshed_claims["amr"], json!(["pwd", "mca"]));
        assert_eq!(refreshed_claims["auth_time"].as_i64(), Some(t.clock_now() - 60));
        // Spent: neither the same nor another pending sign-in opens it again.
        verify_login_with_link(&t, &pending, &link).await.assert_error(400, "INVALID_MFA_CODE");
        verify_login_with_link(&t, &other, &link).await.assert_error(400, "INVALID_MFA_CODE");
    }

    async fn link_tokens_count_with_the_codes_and_link_mails_are_capped(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        enable_link(&t, &ada.access_token, "ada@acme.com").await;
        let (pending, link) = pending_with_link(&t, "ada@acme.com").await;
        for n in 0..5 {
            let wrong = format!("{}{n}", "D".repeat(63));
            verify_login_with_link(&t, &pending, &wrong).await.assert_error(400, "INVALID_MFA_CODE");
        }
        // Counted before it is checked: the right link is refused now.
        let locked = verify_login_with_link(&t, &pending, &link).await;
        locked.assert_error(429, "TOO_MANY_ATTEMPTS");
        let wait: i64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&wait), "Retry-After {wait}");
        assert!(record(&t, &ada.id).await.unwrap().pending_link.is_some(), "not spent");

        // Five mails in 15 minutes (the activation's and the first sign-in
        // link among them), then 429.
        for _ in 0..3 {
            assert_eq!(send_link(&t, &pending).await.status, 200);
        }
        let outbox_before = t.store.outbox().await.unwrap().len();
        let capped = send_link(&t, &pending).await;
        capped.assert_error(429, "TOO_MANY_ATTEMPTS");
        assert!(capped.headers.contains_key("retry-after"));
        assert_eq!(t.store.outbox().await.unwrap().len(), outbox_before, "no mail queued");
        t.clock.advance(901);
        let later = pending_login(&t, "ada@acme.com").await;
        assert_eq!(send_link(&t, &later).await.status, 200, "a new window");
    }

    async fn disabling_magic_link_needs_a_fresh_proof_and_a_reset_removes_it(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let grace = t.member(&ada, "grace@acme.com", Role::User.value()).await;
        enable_link(&t, &grace.access_token, "grace@acme.com").await;
        let disable = |token: String| {
            let t = t.clone();
            async move {
                t.call("POST", "/mfa/disable", Some(json!({"mfaType": "MAGIC_LINK"})), Some(&token)).await
            }
        };
        t.clock.advance(16 * 60);
        // No fresh proof, and no code can stand in for a link.
        disable(grace.access_token.clone()).await.assert_error(403, "MFA_REQUIRED");
        let with_code = t.call("POST", "/mfa/disable",
            Some(json!({"mfaType": "MAGIC_LINK", "code": "123456"})), Some(&grace.access_token)).await;
        with_code.assert_error(403, "MFA_REQUIRED");
        assert!(record(&t, &grace.id).await.unwrap().magic_link.is_some_and(|m| m.enabled));
        // A sign-in through a link is the fresh proof.
        let signed_in = sign_in_with_link(&t, "grace@acme.com").await;
        assert_eq!(signed_in.status, 200, "{}", signed_in.body);
        let off = disable(signed_in.str("fullAccessToken")).await;
        assert_eq!(off.status, 200, "{}", off.body);
        assert_eq!(off.body["data"]["enabledMethods"], json!([]));
        assert_eq!(t.login("grace@acme.com", PASSWORD).await.body["mfaRequired"], json!(false));

        // On again, then an administrator's reset: the method and any
        // unspent link are gone, and so is every session.
        let fresh = t.login("grace@acme.com", PASSWORD).await.str("accessToken");
        enable_link(&t, &fresh, "grace@acme.com").await;
        let (pending, link) = pending_with_link(&t, "grace@acme.com").await;
        let reset = t.call("POST", "/mfa/reset",
            Some(json!({"resetUserId": grace.id, "enable": false})), Some(&ada.access_token)).await;
        assert_eq!(reset.status, 200, "{}", reset.body);
        let stored = record(&t, &grace.id).await.unwrap();
        assert!(stored.magic_link.is_none() && stored.pending_link.is_none(), "{stored:?}");
        t.get("/user/profile", &fresh).await.assert_error(401, "SESSION_REVOKED");
        verify_login_with_link(&t, &pending, &link).await.assert_error(400, "MFA_NOT_SET_UP");
        assert_eq!(t.login("grace@acme.com", PASSWORD).await.body["mfaRequired"], json!(false));
    }

    async fn under_enforcement_a_member_may_enroll_with_a_mailed_link(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let (token, link) = enrolling_by_link(&t, &ada, "grace@acme.com").await;
        assert_eq!(claims(&token)["type"], json!("mfa_enroll"));
        let grace = t.store.user_by_email("grace@acme.com").await.unwrap().expect("the member");
        let sessions = t.store.user_sessions(&grace.id).await.unwrap().len();
        let enrolled = activate_link(&t, &token, &link).await;
        assert_eq!(enrolled.status, 200, "{}", enrolled.body);
        assert_eq!(enrolled.headers["cache-control"], "no-store");
        let data = &enrolled.body["data"];
        assert_eq!(data["enabledMethods"], json!(["MAGIC_LINK"]));
        let full = data["fullAccessToken"].as_str().expect("a full token");
        assert_eq!(claims(full)["amr"], json!(["pwd", "mca"]));
        assert_eq!(t.get("/user/profile", full).await.status, 200);
        assert_eq!(t.store.user_sessions(&grace.id).await.unwrap().len(), sessions + 1);
        let user = t.store.user(&grace.id).await.unwrap().unwrap();
        assert!(user.mfa_required && !user.mfa_enroll);
        // The enrollment token is spent with it.
        activate_link(&t, &token, &link).await.assert_error(403, "MFA_REQUIRED");
    }

    async fn of_two_requests_racing_with_one_link_exactly_one_signs_in(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        enable_link(&t, &ada.access_token, "ada@acme.com").await;
        let (pending, link) = pending_with_link(&t, "ada@acme.com").await;
        let racers = (0..2).map(|_| {
            let (t, pending, link) = (t.clone(), pending.clone(), link.clone());
            async move { verify_login_with_link(&t, &pending, &link).await }
        });
        let raced = race(racers).await;
        raced.assert_overlapped_on(t.backend);
        let statuses: Vec<u16> = raced.answers.iter().map(|r| r.status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        raced.answers.iter().find(|r| r.status != 200).unwrap().assert_error(400, "INVALID_MFA_CODE");
        let verified = t.store.user_sessions(&ada.id).await.unwrap().into_iter()
            .filter(|s| s.mfa_amr.as_deref() == Some("mca") && !s.revoked).count();
        // The activating session, and the one winner.
        assert_eq!(verified, 2);
    }
}
