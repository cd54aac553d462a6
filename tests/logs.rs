//! The log, captured: every authentication event is one JSON line with its
//! user, organization, outcome and request id, and no line anywhere holds a
//! password, a hash or a token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use accounts_tests::*;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not one JSON object a line: {e}: {l}"))
            })
            .collect()
    }
}

async fn exercise(t: &TestApp, secrets: &mut Vec<String>) {
    let ada = t.owner("ada@acme.com").await;
    secrets.extend([ada.access_token.clone(), ada.refresh_token.clone()]);
    t.login("ada@acme.com", "Wrong-pass-123")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    t.login("ghost@acme.com", "Ghost-pass-123")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    let login = t.login("ada@acme.com", PASSWORD).await;
    secrets.extend([login.str("accessToken"), login.str("refreshToken")]);
    let refreshed = t.refresh(&login.str("refreshToken")).await;
    secrets.extend([refreshed.str("accessToken"), refreshed.str("refreshToken")]);
    t.clock.advance(11);
    t.refresh(&login.str("refreshToken"))
        .await
        .assert_error(401, "REFRESH_TOKEN_REUSED");
    let grace = t.member(&ada, "grace@acme.com", 0).await;
    secrets.extend([grace.access_token.clone(), grace.refresh_token.clone()]);
    let role = t
        .put(
            &format!("/user/{}/role", grace.id),
            json!({"orgRole": 1}),
            &ada.access_token,
        )
        .await;
    assert_eq!(role.status, 200);
    let changed = t
        .put(
            &format!("/user/{}", ada.id),
            json!({"password": "New-pass-456", "currentPassword": PASSWORD}),
            &ada.access_token,
        )
        .await;
    assert_eq!(changed.status, 200);
    // Mail: the tokens of the links (and their hashes), delivered and
    // spent, a failed delivery included.
    t.post(
        "/user/request-reset-password",
        json!({"email": "ada@acme.com"}),
    )
    .await;
    let mailer = t.mailer();
    mailer
        .inbox
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    mailer.deliver().await;
    mailer
        .inbox
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let app_url = t.app.config.mail.app_url.clone();
    for mail in mailer.deliver().await {
        let page = match mail.kind {
            accounts::model::mail::MailKind::Reset => "reset-password",
            _ => "verify-email",
        };
        let token = accounts_tests::mail::link_token(&mail, &app_url, page);
        secrets.push(accounts::auth::mail_token::hash(&token));
        let reply = if page == "reset-password" {
            t.post(
                "/user/reset-password",
                json!({"token": token, "newPassword": "Reset-pass-246"}),
            )
            .await
        } else {
            t.post("/user/verify-email", json!({"token": token})).await
        };
        assert_eq!(reply.status, 200, "{}", reply.body);
        secrets.push(token);
    }
    for user in [&ada.id, &grace.id] {
        secrets.push(t.store.user(user).await.unwrap().unwrap().password_hash);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_events_are_structured_and_secrets_never_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    accounts::telemetry::init_with_writer(move || writer.clone());

    let mut secrets = vec![
        PASSWORD.to_owned(),
        "Wrong-pass-123".into(),
        "Ghost-pass-123".into(),
        "New-pass-456".into(),
    ];
    for backend in [Backend::Embedded, Backend::Dynamo] {
        exercise(&TestApp::new(backend).await, &mut secrets).await;
    }
    let lines = captured.lines();
    assert!(!lines.is_empty());

    let text = lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret reached the log: {}",
            &secret[..secret.len().min(12)]
        );
    }
    assert!(!text.contains("$argon2"), "a hash reached the log");
    // Refresh token secrets are the part after the session id.
    for secret in secrets
        .iter()
        .filter_map(|s| s.split_once('.').map(|(_, rest)| rest))
    {
        assert!(!text.contains(secret));
    }

    let events = |event: &str, outcome: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| l["event"] == event && l["outcome"] == outcome)
            .collect()
    };
    // Per store: one of each, but two login failures (a known and an unknown
    // address); grace signs in by accepting her invitation in member(), not
    // by login.
    for (event, outcome, per_store) in [
        ("register", "success", 1),
        ("login", "failure", 2),
        ("login", "success", 1),
        ("refresh", "success", 1),
        ("refresh", "reuse_detected", 1),
        ("member_created", "success", 1),
        ("role_change", "success", 1),
        ("password_change", "success", 1),
    ] {
        let found = events(event, outcome);
        assert_eq!(found.len(), 2 * per_store, "{event}/{outcome}");
        for line in found {
            let request_id = line["span"]["request_id"].as_str().unwrap_or_default();
            assert!(
                !request_id.is_empty(),
                "{event} without a request id: {line}"
            );
            assert!(
                line["user_id"].is_string() || (event, outcome) == ("login", "failure"),
                "{line}"
            );
            if event != "login" && event != "refresh" {
                assert!(
                    line["org_id"].is_string(),
                    "{event} without an organization: {line}"
                );
            }
        }
    }
    // Unknown and known addresses fail alike, but the log says which account it was.
    let failures = events("login", "failure");
    assert!(
        failures
            .iter()
            .any(|l| l["user_id"].is_string() && l["org_id"].is_string())
    );
    assert!(failures.iter().any(|l| l["user_id"].is_null()));
    // One request line per request, with its status and latency.
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert!(requests.len() >= 20);
    assert!(requests.iter().all(|l| l["status"].is_u64()
        && l["latency_ms"].is_number()
        && l["request_id"].is_string()));
}
