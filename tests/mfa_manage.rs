//! Changing MFA once it is on (`mfa/disable`, `mfa/enable`, `mfa/primary`,
//! `mfa/backup-codes`), on both stores: each needs a second factor from
//! the session within 15 minutes, or a code with the request.

use accounts_tests::mfa::*;
use accounts_tests::*;
use serde_json::{Value, json};

async fn change(t: &TestApp, path: &str, token: &str, code: Option<&str>) -> Reply {
    let mut body = json!({"mfaType": "GOOGLE_AUTH"});
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    t.call("POST", path, Some(body), Some(token)).await
}

async fn new_codes(t: &TestApp, token: &str, code: Option<&str>) -> Reply {
    let body = code.map_or(json!({}), |c| json!({"code": c}));
    t.call("POST", "/mfa/backup-codes", Some(body), Some(token))
        .await
}

/// Past the fresh-proof window of the enrolling session.
fn later(t: &TestApp) {
    t.clock.advance(16 * 60);
}

on_both_stores! {
    async fn disabling_needs_a_fresh_proof_or_a_code(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        later(&t);
        change(&t, "/mfa/disable", &ada.access_token, None).await.assert_error(403, "MFA_REQUIRED");
        change(&t, "/mfa/disable", &ada.access_token, Some("")).await.assert_error(403, "MFA_REQUIRED");
        let before = record(&t, &ada.id).await.unwrap();
        assert!(before.is_enabled(), "nothing changed without a proof");
        assert_eq!(t.login("ada@acme.com", PASSWORD).await.body["mfaRequired"], json!(true));
        let wrong = if code_now(&t, &enrolled.secret) == "000000" { "111111" } else { "000000" };
        change(&t, "/mfa/disable", &ada.access_token, Some(wrong)).await.assert_error(400, "INVALID_MFA_CODE");

        let disabled = change(&t, "/mfa/disable", &ada.access_token, Some(&code_now(&t, &enrolled.secret))).await;
        assert_eq!(disabled.status, 200, "{}", disabled.body);
        assert_eq!(disabled.body["data"], json!({"isEnabled": false, "enabledMethods": []}));
        assert_eq!(t.get("/user/profile", &ada.access_token).await.body["data"]["mfaRequired"], json!(false));
        let login = t.login("ada@acme.com", PASSWORD).await;
        assert_eq!(login.body["mfaRequired"], json!(false));
        assert!(login.body["refreshToken"].is_string(), "{}", login.body);
        // Off already: nothing to disable.
        change(&t, "/mfa/disable", &login.str("accessToken"), None).await.assert_error(400, "MFA_NOT_SET_UP");
    }

    async fn a_backup_code_is_a_proof_too_and_is_spent_by_it(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        later(&t);
        let code = &enrolled.backup_codes[0];
        let disabled = change(&t, "/mfa/disable", &ada.access_token, Some(code)).await;
        assert_eq!(disabled.status, 200, "{}", disabled.body);
        let stored = record(&t, &ada.id).await.unwrap();
        assert_eq!(stored.backup_codes.len(), 9);
        assert!(stored.totp.as_ref().is_some_and(|t| !t.enabled), "the verified secret is kept");
    }

    async fn enable_turns_a_verified_method_back_on(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let enrolled = enroll(&t, &ada.access_token).await;
        let other = t.register("grace@acme.com").await.str("accessToken");
        change(&t, "/mfa/enable", &other, None).await.assert_error(400, "MFA_NOT_SET_UP");
        // Within 15 minutes of the proof: no code needed.
        assert_eq!(change(&t, "/mfa/disable", &ada.access_token, None).await.status, 200);
        let second = t.login("ada@acme.com", PASSWORD).await.str("accessToken");
        later(&t);
        change(&t, "/mfa/enable", &ada.access_token, None).await.assert_error(403, "MFA_REQUIRED");
        let enabled = change(&t, "/mfa/enable", &ada.access_token, Some(&code_now(&t, &enrolled.secret))).await;
        assert_eq!(enabled.status, 200, "{}", enabled.body);
        assert_eq!(enabled.body["data"], json!({"isEnabled": true, "enabledMethods": ["GOOGLE_AUTH"], "primaryMethod": "GOOGLE_AUTH"}));
        // On again: the session signed in without it ends, the caller's goes on.
        t.get("/user/profile", &second).await.assert_error(401, "SESSION_REVOKED");
        let status = t.get("/mfa/status", &ada.access_token).await;
        assert_eq!(status.body["data"]["sessionVerified"], json!(true), "{}", status.body);
        assert_eq!(t.login("ada@acme.com", PASSWORD).await.body["mfaRequired"], json!(true));
        // On already: answered as it is, nothing written.
        let version = record(&t, &ada.id).await.unwrap().version;
        let again = change(&t, "/mfa/enable", &ada.access_token, None).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(record(&t, &ada.id).await.unwrap().version, version);
    }

    async fn the_primary_method_is_one_that_is_on(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        change(&t, "/mfa/primary", &ada.access_token, None).await.assert_error(400, "MFA_NOT_SET_UP");
        enroll(&t, &ada.access_token).await;
        let primary = change(&t, "/mfa/primary", &ada.access_token, None).await;
        assert_eq!(primary.status, 200, "{}", primary.body);
        assert_eq!(primary.body["data"]["primaryMethod"], json!("GOOGLE_AUTH"));
        let passkey = t.call("POST", "/mfa/primary", Some(json!({"mfaType": "PASSKEY"})), Some(&ada.access_token)).await;
        passkey.assert_error(400, "VALIDATION_ERROR");
        later(&t);
        change(&t, "/mfa/primary", &ada.access_token, None).await.assert_error(403, "MFA_REQUIRED");
    }

    async fn new_backup_codes_replace_the_old_ones(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        new_codes(&t, &ada.access_token, None).await.assert_error(400, "MFA_NOT_SET_UP");
        let enrolled = enroll(&t, &ada.access_token).await;
        let fresh = new_codes(&t, &ada.access_token, None).await;
        assert_eq!(fresh.status, 200, "{}", fresh.body);
        assert_eq!(fresh.headers["cache-control"], "no-store");
        let codes: Vec<String> = fresh.body["data"]["backupCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| !enrolled.backup_codes.contains(c)));
        let pending = pending_login(&t, "ada@acme.com").await;
        verify_login(&t, &pending, &enrolled.backup_codes[0]).await.assert_error(400, "INVALID_MFA_CODE");
        assert_eq!(verify_login(&t, &pending, &codes[0]).await.status, 200);
        later(&t);
        new_codes(&t, &ada.access_token, None).await.assert_error(403, "MFA_REQUIRED");
        let with_code = new_codes(&t, &ada.access_token, Some(&code_now(&t, &enrolled.secret))).await;
        assert_eq!(with_code.status, 200, "{}", with_code.body);
    }

    async fn the_last_method_stays_on_where_the_organization_enforces_mfa(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        enroll(&t, &ada.access_token).await;
        let org = format!("/organization/{}", ada.org_id);
        let enforced = t.put(&org, json!({"mfaEnforced": true}), &ada.access_token).await;
        assert_eq!(enforced.status, 200, "{}", enforced.body);
        change(&t, "/mfa/disable", &ada.access_token, None).await.assert_error(409, "MFA_ENFORCED");
        assert!(record(&t, &ada.id).await.unwrap().is_enabled());
        let status = t.get("/mfa/status", &ada.access_token).await;
        assert_eq!(status.body["data"]["isEnforced"], Value::Bool(true));
    }
}
