//! Multi-factor authentication in tests: enrolling a user, codes from
//! its secret, mailed links, the MFA calls (tests/mfa.rs,
//! tests/mfa_manage.rs, tests/mfa_magic.rs).

use accounts::auth::totp;
use accounts::model::mail::MailKind;
use accounts::model::mfa::MfaRecord;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::mail::link_token;
use crate::{Member, PASSWORD, Reply, TestApp};

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

/// `mfa/setup` with `MAGIC_LINK`: an activation link mailed.
pub async fn setup_link(t: &TestApp, token: &str) -> Reply {
    let body = json!({"mfaType": "MAGIC_LINK"});
    t.call("POST", "/mfa/setup", Some(body), Some(token)).await
}

pub async fn activate_link(t: &TestApp, token: &str, link: &str) -> Reply {
    let body = json!({"token": link});
    t.call("POST", "/mfa/magic-link/activate", Some(body), Some(token))
        .await
}

pub async fn send_link(t: &TestApp, pending: &str) -> Reply {
    t.call(
        "POST",
        "/mfa/magic-link/send",
        Some(json!({})),
        Some(pending),
    )
    .await
}

pub async fn verify_login_with_link(t: &TestApp, pending: &str, link: &str) -> Reply {
    let body = json!({"mfaType": "MAGIC_LINK", "token": link});
    t.call("POST", "/mfa/verify-login", Some(body), Some(pending))
        .await
}

/// Delivers the outbox: the token of the newest link of `kind` mailed to
/// `email`, read from the mail's text as a person would open it.
pub async fn mailed_link(t: &TestApp, email: &str, kind: MailKind) -> String {
    let mails = t.mailer().deliver().await;
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.to == email && m.kind == kind)
        .unwrap_or_else(|| panic!("no {} mail to {email}", kind.name()));
    link_token(mail, &t.app.config.mail.app_url, kind.page())
}

/// Turns `MAGIC_LINK` on for the holder of `token` (its session asks for
/// the link and opens it).
pub async fn enable_link(t: &TestApp, token: &str, email: &str) {
    let sent = setup_link(t, token).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let link = mailed_link(t, email, MailKind::MfaActivation).await;
    let activated = activate_link(t, token, &link).await;
    assert_eq!(activated.status, 200, "{}", activated.body);
}

/// A member of `owner`'s organization (`email`) made to enroll: the
/// organization enforces MFA, the member signs in to an enrollment token
/// and asks for an activation link. The token and the link.
pub async fn enrolling_by_link(t: &TestApp, owner: &Member, email: &str) -> (String, String) {
    t.member(owner, email, 0).await;
    let enforce = json!({"enforced": true});
    let enforced = t
        .call(
            "POST",
            "/mfa/organization/enforce",
            Some(enforce),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(enforced.status, 200, "{}", enforced.body);
    let enrolling = t.login(email, PASSWORD).await.str("accessToken");
    let sent = setup_link(t, &enrolling).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let link = mailed_link(t, email, MailKind::MfaActivation).await;
    (enrolling, link)
}

/// A password sign-in of `email` (`MAGIC_LINK` on) that asks for its link:
/// the pending token and the link's token, as mailed.
pub async fn pending_with_link(t: &TestApp, email: &str) -> (String, String) {
    let pending = pending_login(t, email).await;
    let sent = send_link(t, &pending).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let link = mailed_link(t, email, MailKind::MagicLink).await;
    (pending, link)
}
