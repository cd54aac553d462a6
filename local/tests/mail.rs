//! Mail through `accounts-local`: every mail lands as an `.eml` file under
//! `<data dir>/outbox/`, delivered by the in-process mailer, and its link
//! works against the same server. Verification, reset, and an unknown
//! address (no mail), read from the files as a developer would.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, exchange, start, start_with_env};

const APP_URL: &str = "http://localhost:5173";

fn post(server: &Server, path: &str, body: Value) -> (u16, Value) {
    let reply = exchange(server, "POST", path, &[], Some(&body));
    (reply.status, reply.body)
}

fn data_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("accounts-local-mail-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The `.eml` files in `outbox/`, oldest first (their names start with
/// the time), waiting up to 10 s for there to be `count`.
fn mails(data: &Path, count: usize) -> Vec<String> {
    let outbox = data.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&outbox)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        if files.len() >= count || Instant::now() > deadline {
            files.sort();
            return files
                .iter()
                .map(|f| std::fs::read_to_string(f).unwrap())
                .collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The token of the `page` link, read from the mail's text as is.
fn token(mail: &str, page: &str) -> String {
    let prefix = format!("{APP_URL}/{page}?token=");
    let start = mail
        .find(&prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in\n{mail}"))
        + prefix.len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn register(server: &Server, email: &str) -> Value {
    let (status, body) = post(
        server,
        "/user/register",
        json!({"email": email, "password": "Secure-pass-123", "firstName": "Ada",
               "lastName": "Lovelace", "companyName": "Acme <Labs>", "isBusiness": true}),
    );
    assert_eq!(status, 201, "{body}");
    body
}

#[test]
fn verification_and_reset_mails_are_eml_files_whose_links_work() {
    let data = data_dir("flows");
    let server = start(&["--data", data.to_str().unwrap()]);
    register(&server, "ada@acme.com");
    let verification = &mails(&data, 1)[0];
    assert!(verification.contains("To: ada@acme.com"), "{verification}");
    assert!(verification.contains("Subject: Confirm your email address"));
    assert!(verification.contains("Content-Type: text/plain"));
    assert!(verification.contains("Content-Type: text/html"));
    let verify = token(verification, "verify-email");

    let (status, body) = post(&server, "/user/pre-verify-email", json!({"token": verify}));
    assert_eq!(
        (status, body["hasPassword"].clone()),
        (200, json!(true)),
        "{body}"
    );
    let (status, body) = post(&server, "/user/verify-email", json!({"token": verify}));
    assert_eq!(status, 200, "{body}");
    let bearer = format!("Bearer {}", body["accessToken"].as_str().unwrap());
    let profile = exchange(
        &server,
        "GET",
        "/user/profile",
        &[("authorization", &bearer)],
        None,
    );
    let (status, body) = (profile.status, profile.body);
    assert_eq!(
        (status, body["data"]["validated"].clone()),
        (200, json!(true)),
        "{body}"
    );
    let (status, body) = post(&server, "/user/verify-email", json!({"token": verify}));
    assert_eq!(
        (status, body["error_code"].clone()),
        (400, json!("INVALID_VERIFICATION_TOKEN"))
    );

    // Reset: an unknown address gets the same answer and no mail.
    for email in ["ada@acme.com", "nobody@acme.com"] {
        let (status, body) = post(
            &server,
            "/user/request-reset-password",
            json!({"email": email}),
        );
        assert_eq!(status, 200, "{body}");
    }
    let all = mails(&data, 2);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        mails(&data, 2).len(),
        2,
        "one verification and one reset mail"
    );
    let reset_mail = &all[1];
    assert!(reset_mail.contains("To: ada@acme.com"));
    assert!(reset_mail.contains("Subject: Reset your password"));
    let reset = token(reset_mail, "reset-password");
    let (status, body) = post(
        &server,
        "/user/reset-password",
        json!({"token": reset, "newPassword": "Another-pass-456"}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = post(
        &server,
        "/user/login",
        json!({"email": "ada@acme.com", "password": "Another-pass-456"}),
    );
    assert_eq!(status, 200);
    let (status, body) = post(
        &server,
        "/user/reset-password",
        json!({"token": reset, "newPassword": "Third-pass-789"}),
    );
    assert_eq!(
        (status, body["error_code"].clone()),
        (400, json!("INVALID_RESET_TOKEN"))
    );
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn login_waits_for_the_link_when_verification_is_required() {
    let data = data_dir("required");
    let server = start_with_env(
        &["--data", data.to_str().unwrap()],
        &[("REQUIRE_VERIFIED_EMAIL", "true"), ("APP_URL", APP_URL)],
    );
    register(&server, "ada@acme.com");
    let login = json!({"email": "ada@acme.com", "password": "Secure-pass-123"});
    let (status, body) = post(&server, "/user/login", login.clone());
    assert_eq!(
        (status, body["error_code"].clone()),
        (403, json!("EMAIL_NOT_VERIFIED"))
    );
    let verify = token(&mails(&data, 1)[0], "verify-email");
    let (status, _) = post(&server, "/user/verify-email", json!({"token": verify}));
    assert_eq!(status, 200);
    let (status, body) = post(&server, "/user/login", login);
    assert_eq!(status, 200, "{body}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn an_invitation_and_a_resent_verification_arrive_as_files() {
    let data = data_dir("invite");
    let server = start(&["--data", data.to_str().unwrap()]);
    let owner = register(&server, "ada@acme.com");
    let bearer = format!("Bearer {}", owner["accessToken"].as_str().unwrap());
    // Resent: a second verification mail for ada.
    let id = owner["verificationTokenId"].as_str().unwrap();
    let (status, _) = post(
        &server,
        &format!("/user/resend-verification/{id}"),
        json!({}),
    );
    assert_eq!(status, 200);
    let invite = json!({"email": "grace@acme.com", "firstName": "Grace", "lastName": "Hopper",
                        "sendInvite": true});
    let created = exchange(
        &server,
        "POST",
        "/organization/users",
        &[("authorization", &bearer)],
        Some(&invite),
    );
    assert_eq!(created.status, 201, "{}", created.body);

    let all = mails(&data, 3);
    assert_eq!(all.len(), 3);
    // Mails written within one second go out in no set order.
    let (ada, grace): (Vec<&String>, Vec<&String>) =
        all.iter().partition(|m| m.contains("To: ada@acme.com"));
    assert_eq!((ada.len(), grace.len()), (2, 1));
    assert!(
        ada.iter()
            .all(|m| m.contains("Subject: Confirm your email address"))
    );
    assert_ne!(token(ada[0], "verify-email"), token(ada[1], "verify-email"));
    let invitation = grace[0];
    assert!(invitation.contains("To: grace@acme.com"));
    // A fixed subject: no organization or user name in it (API.md).
    assert!(invitation.contains("Subject: You have been invited to join an organization"));
    assert!(invitation.contains("Acme &lt;Labs&gt;"), "{invitation}");
    let invited = token(invitation, "verify-email");
    let (status, body) = post(&server, "/user/pre-verify-email", json!({"token": invited}));
    assert_eq!(
        (status, body["hasPassword"].clone()),
        (200, json!(false)),
        "{body}"
    );
    let (status, body) = post(
        &server,
        "/user/verify-email",
        json!({"token": invited, "password": "Grace-pass-123"}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = post(
        &server,
        "/user/login",
        json!({"email": "grace@acme.com", "password": "Grace-pass-123"}),
    );
    assert_eq!(status, 200);
    let _ = std::fs::remove_dir_all(&data);
}
