//! Store faults on DynamoDB: a proxy between the service's client and moto
//! takes the store away (or makes it slow, or throttling) while moto and its
//! data stay. Every endpoint must answer 503 `SERVICE_UNAVAILABLE` with
//! `Retry-After`, soon and without internals, and nothing may be left
//! half-written once the store is back.

// Each of the two fault binaries (faults, contention) uses part of these.
#[path = "support/faulty.rs"]
#[allow(dead_code)]
mod faulty;
#[path = "support/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use accounts::http::Route;
use accounts::model::UsageKey;
use accounts::service::quota;
use accounts::store::dynamo::DynamoStore;
use accounts::store::{StoreError, UserStore};
use accounts_tests::github::GithubUser;
use accounts_tests::oidc::{self, FakeProvider};
use accounts_tests::routes::{Cast, call_of};
use accounts_tests::*;
use faulty::*;
use proxy::Proxy;
use serde_json::json;

/// Every answer during a fault must come within this (the Lambda timeout is
/// 10 s; the client gives up on a call after 4 s).
const BOUND: Duration = Duration::from_secs(8);
/// Longer than one attempt may take (2 s).
const SLOW: Duration = Duration::from_secs(3);

type Call = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// The routes that never read the store: served as usual whatever it does.
const WITHOUT_STORE: [Route; 2] = [Route::Jwks, Route::OpenIdConfiguration];

/// One call of every route that reads the store, from the table of
/// tests/support/routes.rs (each with its own bearer): every one that
/// writes asks for a change. GET /health is checked on its own: its 503
/// carries the check's body.
fn every_endpoint(t: &TestApp, cast: &Cast) -> Vec<(Route, Call)> {
    Route::ALL
        .into_iter()
        .filter(|route| !WITHOUT_STORE.contains(route) && *route != Route::Health)
        // Without a provider they answer 404 before any read: they are
        // called with one (`social_sign_ins`).
        .filter(|route| {
            !matches!(
                route,
                Route::GoogleSignIn
                    | Route::MicrosoftSignIn
                    | Route::GithubSignIn
                    | Route::GoogleExchange
                    | Route::MicrosoftExchange
            )
        })
        .map(|route| {
            let call = call_of(route, cast);
            let token = cast.token(call.bearer).map(str::to_owned);
            let t = t.clone();
            let call: Call = Box::pin(async move { t.send_call(&call, token.as_deref()).await });
            (route, call)
        })
        .collect()
}

/// The sign-in routes, with every provider pointed at the local one and a
/// proof it vouches for (ID token, GitHub code, code of the code flow), each
/// for a new address: each would make an account if the store answered.
fn social_sign_ins(t: &TestApp, p: &FakeProvider) -> Vec<(Route, Call)> {
    let s = oidc::app_with(t, &p.settings());
    let now = s.clock_now();
    let email = |mint: &str| format!("{mint}@social.test");
    let token = |mint: &str| p.google_token(now, mint, &email(mint), json!({}));
    let ms_token = |mint: &str| p.microsoft_token(now, mint, &email(mint), json!({}));
    [
        (Route::GoogleSignIn, json!({"token": token("fault-google")})),
        (
            Route::MicrosoftSignIn,
            json!({"token": ms_token("fault-ms")}),
        ),
        (
            Route::GithubSignIn,
            json!({"code": p.github_code(GithubUser::verified(4040, &email("fault-github")))}),
        ),
        (
            Route::GoogleExchange,
            json!({"code": p.code_for(&token("fault-google-code"))}),
        ),
        (
            Route::MicrosoftExchange,
            json!({"code": p.code_for(&ms_token("fault-ms-code"))}),
        ),
    ]
    .into_iter()
    .map(|(route, body)| {
        let s = s.clone();
        let call: Call = Box::pin(async move { s.post(route.path(), body).await });
        (route, call)
    })
    .collect()
}

/// The addresses `social_sign_ins` would make accounts for.
const SOCIAL_FAULT_ADDRESSES: [&str; 5] = [
    "fault-google@social.test",
    "fault-ms@social.test",
    "fault-github@social.test",
    "fault-google-code@social.test",
    "fault-ms-code@social.test",
];

