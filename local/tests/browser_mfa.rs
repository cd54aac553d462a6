//! A real browser enrolls in TOTP and signs in with it (issue #23):
//! headless Chromium loads `browser/mfa.html` from a second loopback origin,
//! whose script sets up `GOOGLE_AUTH`, shows the QR code in an `<img>`,
//! computes its codes with WebCrypto from the secret, turns MFA on, signs in
//! again (a pending token, refused by the profile) and completes the second
//! factor (support/browser.rs). The page runs on the wall clock, so it waits
//! for the next 30-second step before its second code: up to half a minute.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use accounts::auth::totp;
use serde_json::{Value, json};
use support::browser::{Clock, PageOrigin, Report, run_page};
use support::{Reply, Server, exchange, start};

const PAGE: &str = include_str!("browser/mfa.html");

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Each of `expected`'s fields has its value in `actual`.
fn assert_has(actual: &Value, expected: &Value, context: &str) {
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&actual[key], value, "{context}: {key} in {actual}");
    }
}

/// The page's step `name` was answered `status`, with `error_code` or
/// success, and `fields` among its body's.
fn answered<'r>(
    report: &'r Report,
    name: &str,
    status: u16,
    error_code: Option<&str>,
    mut fields: Value,
) -> &'r Value {
    let step = report.step(name);
    assert_eq!(step["status"], status, "{name}: {step}");
    fields["errorCode"] = json!(error_code);
    fields["success"] = json!(error_code.is_none());
    assert_has(&step["fields"], &fields, name);
    step
}

fn post(server: &Server, path: &str, token: Option<&str>, body: &Value) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("authorization", b.as_str()))
        .collect();
    exchange(server, "POST", path, &headers, Some(body))
}

/// The page's code for `use`, checked against the one Rust computes from
/// the secret for the time the page read; returns its step.
fn checked_code(notes: &Value, secret: &[u8], use_: &str, ran: (i64, i64)) -> (i64, String) {
    let noted = notes["codes"]
        .as_array()
        .and_then(|codes| codes.iter().find(|c| c["use"] == use_))
        .unwrap_or_else(|| panic!("the page noted no code for {use_}: {notes}"));
    let at = noted["at"].as_i64().unwrap();
    let step = noted["step"].as_i64().unwrap();
    let code = noted["code"].as_str().unwrap().to_owned();
    // Read from the wall clock: a virtual one (Clock::Virtual) would have
    // run ahead of the server's while the page waited for the next step.
    assert!(
        (ran.0..=ran.1).contains(&at),
        "{use_}: {noted}, run {ran:?}"
    );
    assert_eq!(step, totp::step_at(at), "{use_}: {noted}");
    assert_eq!(code, totp::code_at(secret, at), "{use_}: {noted}");
    (step, code)
}

#[test]
fn a_page_enrolls_in_totp_and_signs_in_with_it() {
    let page = PageOrigin::start(PAGE);
    let server = start(&["--memory", "--cors-allowed-origins", &page.origin]);
    let started = unix_now();
    let report = run_page(&page, &server, "enroll", Clock::Wall);
    let ran = (started, unix_now());
    assert_eq!(report.origin, page.origin);
    report.assert_all_read_through_cors();
    let notes = &report.notes;
    // WebCrypto's subtle API exists only in a secure context.
    assert_eq!(notes["secureContext"], true, "{notes}");

    let register = answered(&report, "register", 201, None, json!({"accessToken": true}));
    let user_id = register["fields"]["userId"].as_str().unwrap();

    let qr_type = json!({"qrCodeType": "data:image/svg+xml;base64"});
    answered(&report, "setup", 200, None, qr_type);
    let secret_text = notes["secret"].as_str().unwrap();
    assert_eq!(secret_text.len(), 32, "160 bits of base32: {secret_text}");
    let secret = totp::decode_secret(secret_text).unwrap();
    let backup_codes = notes["backupCodes"].as_array().unwrap();
    assert_eq!(backup_codes.len(), 10, "{notes}");
    let qr = &notes["qr"];
    assert_eq!(
        qr["loaded"], true,
        "the <img> could not show the QR code: {qr}"
    );
    assert!(qr["width"].as_u64().unwrap() > 0, "{qr}");
    assert!(qr["height"].as_u64().unwrap() > 0, "{qr}");

    let (setup_step, setup_code) = checked_code(notes, &secret, "verify-setup", ran);
    let enabled = json!({"isEnabled": true, "enabledMethods": ["GOOGLE_AUTH"],
                         "primaryMethod": "GOOGLE_AUTH"});
    let mut fields = enabled.clone();
    fields["message"] = json!("MFA enabled");
    answered(&report, "verify setup", 200, None, fields);

    let pending = json!({"userId": user_id, "mfaRequired": true, "refreshToken": false,
                         "tokenType": "mfa_pending"});
    answered(&report, "login", 200, None, pending);
    answered(
        &report,
        "profile while pending",
        403,
        Some("MFA_REQUIRED"),
        json!({}),
    );
    let unverified = json!({"isEnabled": true, "sessionVerified": false});
    answered(&report, "status while pending", 200, None, unverified);
    answered(
        &report,
        "replayed code",
        400,
        Some("INVALID_MFA_CODE"),
        json!({}),
    );

    let (login_step, login_code) = checked_code(notes, &secret, "verify-login", ran);
    assert!(login_step > setup_step, "{notes}");
    assert_ne!(login_code, setup_code, "{notes}");
    let signed_in = json!({"message": "MFA verified", "fullAccessToken": true, "sameToken": true,
                           "refreshToken": true, "tokenId": true, "tokenType": "access"});
    answered(&report, "verify login", 200, None, signed_in);
    let profile = json!({"email": "ada@acme.com", "id": user_id, "mfaRequired": true});
    answered(&report, "profile", 200, None, profile);
    let mut verified = enabled;
    verified["sessionVerified"] = json!(true);
    answered(&report, "status", 200, None, verified.clone());

    // The server's side, from Rust: a sign-in still waits for the factor,
    // the page's last code is spent, and a backup code from the page's
    // setup completes it.
    let body = json!({"email": "ada@acme.com", "password": "Secure-pass-123"});
    let login = post(&server, "/user/login", None, &body);
    assert_eq!(login.status, 200, "{}", login.body);
    let waiting = json!({"mfaRequired": true, "refreshToken": null});
    assert_has(&login.body, &waiting, "login from Rust");
    let pending = login.body["accessToken"].as_str().unwrap();
    let replay = json!({"mfaType": "GOOGLE_AUTH", "code": login_code});
    let replayed = post(&server, "/mfa/verify-login", Some(pending), &replay);
    assert_eq!(replayed.status, 400, "{}", replayed.body);
    assert_eq!(
        replayed.body["error_code"], "INVALID_MFA_CODE",
        "{}",
        replayed.body
    );
    let backup = json!({"mfaType": "GOOGLE_AUTH", "code": backup_codes[0]});
    let signed_in = post(&server, "/mfa/verify-login", Some(pending), &backup);
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let full = signed_in.body["fullAccessToken"].as_str().unwrap();
    let bearer = format!("Bearer {full}");
    let headers = [("authorization", bearer.as_str())];
    let status = exchange(&server, "GET", "/mfa/status", &headers, None);
    assert_eq!(status.status, 200, "{}", status.body);
    assert_has(&status.body["data"], &verified, "status from Rust");
}
