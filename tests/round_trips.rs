//! DynamoDB round trips per endpoint, counted against moto: each endpoint
//! is held to its budget (requests sent together count once), and the
//! table is printed for BENCHMARKS.md (`--nocapture`).

use std::sync::Arc;
use std::time::Duration;

use accounts::store::dynamo::{DynamoStore, create_table};
use accounts_tests::round_trips::{RoundTrips, Tally};
use accounts_tests::*;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use serde_json::json;

#[allow(dead_code)]
#[path = "support/proxy.rs"]
mod proxy;
#[path = "support/round_trips_magic.rs"]
mod round_trips_magic;

/// What moto's every answer is held back by. Requests sent together are
/// told apart from requests in a chain by when each starts and ends; moto
/// answers in a millisecond or two, and on a loaded machine a request the
/// code sent together with another could be marked after that one had
/// already been answered (a thread that stalls between the two sends). Held
/// back this long, an answer cannot come before a stall that long ends.
const ANSWER_DELAY: Duration = Duration::from_millis(50);

async fn counted_app() -> (TestApp, RoundTrips, proxy::Proxy) {
    let counter = RoundTrips::default();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(dynamodb_endpoint())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    let table = format!("accounts-rt-{}", uuid::Uuid::new_v4().simple());
    create_table(&aws_sdk_dynamodb::Client::from_conf(config.clone()), &table)
        .await
        .unwrap();
    let slow = proxy::Proxy::start(&dynamodb_endpoint()).await;
    slow.slow(ANSWER_DELAY);
    let counted = config
        .to_builder()
        .endpoint_url(slow.endpoint())
        .interceptor(counter.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(counted);
    let t = TestApp::on_store(Arc::new(DynamoStore::new(client, table)), Backend::Dynamo);
    (t, counter, slow)
}

/// Runs `reply` with the counter reset; checks the status; returns the tally.
async fn measure(
    counter: &RoundTrips,
    status: u16,
    reply: impl std::future::Future<Output = Reply>,
) -> Tally {
    counter.reset();
    let reply = reply.await;
    assert_eq!(reply.status, status, "{}", reply.body);
    counter.tally()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_endpoint_stays_within_its_round_trip_budget() {
    let (t, counter, _slow) = counted_app().await;
    // Seeding the default plans is a once-per-table cost: pay it first.
    let warm = t.owner("warm@acme.com").await;
    t.get("/user/quota", &warm.access_token).await;

    let mut rows: Vec<(&str, Tally, usize)> = Vec::new();
    let register = measure(
        &counter,
        201,
        t.post("/user/register", registration("ada@acme.com")),
    )
    .await;
    rows.push(("POST /user/register", register, 1));
    let login_reply = t.login("ada@acme.com", PASSWORD).await;
    let login = measure(&counter, 200, t.login("ada@acme.com", PASSWORD)).await;
    rows.push(("POST /user/login", login, 3));
    let failed = measure(&counter, 401, t.login("ada@acme.com", "Wrong-pass-123")).await;
    let unknown = measure(&counter, 401, t.login("nobody@acme.com", PASSWORD)).await;
    // No enumeration by round trips: the same requests, in the same chain.
    let sorted = |tally: &Tally| {
        let mut operations = tally.operations.clone();
        operations.sort();
        operations
    };
    assert_eq!(
        sorted(&failed),
        sorted(&unknown),
        "a wrong password and an unknown email"
    );
    assert_eq!(failed.sequential, unknown.sequential);
    rows.push(("POST /user/login (wrong password)", failed, 2));
    rows.push(("POST /user/login (unknown email)", unknown, 2));
    let token = login_reply.str("accessToken");
    let refresh = measure(&counter, 200, t.refresh(&login_reply.str("refreshToken"))).await;
    rows.push(("POST /user/refresh", refresh, 2));
    let profile = measure(&counter, 200, t.get("/user/profile", &token)).await;
    rows.push(("GET /user/profile", profile, 1));
    let quota = measure(&counter, 200, t.get("/user/quota", &token)).await;
    rows.push(("GET /user/quota", quota, 2));

    let new_member =
        json!({"email": "grace@acme.com", "password": PASSWORD, "firstName": "G", "lastName": "H"});
    let create = measure(
        &counter,
        201,
        t.call(
            "POST",
            "/organization/users",
            Some(new_member),
            Some(&token),
        ),
    )
    .await;
    // The caller, then the organization and the invitation counts (read
    // together), then the transaction: the counts cost the third.
    rows.push(("POST /organization/users", create, 3));
    let grace = t
        .store
        .user_by_email("grace@acme.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let list = measure(&counter, 200, t.get("/organization/users", &token)).await;
    rows.push(("GET /organization/users", list, 2));
    let get = measure(&counter, 200, t.get(&format!("/user/{grace}"), &token)).await;
    rows.push(("GET /user/{userId}", get, 1));
    let put = measure(
        &counter,
        200,
        t.put(&format!("/user/{grace}"), json!({"name": "Grace"}), &token),
    )
    .await;
    rows.push(("PUT /user/{userId}", put, 2));
    let role = measure(
        &counter,
        200,
        t.put(
            &format!("/user/{grace}/role"),
            json!({"orgRole": 1}),
            &token,
        ),
    )
    .await;
    rows.push(("PUT /user/{userId}/role", role, 2));

    // Mail. A reset request costs the same for an address with an account
    // and one without: the same requests, in the same chain.
    let reset_for = |email: &str| t.post("/user/request-reset-password", json!({"email": email}));
    let known = measure(&counter, 200, reset_for("ada@acme.com")).await;
    let unknown = measure(&counter, 200, reset_for("nobody@acme.com")).await;
    assert_eq!(
        sorted(&known),
        sorted(&unknown),
        "a known and an unknown address"
    );
    assert_eq!(known.sequential, unknown.sequential);
    // The lock and the count, then the account (for the session epoch its
    // link is bound to; an unknown address reads an id no account has),
    // then the transaction.
    rows.push(("POST /user/request-reset-password", known, 3));
    rows.push(("POST /user/request-reset-password (no account)", unknown, 3));
    let mails = t.mailer().deliver().await;
    let link = |kind: accounts::model::mail::MailKind, page: &str| {
        let mail = mails.iter().find(|m| m.kind == kind).expect("a mail");
        accounts_tests::mail::link_token(mail, &t.app.config.mail.app_url, page)
    };
    let verification = link(
        accounts::model::mail::MailKind::Verification,
        "verify-email",
    );
    let pre = measure(
        &counter,
        200,
        t.post("/user/pre-verify-email", json!({"token": verification})),
    )
    .await;
    rows.push(("POST /user/pre-verify-email", pre, 1));
    let verify = measure(
        &counter,
        200,
        t.post("/user/verify-email", json!({"token": verification})),
    )
    .await;
    rows.push(("POST /user/verify-email", verify, 2));
    let resend = measure(
        &counter,
        200,
        t.post(&format!("/user/resend-verification/{grace}"), json!({})),
    )
    .await;
    // Grace's is an invitation: the account's tokens, then the account with
    // its resend count, then the invitation counts and the organization's
    // name, then the transaction. The invitation caps cost the two middle
    // reads (a self-registered account's resend stays at two).
    rows.push((
        "POST /user/resend-verification/{id} (an invitation)",
        resend,
        4,
    ));
    // The first verification spent ada's other mail tokens, the reset link
    // among them: a fresh one (not measured).
    let asked = t
        .post(
            "/user/request-reset-password",
            json!({"email": "ada@acme.com"}),
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let fresh = t.mailer().deliver().await;
    let reset_mail = fresh
        .iter()
        .find(|m| m.kind == accounts::model::mail::MailKind::Reset && m.to == "ada@acme.com")
        .expect("a reset mail");
    let reset_token =
        accounts_tests::mail::link_token(reset_mail, &t.app.config.mail.app_url, "reset-password");
    let reset = measure(
        &counter,
        200,
        t.post(
            "/user/reset-password",
            json!({"token": reset_token, "newPassword": "Reset-pass-246"}),
        ),
    )
    .await;
    // The token and user read, the write (every session ends with the
    // epoch it moves), the throttle cleared.
    rows.push(("POST /user/reset-password", reset, 3));
    // The reset ended ada's sessions: signed in again with the new password.
    let token = t
        .login("ada@acme.com", "Reset-pass-246")
        .await
        .str("accessToken");

    // Grace signs in once she accepts her invitation (mailed above; not
    // measured here).
    let invitation = link(accounts::model::mail::MailKind::Invitation, "verify-email");
    let accepted = t
        .post(
            "/user/verify-email",
            json!({"token": invitation, "password": PASSWORD}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let phone = t.login("grace@acme.com", PASSWORD).await;
    let grace_token = phone.str("accessToken");
    let sessions = measure(&counter, 200, t.get("/sessions", &token)).await;
    rows.push(("GET /sessions", sessions, 2));
    let second = t.login("grace@acme.com", PASSWORD).await;
    let revoke = measure(
        &counter,
        200,
        t.call(
            "POST",
            &format!("/sessions/{}/revoke", second.str("tokenId")),
            None,
            Some(&grace_token),
        ),
    )
    .await;
    rows.push(("POST /sessions/{id}/revoke", revoke, 2));
    let logout = measure(
        &counter,
        200,
        t.post(
            "/user/logout",
            json!({"refresh_token": phone.str("refreshToken")}),
        ),
    )
    .await;
    rows.push(("POST /user/logout", logout, 2));
    let third = t.login("grace@acme.com", PASSWORD).await;
    let revoke_all = measure(
        &counter,
        200,
        t.call(
            "POST",
            "/sessions/revoke-all",
            None,
            Some(&third.str("accessToken")),
        ),
    )
    .await;
    rows.push(("POST /sessions/revoke-all", revoke_all, 3));
    let owner_leaves = measure(
        &counter,
        409,
        t.call("POST", "/user/deactivate", None, Some(&token)),
    )
    .await;
    rows.push((
        "POST /user/deactivate (the last owner, refused)",
        owner_leaves,
        4,
    ));
    let fourth = t.login("grace@acme.com", PASSWORD).await;
    let deactivate = measure(
        &counter,
        200,
        t.call(
            "POST",
            "/user/deactivate",
            None,
            Some(&fourth.str("accessToken")),
        ),
    )
    .await;
    rows.push(("POST /user/deactivate", deactivate, 3));
    // Boxed: its requests are futures too large for a debug build's test thread.
    Box::pin(organization_management(
        &t, &counter, &token, &grace, &mut rows,
    ))
    .await;
    let health = measure(&counter, 200, t.call("GET", "/health", None, None)).await;
    rows.push(("GET /health", health, 1));
    Box::pin(multi_factor(&t, &counter, &mut rows)).await;
    Box::pin(round_trips_magic::magic_link(&t, &counter, &mut rows)).await;

    println!("| endpoint | round trips | requests | budget | operations |");
    println!("|---|---|---|---|---|");
    for (name, tally, budget) in &rows {
        println!(
            "| `{name}` | {} | {} | {budget} | {} |",
            tally.sequential,
            tally.requests,
            tally.operations.join(", ")
        );
    }
    for (name, tally, budget) in &rows {
        assert!(
            tally.sequential <= *budget,
            "{name}: {} round trips, budget {budget}: {:?}",
            tally.sequential,
            tally.operations
        );
        assert!(tally.sequential >= 1, "{name} made no request");
    }
}

/// The organization-management and settings routes, ada (the owner) acting
/// on grace (deactivated just before).
async fn organization_management(
    t: &TestApp,
    counter: &RoundTrips,
    token: &str,
    grace: &str,
    rows: &mut Vec<(&'static str, Tally, usize)>,
) {
    let member = format!("/organization/users/{grace}");
    // Each request boxed: a debug build keeps every request future of a
    // function in its poll frame at once, and these would outgrow the test
    // thread's stack on top of the caller's.
    let call = |method: &'static str, path: String, body: Option<serde_json::Value>| {
        Box::pin(async move { t.call(method, &path, body, Some(token)).await })
    };
    let activate = measure(
        counter,
        200,
        call("POST", format!("{member}/activate"), None),
    )
    .await;
    rows.push(("POST /organization/users/{userId}/activate", activate, 2));
    let get = measure(counter, 200, call("GET", member.clone(), None)).await;
    rows.push(("GET /organization/users/{userId}", get, 1));
    let rename = measure(
        counter,
        200,
        call("PUT", member.clone(), Some(json!({"name": "G"}))),
    )
    .await;
    rows.push(("PUT /organization/users/{userId} (names)", rename, 2));
    let role = measure(
        counter,
        200,
        call("PUT", member.clone(), Some(json!({"orgRole": 0}))),
    )
    .await;
    rows.push(("PUT /organization/users/{userId} (role)", role, 2));
    // A member who has not accepted (grace has: 409 for her).
    let pending = call(
        "POST",
        "/organization/users".to_owned(),
        Some(json!({"email": "pen@acme.com", "firstName": "P", "lastName": "D"})),
    )
    .await;
    assert_eq!(pending.status, 201, "{}", pending.body);
    let pending = pending.body["data"]["id"].as_str().unwrap().to_owned();
    let resend = measure(
        counter,
        200,
        call(
            "POST",
            format!("/organization/users/{pending}/resend-invitation"),
            None,
        ),
    )
    .await;
    // The caller and the member, then its tokens, the organization's name
    // and the invitation counts together, then the transaction.
    rows.push((
        "POST /organization/users/{userId}/resend-invitation",
        resend,
        3,
    ));
    let remove = measure(counter, 200, call("DELETE", member.clone(), None)).await;
    rows.push(("DELETE /organization/users/{userId}", remove, 2));
    let org_id = t.store.user(grace).await.unwrap().unwrap().org_id;
    let org = format!("/organization/{org_id}");
    let get_org = measure(counter, 200, call("GET", org.clone(), None)).await;
    rows.push(("GET /organization/{orgId}", get_org, 1));
    let put_org = measure(
        counter,
        200,
        call("PUT", org, Some(json!({"city": "London"}))),
    )
    .await;
    rows.push(("PUT /organization/{orgId}", put_org, 2));
    for (path, names) in [
        (
            "/settings/user",
            [
                "GET /settings/user",
                "POST /settings/user",
                "PUT /settings/user",
                "DELETE /settings/user",
            ],
        ),
        (
            "/settings/organization",
            [
                "GET /settings/organization",
                "POST /settings/organization",
                "PUT /settings/organization",
                "DELETE /settings/organization",
            ],
        ),
    ] {
        let [get, post, put, delete] = names;
        let replaced = measure(
            counter,
            200,
            call("POST", path.into(), Some(json!({"settings": {"a": 1}}))),
        )
        .await;
        rows.push((post, replaced, 2));
        let merged = measure(
            counter,
            200,
            call("PUT", path.into(), Some(json!({"settings": {"b": 2}}))),
        )
        .await;
        rows.push((put, merged, 2));
        let deleted = measure(
            counter,
            200,
            call("DELETE", path.into(), Some(json!({"keys": ["a"]}))),
        )
        .await;
        rows.push((delete, deleted, 2));
        let read = measure(counter, 200, call("GET", path.into(), None)).await;
        rows.push((get, read, 1));
    }
}

/// The MFA routes, for a fresh owner: setup, verify-setup, the status and
/// methods, and a sign-in's second factor.
async fn multi_factor(t: &TestApp, counter: &RoundTrips, rows: &mut Vec<(&str, Tally, usize)>) {
    use accounts::auth::totp;
    let mia = t.owner("mia@acme.com").await;
    let token = mia.access_token.as_str();
    let body = |code: &str| json!({"mfaType": "GOOGLE_AUTH", "code": code});
    let setup = measure(
        counter,
        200,
        t.call(
            "POST",
            "/mfa/setup",
            Some(json!({"mfaType": "GOOGLE_AUTH"})),
            Some(token),
        ),
    )
    .await;
    // The caller with its MFA state (one read), the record's write.
    rows.push(("POST /mfa/setup", setup, 2));
    let record = t
        .store
        .mfa_state(&mia.id, "-")
        .await
        .unwrap()
        .record
        .unwrap();
    let sealed = record.pending_totp.unwrap().sealed_secret;
    let secret = t.app.mfa_key().unwrap().open(&mia.id, &sealed).unwrap();
    let code = totp::code_at(&secret, t.clock_now());
    let verify_setup = measure(
        counter,
        200,
        t.call("POST", "/mfa/verify-setup", Some(body(&code)), Some(token)),
    )
    .await;
    // The read, the code's count, the record and user's transaction, then
    // the caller's session stamped alongside the count's clearing.
    rows.push(("POST /mfa/verify-setup", verify_setup, 4));
    let status = measure(counter, 200, t.get("/mfa/status", token)).await;
    rows.push(("GET /mfa/status", status, 1));
    let methods = measure(counter, 200, t.get("/mfa/methods", token)).await;
    rows.push(("GET /mfa/methods", methods, 1));
    t.clock.advance(totp::STEP_SECONDS);
    let pending = t.login("mia@acme.com", PASSWORD).await.str("accessToken");
    let code = totp::code_at(&secret, t.clock_now());
    let verify_login = measure(
        counter,
        200,
        t.call(
            "POST",
            "/mfa/verify-login",
            Some(body(&code)),
            Some(&pending),
        ),
    )
    .await;
    // The read; the code check proper is 2: its count, then its spending in
    // the session's own transaction (with the count cleared and the
    // session cap's query alongside).
    rows.push(("POST /mfa/verify-login", verify_login, 3));
    let wrong = measure(
        counter,
        400,
        t.call(
            "POST",
            "/mfa/verify-login",
            Some(body("000000")),
            Some(&t.login("mia@acme.com", PASSWORD).await.str("accessToken")),
        ),
    )
    .await;
    rows.push(("POST /mfa/verify-login (wrong code)", wrong, 2));
    // The changes, past the fresh-proof window, each with a code.
    let full = t
        .call(
            "POST",
            "/mfa/verify-login",
            Some(body(&totp::code_at(
                &secret,
                t.clock_now() + totp::STEP_SECONDS,
            ))),
            Some(&t.login("mia@acme.com", PASSWORD).await.str("accessToken")),
        )
        .await
        .str("fullAccessToken");
    for (name, path, budget, wait) in [
        // The caller with its MFA state and organization (one read), the
        // code counted, the record and user's transaction.
        ("POST /mfa/disable", "/mfa/disable", 3, 15 * 60 + 1),
        // The same, then the caller's session stamped and the count cleared.
        ("POST /mfa/enable", "/mfa/enable", 4, totp::STEP_SECONDS),
        ("POST /mfa/primary", "/mfa/primary", 3, 15 * 60 + 1),
        (
            "POST /mfa/backup-codes",
            "/mfa/backup-codes",
            3,
            totp::STEP_SECONDS,
        ),
    ] {
        t.clock.advance(wait);
        let code = totp::code_at(&secret, t.clock_now());
        let tally = measure(
            counter,
            200,
            t.call("POST", path, Some(body(&code)), Some(&full)),
        )
        .await;
        rows.push((name, tally, budget));
    }

    // The organization's MFA: enforcement, a member's sign-in that must
    // enroll, its enrollment, and a reset.
    let by = Member {
        access_token: full.clone(),
        ..mia.clone()
    };
    let noa = t.member(&by, "noa@acme.com", 0).await;
    let enforce = json!({"enforced": true});
    let enforced = measure(
        counter,
        200,
        t.call(
            "POST",
            "/mfa/organization/enforce",
            Some(enforce),
            Some(&full),
        ),
    )
    .await;
    // PUT /organization/{orgId}'s: the caller and the organization, the write.
    rows.push(("POST /mfa/organization/enforce", enforced, 2));
    let login = measure(counter, 200, t.login("noa@acme.com", PASSWORD)).await;
    // Login's: the organization is checked in the session's transaction,
    // which fails; no request of its own.
    rows.push(("POST /user/login (must enroll)", login, 3));
    let enrolling = t.login("noa@acme.com", PASSWORD).await.str("accessToken");
    let setup_body = json!({"mfaType": "GOOGLE_AUTH"});
    let set_up = t
        .call("POST", "/mfa/setup", Some(setup_body), Some(&enrolling))
        .await;
    let secret = totp::decode_secret(set_up.body["data"]["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at(&secret, t.clock_now());
    let enrolled = measure(
        counter,
        200,
        t.call(
            "POST",
            "/mfa/verify-setup",
            Some(body(&code)),
            Some(&enrolling),
        ),
    )
    .await;
    // The account with its MFA state, the code's count, then the record, the
    // user and the new session in one transaction (the count cleared and the
    // cap's query alongside).
    rows.push(("POST /mfa/verify-setup (an enrollment)", enrolled, 3));
    let reset = json!({"resetUserId": noa.id, "enable": true});
    let reset = measure(
        counter,
        200,
        t.call("POST", "/mfa/reset", Some(reset), Some(&full)),
    )
    .await;
    // The caller with the member, and the member's MFA state, together; then
    // the record and the member in one transaction.
    rows.push(("POST /mfa/reset", reset, 2));
}