/// The routes that answer without the store, and GET /health's own 503,
/// while the store is out of reach.
async fn assert_the_rest_during_a_fault(t: &TestApp) {
    for route in WITHOUT_STORE {
        let reply = t.call("GET", route.path(), None, None).await;
        assert_eq!(reply.status, 200, "{route:?}: {}", reply.body);
    }
    let (_, health, _) = timed(
        Route::Health,
        Box::pin({
            let t = t.clone();
            async move { t.call("GET", "/health", None, None).await }
        }),
    )
    .await;
    health.assert_error(503, "SERVICE_UNAVAILABLE");
    assert_eq!(health.body["checks"], json!({"store": "failing"}));
}

/// The call's answer and how long it took; a call that takes longer than
/// `BOUND` fails the test (a hang is the worst answer).
async fn timed(name: Route, call: Call) -> (Route, Reply, Duration) {
    let started = Instant::now();
    let reply = tokio::time::timeout(BOUND, call)
        .await
        .unwrap_or_else(|_| panic!("{name:?}: no answer within {BOUND:?}"));
    (name, reply, started.elapsed())
}

/// A 503 in the contract's shape, with `Retry-After`, within the bound,
/// saying nothing about the store.
fn assert_unavailable(name: Route, reply: &Reply, elapsed: Duration, proxy: &Proxy) {
    let name = format!("{name:?}");
    assert_eq!(reply.status, 503, "{name}: {}", reply.body);
    assert!(elapsed < BOUND, "{name} took {elapsed:?}");
    reply.assert_error(503, "SERVICE_UNAVAILABLE");
    let retry_after = reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|s| s >= 1),
        "{name}: Retry-After {:?}",
        reply.headers.get("retry-after")
    );
    let fields: BTreeSet<&str> = reply
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["success", "error_code", "message"]),
        "{name}: {}",
        reply.body
    );
    let expected = accounts::Error::Unavailable {
        retry_after_seconds: 1,
    }
    .to_string();
    assert_eq!(reply.body["message"], json!(expected), "{name}");
    let text = reply.body.to_string().to_lowercase();
    let port = proxy.endpoint().rsplit(':').next().unwrap().to_owned();
    for internal in [
        "dynamo",
        "127.0.0.1",
        "localhost",
        port.as_str(),
        "timeout",
        "dispatch",
        "connection",
        "exception",
        "transact",
        "item",
        "sdk",
        "moto",
    ] {
        assert!(
            !text.contains(internal),
            "{name} mentions {internal:?}: {text}"
        );
    }
}

fn print_timings(what: &str, results: &[(Route, Reply, Duration)]) {
    println!("{what}:");
    for (name, reply, elapsed) in results {
        let name = format!("{name:?}");
        println!("  {name:<26} {} in {elapsed:>10.3?}", reply.status);
    }
}

