//! The MFA routes' part of tests/iam_policies.rs (included there with
//! `#[path]`): every code path a policy must allow, once each.

use accounts::auth::totp;
use accounts::http::Route;
use accounts::model::mail::MailKind;
use accounts_tests::mfa::{
    activate_link, enrolling_by_link, mailed_link, send_link, setup_link, verify_login_with_link,
};
use accounts_tests::*;
use serde_json::json;

use super::Recorder;

/// Setup, a wrong and a right verify-setup, status and methods with a full
/// and a pending token, a new setup with a code (a fresh proof), and a
/// sign-in: a wrong code, a right one, and the pending token again with the
/// next step's code (its transaction loses: the record is read back).
pub(super) async fn multi_factor(
    t: &TestApp,
    recorder: &Recorder,
    record: &mut impl FnMut(Route, &Recorder),
) {
    let mia = t.owner("mia@acme.com").await;
    recorder.take();
    let token = mia.access_token.as_str();
    let call = |path: &'static str, body: serde_json::Value, token: String| {
        let t = t.clone();
        async move { t.call("POST", path, Some(body), Some(&token)).await }
    };
    let set_up = call(
        "/mfa/setup",
        json!({"mfaType": "GOOGLE_AUTH"}),
        token.into(),
    )
    .await;
    assert_eq!(set_up.status, 200, "{}", set_up.body);
    record(Route::MfaSetup, recorder);
    let secret = totp::decode_secret(set_up.body["data"]["secret"].as_str().unwrap()).unwrap();
    let code = |t: &TestApp| totp::code_at(&secret, t.clock_now());
    let wrong = if code(t) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let body = |code: &str| json!({"mfaType": "GOOGLE_AUTH", "code": code});
    let refused = call("/mfa/verify-setup", body(wrong), token.into()).await;
    refused.assert_error(400, "INVALID_MFA_CODE");
    let verified = call("/mfa/verify-setup", body(&code(t)), token.into()).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    record(Route::MfaVerifySetup, recorder);
    assert_eq!(t.get("/mfa/status", token).await.status, 200);
    record(Route::MfaStatus, recorder);
    assert_eq!(t.get("/mfa/methods", token).await.status, 200);
    record(Route::MfaMethods, recorder);
    t.clock.advance(16 * 60);
    let again = call("/mfa/setup", body(&code(t)), token.into()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    record(Route::MfaSetup, recorder);

    let pending = t.login("mia@acme.com", PASSWORD).await.str("accessToken");
    record(Route::Login, recorder);
    assert_eq!(t.get("/mfa/status", &pending).await.status, 200);
    record(Route::MfaStatus, recorder);
    assert_eq!(t.get("/mfa/methods", &pending).await.status, 200);
    record(Route::MfaMethods, recorder);
    t.clock.advance(totp::STEP_SECONDS);
    let refused = call("/mfa/verify-login", body(wrong), pending.clone()).await;
    refused.assert_error(400, "INVALID_MFA_CODE");
    let signed_in = call("/mfa/verify-login", body(&code(t)), pending.clone()).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    t.clock.advance(totp::STEP_SECONDS);
    let used = call("/mfa/verify-login", body(&code(t)), pending).await;
    used.assert_error(400, "INVALID_MFA_CODE");
    record(Route::MfaVerifyLogin, recorder);

    // Each change past the fresh-proof window, with a code: counted,
    // checked and spent with the change. Disable, enable (the sessions'
    // epoch moves, the count is cleared), primary, new backup codes.
    let full = signed_in.str("fullAccessToken");
    // Just past the window of the last proof (enable's stamps the session),
    // else the next step: all within the token's hour.
    for (route, path, wait) in [
        (Route::MfaDisable, "/mfa/disable", 15 * 60 + 1),
        (Route::MfaEnable, "/mfa/enable", totp::STEP_SECONDS),
        (Route::MfaPrimary, "/mfa/primary", 15 * 60 + 1),
        (
            Route::MfaBackupCodes,
            "/mfa/backup-codes",
            totp::STEP_SECONDS,
        ),
    ] {
        t.clock.advance(wait);
        let changed = call(path, body(&code(t)), full.clone()).await;
        assert_eq!(changed.status, 200, "{route:?}: {}", changed.body);
        record(route, recorder);
    }

    // The organization's MFA: enforcement, a member's sign-in that must
    // enroll (login's session check on the organization fails), its setup
    // and verify-setup with the enrollment's token (the session starts
    // there), an invitation's acceptance that must enroll too, and the
    // member's reset.
    let by = Member {
        access_token: full.clone(),
        ..mia.clone()
    };
    let noa = t.member(&by, "noa@acme.com", 0).await;
    recorder.take();
    let enforced = call(
        "/mfa/organization/enforce",
        json!({"enforced": true}),
        full.clone(),
    )
    .await;
    assert_eq!(enforced.status, 200, "{}", enforced.body);
    record(Route::MfaEnforce, recorder);
    let enrolling = t.login("noa@acme.com", PASSWORD).await.str("accessToken");
    record(Route::Login, recorder);
    let set_up = call(
        "/mfa/setup",
        json!({"mfaType": "GOOGLE_AUTH"}),
        enrolling.clone(),
    )
    .await;
    assert_eq!(set_up.status, 200, "{}", set_up.body);
    record(Route::MfaSetup, recorder);
    let secret = totp::decode_secret(set_up.body["data"]["secret"].as_str().unwrap()).unwrap();
    let noa_code = totp::code_at(&secret, t.clock_now());
    let enrolled = call("/mfa/verify-setup", body(&noa_code), enrolling).await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.body);
    record(Route::MfaVerifySetup, recorder);
    let invited = json!({"email": "ola@acme.com", "firstName": "Ola", "lastName": "O"});
    let created = t
        .call("POST", "/organization/users", Some(invited), Some(&full))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let token = t.invitation_token("ola@acme.com").await;
    recorder.take();
    let accepted = t
        .post(
            "/user/verify-email",
            json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert!(accepted.body["refreshToken"].is_null(), "{}", accepted.body);
    record(Route::VerifyEmail, recorder);
    let reset = call(
        "/mfa/reset",
        json!({"resetUserId": noa.id, "enable": true}),
        full,
    )
    .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    record(Route::MfaReset, recorder);
}

