//! Multi-factor authentication in tests: enrolling a user, codes from
//! its secret, the MFA calls (tests/mfa.rs, tests/mfa_manage.rs).

use accounts::auth::totp;
use accounts::model::mfa::MfaRecord;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::{PASSWORD, Reply, TestApp};

/// What enrollment gave the user.
pub struct Enrolled {
    pub secret: Vec<u8>,
    pub backup_codes: Vec<String>,
}

pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn code_now(t: &TestApp, secret: &[u8]) -> String {
    totp::code_at(secret, t.clock_now())
}

pub async fn record(t: &TestApp, user_id: &str) -> Option<MfaRecord> {
    t.store.mfa_state(user_id, "-").await.unwrap().record
}

pub async fn setup(t: &TestApp, token: &str) -> Reply {
    t.call(
        "POST",
        "/mfa/setup",
        Some(json!({"mfaType": "GOOGLE_AUTH"})),
        Some(token),
    )
    .await
}

pub async fn verify_setup(t: &TestApp, token: &str, code: &str) -> Reply {
    t.call(
        "POST",
        "/mfa/verify-setup",
        Some(json!({"mfaType": "GOOGLE_AUTH", "code": code})),
        Some(token),
    )
    .await
}

pub async fn verify_login(t: &TestApp, pending: &str, code: &str) -> Reply {
    t.call(
        "POST",
        "/mfa/verify-login",
        Some(json!({"mfaType": "GOOGLE_AUTH", "code": code})),
        Some(pending),
    )
    .await
}

/// Sets up and verifies TOTP for the holder of `token`; the clock then
/// moves to the next step, so that the next code is a new one.
pub async fn enroll(t: &TestApp, token: &str) -> Enrolled {
    let set_up = setup(t, token).await;
    assert_eq!(set_up.status, 200, "{}", set_up.body);
    let data = &set_up.body["data"];
    let secret = totp::decode_secret(data["secret"].as_str().unwrap()).unwrap();
    let verified = verify_setup(t, token, &code_now(t, &secret)).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    t.clock.advance(totp::STEP_SECONDS);
    Enrolled {
        secret,
        backup_codes: data["backupCodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect(),
    }
}

/// A password sign-in that stops at the second factor: its pending token.
pub async fn pending_login(t: &TestApp, email: &str) -> String {
    let reply = t.login(email, PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["mfaRequired"], json!(true), "{}", reply.body);
    reply.str("accessToken")
}