fn current_usage(reply: &Reply, code: &str) -> u64 {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["quotaUsage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["capability"]["code"] == code)
        .and_then(|u| u["usage"]["current"].as_u64())
        .unwrap_or_else(|| panic!("no {code} in {}", reply.body))
}

#[tokio::test]
async fn the_service_client_has_the_deliberate_timeouts_and_retries() {
    let client = accounts::aws::dynamodb_client().await;
    let config = client.config();
    let timeouts = config.timeout_config().expect("timeouts");
    assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(1)));
    assert_eq!(
        timeouts.operation_attempt_timeout(),
        Some(Duration::from_secs(2))
    );
    assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(4)));
    let retries = config.retry_config().expect("retries");
    assert_eq!(retries.max_attempts(), 3);
    assert_eq!(retries.initial_backoff(), Duration::from_millis(200));
    assert_eq!(retries.max_backoff(), Duration::from_secs(1));
    // Worst case of one call, all attempts timing out, is the operation
    // timeout; it leaves room in a 10 s Lambda.
    assert!(timeouts.operation_timeout().unwrap() < BOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_store_down_every_endpoint_answers_503_and_nothing_is_half_written() {
    let (f, cast, before) = populated_cast().await;
    let (t, ada, grace) = (&f.t, &cast.owner, &cast.member);
    let items = f.items().await;

    let provider = FakeProvider::start().await;
    f.proxy.down();
    let mut results = Vec::new();
    let calls = every_endpoint(t, &cast)
        .into_iter()
        .chain(social_sign_ins(t, &provider));
    for (name, call) in calls {
        results.push(timed(name, call).await);
    }
    print_timings("store down (connections reset)", &results);
    for (name, reply, elapsed) in &results {
        assert_unavailable(*name, reply, *elapsed, &f.proxy);
    }
    assert_the_rest_during_a_fault(t).await;
    // Straight to moto: nothing was written, not one attribute.
    assert_eq!(
        f.items().await,
        items,
        "the store changed while out of reach"
    );
    assert!(
        results
            .iter()
            .any(|(route, ..)| *route == Route::GithubSignIn)
    );

    f.proxy.up();
    // The same app (the same client) works again at once.
    let lin = t.register("lin@acme.com").await;
    t.post("/user/register", registration("lin@acme.com"))
        .await
        .assert_error(409, "EMAIL_ALREADY_REGISTERED");
    let after = f.census().await;
    for kind in ["USER/PROFILE", "EMAIL/EMAIL", "ORG/META", "ORG/SUB"] {
        assert_eq!(after[kind], before[kind] + 1, "{kind}: {after:?}");
    }
    let lin_user = f
        .direct
        .user_by_email("lin@acme.com")
        .await
        .unwrap()
        .expect("lin");
    assert_eq!(lin_user.id, lin.body["user"]["id"].as_str().unwrap());
    // The promotion did not happen, in part or in whole.
    assert_eq!(t.role_of(&grace.id).await, 0);
    assert_eq!(owners(f.direct.as_ref(), &ada.org_id).await, (1, 1));
    // The rename did not happen; the refresh token was not spent; no
    // failed login was counted.
    let profile = t
        .get(&format!("/user/{}", grace.id), &ada.access_token)
        .await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert!(!profile.body.to_string().contains("Augusta"));
    assert_eq!(t.refresh(&ada.refresh_token).await.status, 200);
    assert!(
        f.direct
            .login_throttle("ada@acme.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(t.login("ada@acme.com", PASSWORD).await.status, 200);
    // The member that was not created can be created now, once.
    let hopper = t.member(ada, "hopper@acme.com", 0).await;
    assert_eq!(t.role_of(&hopper.id).await, 0);
    let members = t.get("/organization/users", &ada.access_token).await;
    assert_eq!(members.status, 200, "{}", members.body);
    assert_eq!(f.direct.members(&ada.org_id).await.unwrap().len(), 4);
    // No session was ended (logout, by id, all of the leaver's), nobody
    // deactivated, no mail token spent: each still works, once.
    let phone = cast.owner_phone.str("accessToken");
    assert_eq!(t.get("/sessions", &phone).await.status, 200);
    let leaver = &cast.leaver.access_token;
    assert_eq!(t.get("/user/profile", leaver).await.status, 200);
    assert!(
        f.direct
            .user(&cast.leaver.id)
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    let verified = t
        .post(
            "/user/verify-email",
            json!({"token": cast.mae_verify_token}),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    // The first verification spends the user's other mail tokens (API.md,
    // "Who owns an address"): the reset link, which the fault left, too.
    t.post(
        "/user/reset-password",
        json!({"token": cast.mae_reset_token, "newPassword": "Another-pass-456"}),
    )
    .await
    .assert_error(400, "INVALID_RESET_TOKEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_usage_counter_holds_exactly_the_additions_that_succeeded() {
    let f = faulty().await;
    let ada = f.t.owner("ada@acme.com").await;
    let code = "EGRESS_MONTHLY_BYTES";
    let now = f.t.clock_now();
    let record =
        |amount: i64| quota::record_usage(f.t.store.as_ref(), &ada.org_id, code, amount, now);
    let mut succeeded = 0i64;
    for amount in [100, 20] {
        record(amount).await.unwrap();
        succeeded += amount;
    }

    f.proxy.down();
    for amount in [1000, 3000, -50] {
        let started = Instant::now();
        let result = tokio::time::timeout(BOUND, record(amount))
            .await
            .expect("within the bound");
        assert!(
            matches!(result, Err(accounts::Error::Unavailable { .. })),
            "{result:?}"
        );
        println!(
            "addition of {amount} with the store down: failed in {:?}",
            started.elapsed()
        );
    }

    f.proxy.up();
    for amount in [7, -5] {
        record(amount).await.unwrap();
        succeeded += amount;
    }
    let quota = f.t.get("/user/quota", &ada.access_token).await;
    assert_eq!(current_usage(&quota, code), succeeded as u64);
    // The additions made with the store down (1000, 3000, -50) left no trace.
    assert_eq!(current_usage(&quota, code), 100 + 20 + 7 - 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_a_slow_store_every_endpoint_answers_503_in_time_and_writes_all_or_nothing() {
    let (f, cast, before) = populated_cast().await;
    let (t, ada) = (&f.t, &cast.owner);
    let mae = f
        .direct
        .user_by_email("mae@acme.com")
        .await
        .unwrap()
        .unwrap();

    let provider = FakeProvider::start().await;
    f.proxy.slow(SLOW);
    // All at once: each is held to the bound on its own.
    let tasks: Vec<_> = every_endpoint(t, &cast)
        .into_iter()
        .chain(social_sign_ins(t, &provider))
        .map(|(name, call)| tokio::spawn(timed(name, call)))
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("call"));
    }
    print_timings("store slow (answers held 3 s)", &results);
    for (name, reply, elapsed) in &results {
        assert_unavailable(*name, reply, *elapsed, &f.proxy);
    }
    assert_the_rest_during_a_fault(t).await;

    f.proxy.up();
    // Deactivation is one write of the account and its session epoch: a
    // deactivated leaver has no live session left.
    let leaver = f.direct.user(&cast.leaver.id).await.unwrap().unwrap();
    let live = f.direct.user_sessions(&leaver.id).await.unwrap();
    let live = live
        .iter()
        .filter(|s| s.is_live_for(&leaver, t.clock_now()))
        .count();
    println!(
        "slow store: leaver active {}, {live} live sessions",
        leaver.is_active()
    );
    assert!(
        leaver.is_active() || live == 0,
        "deactivated with {live} live sessions"
    );
    // A reset spends its token and moves the epoch in one write; a
    // verification spends its token and starts a session in one write.
    let tokens = f.direct.user_tokens(&mae.id).await.unwrap();
    let mae_now = tokens.user.clone().unwrap();
    let left = |purpose| tokens.tokens.iter().any(|k| k.purpose == purpose);
    use accounts::model::mail::TokenPurpose;
    let reset_done = !left(TokenPurpose::Reset);
    assert_eq!(
        reset_done,
        mae_now.session_epoch > mae.session_epoch,
        "reset half done: {mae_now:?}"
    );
    let verify_done = !left(TokenPurpose::Verify);
    let sessions = f.direct.user_sessions(&mae.id).await.unwrap().len();
    assert_eq!(
        verify_done,
        sessions == 2,
        "verification half done: {sessions} sessions"
    );
    println!("slow store: the late reset was {reset_done}, the late verification {verify_done}");
    f.proxy.up();
    // The registration's transaction may have been done by the store though
    // its answer came too late: then all of it, else none of it.
    let after = f.census().await;
    let lin = f.direct.user_by_email("lin@acme.com").await.unwrap();
    // So may a social sign-in's (user, organization, trial, session and
    // identity in one transaction): all of it, or none.
    let mut social_added = 0;
    for email in SOCIAL_FAULT_ADDRESSES {
        let Some(user) = f.direct.user_by_email(email).await.unwrap() else {
            continue;
        };
        social_added += 1;
        let org = f.direct.organization(&user.org_id).await.unwrap();
        assert!(org.is_some_and(|o| o.owner_count == 1), "{email}");
        assert!(
            f.direct.subscription(&user.org_id).await.unwrap().is_some(),
            "{email}"
        );
        assert_eq!(
            f.direct.user_sessions(&user.id).await.unwrap().len(),
            1,
            "{email}"
        );
    }
    println!("slow store: {social_added} late social accounts");
    let added = usize::from(lin.is_some()) + social_added;
    for kind in ["USER/PROFILE", "EMAIL/EMAIL", "ORG/META", "ORG/SUB"] {
        assert_eq!(
            after.get(kind).copied().unwrap_or(0),
            before[kind] + added,
            "{kind}: {after:?}"
        );
    }
    if let Some(lin) = &lin {
        let org = f.direct.organization(&lin.org_id).await.unwrap();
        assert!(org.is_some_and(|o| o.owner_count == 1));
        assert!(f.direct.subscription(&lin.org_id).await.unwrap().is_some());
    }
    // Registering again settles it: exactly one account for the address.
    let again = t.post("/user/register", registration("lin@acme.com")).await;
    if lin.is_some() {
        again.assert_error(409, "EMAIL_ALREADY_REGISTERED");
        assert_eq!(t.login("lin@acme.com", PASSWORD).await.status, 200);
    } else {
        assert_eq!(again.status, 201, "{}", again.body);
    }
    assert_eq!(f.census().await["EMAIL/EMAIL"], before["EMAIL/EMAIL"] + 1);
    println!(
        "slow store: the late registration was {}",
        if lin.is_some() {
            "done by the store"
        } else {
            "not done"
        }
    );
    // Whatever else was done late, the owner count still matches the owners.
    let (count, owners) = owners(f.direct.as_ref(), &ada.org_id).await;
    assert_eq!(count, owners as u64);
    assert_eq!(t.get("/user/profile", &ada.access_token).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throttling_is_retried_with_backoff_then_answered_503() {
    let f = faulty().await;
    let ada = f.t.owner("ada@acme.com").await;

    f.proxy.throttle();
    // A client with no open connection, so that every attempt meets the
    // throttling answer (not a connection the switch just reset).
    let table = f.table.clone();
    let fresh = DynamoStore::new(service_dynamodb_client(&f.proxy.endpoint()), table);
    let started = Instant::now();
    let read = fresh.user(&ada.id).await;
    let elapsed = started.elapsed();
    assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    assert_eq!(f.proxy.throttled_requests(), 3, "one call, three attempts");
    println!("throttled read: 3 attempts, unavailable after {elapsed:?}");
    assert!(elapsed < BOUND);

    let t = TestApp::on_store(Arc::new(fresh), Backend::Dynamo);
    let (name, reply, elapsed) = timed(
        Route::Profile,
        Box::pin({
            let t = t.clone();
            let token = ada.access_token.clone();
            async move { t.get("/user/profile", &token).await }
        }),
    )
    .await;
    println!("throttled {name:?}: {} in {elapsed:?}", reply.status);
    assert_unavailable(name, &reply, elapsed, &f.proxy);
    // The profile's two requests (the caller with its session, and the
    // organization alongside), three attempts each.
    assert_eq!(f.proxy.throttled_requests(), 3 + 2 * 3);

    f.proxy.up();
    let reply = t.get("/user/profile", &ada.access_token).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// An addition whose answer is lost (the store did it, the answer came too
/// late) must not be counted twice: `add_usage` makes one attempt only, so
/// the SDK never repeats it (before that fix: 1 + 100 lost → 201).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_addition_whose_answer_is_lost_counts_at_most_once() {
    let f = faulty().await;
    let key = UsageKey {
        org_id: "org-1".into(),
        capability: "EGRESS_MONTHLY_BYTES".into(),
        period: "2027-01".into(),
    };
    f.direct.add_usage(&key, 1).await.unwrap();
    f.proxy.slow(SLOW);
    let result = f.t.store.add_usage(&key, 100).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    f.proxy.up();
    let counters = f.direct.usage("org-1", &["2027-01".into()]).await.unwrap();
    let total = counters[0].1;
    println!("after one lost addition of 100: {total}");
    // The slow proxy delivers the request at once and holds only the
    // answer: the store did the addition, and no retry repeated it.
    assert_eq!(total, 101, "counted {total}: not exactly once");
}