/// `MAGIC_LINK`: an activation link mailed and opened (a wrong token
/// first), a sign-in link mailed and spent, and a member's enrollment with
/// a link under enforcement (its activation starts the session).
pub(super) async fn magic_link(
    t: &TestApp,
    recorder: &Recorder,
    record: &mut impl FnMut(Route, &Recorder),
) {
    let lia = t.owner("lia@acme.com").await;
    recorder.take();
    let sent = setup_link(t, &lia.access_token).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    record(Route::MfaSetup, recorder);
    let link = mailed_link(t, "lia@acme.com", MailKind::MfaActivation).await;
    recorder.take();
    let wrong = activate_link(t, &lia.access_token, &"E".repeat(64)).await;
    wrong.assert_error(400, "INVALID_MFA_CODE");
    let activated = activate_link(t, &lia.access_token, &link).await;
    assert_eq!(activated.status, 200, "{}", activated.body);
    record(Route::MfaMagicLinkActivate, recorder);

    let pending = t.login("lia@acme.com", PASSWORD).await.str("accessToken");
    recorder.take();
    let sent = send_link(t, &pending).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    record(Route::MfaMagicLinkSend, recorder);
    let link = mailed_link(t, "lia@acme.com", MailKind::MagicLink).await;
    recorder.take();
    let signed_in = verify_login_with_link(t, &pending, &link).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    record(Route::MfaVerifyLogin, recorder);

    let by = Member {
        access_token: signed_in.str("fullAccessToken"),
        ..lia.clone()
    };
    let (enrolling, link) = enrolling_by_link(t, &by, "zoe@acme.com").await;
    recorder.take();
    let enrolled = activate_link(t, &enrolling, &link).await;
    assert_eq!(enrolled.status, 200, "{}", enrolled.body);
    record(Route::MfaMagicLinkActivate, recorder);
}
