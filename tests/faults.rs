//! Store faults on DynamoDB: a proxy between the service's client and moto
//! takes the store away (or makes it slow, or throttling) while moto and its
//! data stay. Every endpoint must answer 503 `SERVICE_UNAVAILABLE` with
//! `Retry-After`, soon and without internals, and nothing may be left
//! half-written once the store is back.

#[path = "support/proxy.rs"]
mod proxy;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use accounts::model::UsageKey;
use accounts::role::Role;
use accounts::service::quota;
use accounts::store::dynamo::{DynamoStore, create_table};
use accounts::store::{Store, StoreError, UserStore};
use accounts_tests::*;
use proxy::Proxy;
use serde_json::json;

/// Every answer during a fault must come within this (the Lambda timeout is
/// 10 s; the client gives up on a call after 4 s).
const BOUND: Duration = Duration::from_secs(8);
/// Longer than one attempt may take (2 s).
const SLOW: Duration = Duration::from_secs(3);

/// An app whose store reaches moto through a proxy, and a way around it.
struct Faulty {
    proxy: Proxy,
    /// The service, on the store behind the proxy.
    t: TestApp,
    /// The same table, straight to moto.
    direct: Arc<dyn Store>,
    client: aws_sdk_dynamodb::Client,
    table: String,
}

async fn faulty() -> Faulty {
    let endpoint = dynamodb_endpoint();
    let proxy = Proxy::start(&endpoint).await;
    let client = dynamodb_client(&endpoint);
    let table = format!("accounts-faults-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.expect("create table");
    let behind_proxy = DynamoStore::new(dynamodb_client(&proxy.endpoint()), table.clone());
    let t = TestApp::on_store(Arc::new(behind_proxy), Backend::Dynamo);
    let direct = Arc::new(DynamoStore::new(client.clone(), table.clone()));
    Faulty {
        proxy,
        t,
        direct,
        client,
        table,
    }
}

/// An organization with an owner and a member, its plans seeded by a first
/// quota read, and the table's census before any fault.
async fn populated() -> (Faulty, Member, Member, BTreeMap<String, usize>) {
    let f = faulty().await;
    let ada = f.t.owner("ada@acme.com").await;
    let grace = f.t.member(&ada, "grace@acme.com", 0).await;
    assert_eq!(f.t.get("/user/quota", &ada.access_token).await.status, 200);
    let before = f.census().await;
    (f, ada, grace, before)
}

impl Faulty {
    /// How many items of each kind (`USER/PROFILE`, `EMAIL/EMAIL`,
    /// `ORG/META`, …) the table holds, read straight from moto.
    async fn census(&self) -> BTreeMap<String, usize> {
        dynamo_census(&self.client, &self.table).await
    }
}

type Call = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// One call of every endpoint, as `owner` (and on `other`, a member of
/// `owner`'s organization with role USER), each one that writes asking for
/// a change: a registration (`lin@acme.com`), a login, a refresh, a rename,
/// a promotion of `other` to OWNER, a new member (`hopper@acme.com`).
fn every_endpoint(t: &TestApp, owner: &Member, other: &Member) -> Vec<(&'static str, Call)> {
    let mut calls: Vec<(&'static str, Call)> = Vec::new();
    let token = owner.access_token.clone();
    let (t1, t2, t3, t4, t5, t6, t7, t8, t9, t10) = (
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
        t.clone(),
    );
    calls.push((
        "POST /user/register",
        Box::pin(async move {
            t1.post("/user/register", registration("lin@acme.com"))
                .await
        }),
    ));
    let email = owner.email.clone();
    calls.push((
        "POST /user/login",
        Box::pin(async move { t2.login(&email, PASSWORD).await }),
    ));
    let refresh_token = owner.refresh_token.clone();
    calls.push((
        "POST /user/refresh",
        Box::pin(async move { t3.refresh(&refresh_token).await }),
    ));
    let tk = token.clone();
    calls.push((
        "GET /user/profile",
        Box::pin(async move { t4.get("/user/profile", &tk).await }),
    ));
    let (tk, path) = (token.clone(), format!("/user/{}", other.id));
    calls.push((
        "GET /user/{userId}",
        Box::pin(async move { t5.get(&path, &tk).await }),
    ));
    let (tk, path) = (token.clone(), format!("/user/{}", owner.id));
    calls.push((
        "PUT /user/{userId}",
        Box::pin(async move {
            t6.put(&path, json!({"name": "Augusta", "lastName": "King"}), &tk)
                .await
        }),
    ));
    let (tk, path) = (token.clone(), format!("/user/{}/role", other.id));
    calls.push((
        "PUT /user/{userId}/role",
        Box::pin(async move {
            t7.put(&path, json!({"orgRole": Role::Owner.value()}), &tk)
                .await
        }),
    ));
    let tk = token.clone();
    calls.push((
        "GET /user/quota",
        Box::pin(async move { t8.get("/user/quota", &tk).await }),
    ));
    let tk = token.clone();
    calls.push((
        "POST /organization/users",
        Box::pin(async move {
            let body = json!({
                "email": "hopper@acme.com", "password": PASSWORD,
                "firstName": "Grace", "lastName": "Hopper", "orgRole": 0
            });
            t9.call("POST", "/organization/users", Some(body), Some(&tk))
                .await
        }),
    ));
    calls.push((
        "GET /organization/users",
        Box::pin(async move { t10.get("/organization/users", &token).await }),
    ));
    calls
}

/// The call's answer and how long it took; a call that takes longer than
/// `BOUND` fails the test (a hang is the worst answer).
async fn timed(name: &'static str, call: Call) -> (&'static str, Reply, Duration) {
    let started = Instant::now();
    let reply = tokio::time::timeout(BOUND, call)
        .await
        .unwrap_or_else(|_| panic!("{name}: no answer within {BOUND:?}"));
    (name, reply, started.elapsed())
}

/// A 503 in the contract's shape, with `Retry-After`, within the bound,
/// saying nothing about the store.
fn assert_unavailable(name: &str, reply: &Reply, elapsed: Duration, proxy: &Proxy) {
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

fn print_timings(what: &str, results: &[(&'static str, Reply, Duration)]) {
    println!("{what}:");
    for (name, reply, elapsed) in results {
        println!("  {name:<26} {} in {elapsed:>10.3?}", reply.status);
    }
}

/// The organization's stored owner count, and how many members are owners.
async fn owners(store: &dyn Store, org_id: &str) -> (u64, usize) {
    let org = store.organization(org_id).await.unwrap().expect("org");
    let members = store.members(org_id).await.unwrap();
    let owners = members.iter().filter(|m| m.org_role == Role::Owner).count();
    (org.owner_count as u64, owners)
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
    let (f, ada, grace, before) = populated().await;
    let t = &f.t;

    f.proxy.down();
    let mut results = Vec::new();
    for (name, call) in every_endpoint(t, &ada, &grace) {
        results.push(timed(name, call).await);
    }
    print_timings("store down (connections reset)", &results);
    for (name, reply, elapsed) in &results {
        assert_unavailable(name, reply, *elapsed, &f.proxy);
    }
    // Straight to moto: nothing was written.
    assert_eq!(f.census().await, before);
    assert!(
        f.direct
            .user_by_email("lin@acme.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.direct
            .user_by_email("hopper@acme.com")
            .await
            .unwrap()
            .is_none()
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
    let profile = t.get("/user/profile", &ada.access_token).await;
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
    let hopper = t.member(&ada, "hopper@acme.com", 0).await;
    assert_eq!(t.role_of(&hopper.id).await, 0);
    let members = t.get("/organization/users", &ada.access_token).await;
    assert_eq!(members.status, 200, "{}", members.body);
    assert_eq!(f.direct.members(&ada.org_id).await.unwrap().len(), 3);
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
    let (f, ada, grace, before) = populated().await;
    let t = &f.t;

    f.proxy.slow(SLOW);
    // All at once: each is held to the bound on its own.
    let tasks: Vec<_> = every_endpoint(t, &ada, &grace)
        .into_iter()
        .map(|(name, call)| tokio::spawn(timed(name, call)))
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("call"));
    }
    print_timings("store slow (answers held 3 s)", &results);
    for (name, reply, elapsed) in &results {
        assert_unavailable(name, reply, *elapsed, &f.proxy);
    }

    f.proxy.up();
    // The registration's transaction may have been done by the store though
    // its answer came too late: then all of it, else none of it.
    let after = f.census().await;
    let lin = f.direct.user_by_email("lin@acme.com").await.unwrap();
    let added = usize::from(lin.is_some());
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
    let fresh = DynamoStore::new(dynamodb_client(&f.proxy.endpoint()), table);
    let started = Instant::now();
    let read = fresh.user(&ada.id).await;
    let elapsed = started.elapsed();
    assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    assert_eq!(f.proxy.throttled_requests(), 3, "one call, three attempts");
    println!("throttled read: 3 attempts, unavailable after {elapsed:?}");
    assert!(elapsed < BOUND);

    let t = TestApp::on_store(Arc::new(fresh), Backend::Dynamo);
    let (name, reply, elapsed) = timed(
        "GET /user/profile",
        Box::pin({
            let t = t.clone();
            let token = ada.access_token.clone();
            async move { t.get("/user/profile", &token).await }
        }),
    )
    .await;
    println!("throttled {name}: {} in {elapsed:?}", reply.status);
    assert_unavailable(name, &reply, elapsed, &f.proxy);
    assert_eq!(f.proxy.throttled_requests(), 6);

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

/// `by` adds `email` as a USER to its organization.
async fn create_member(f: &Faulty, by: &Member, email: &str) -> Reply {
    let path = "/organization/users";
    f.t.call(
        "POST",
        path,
        Some(new_member(email)),
        Some(&by.access_token),
    )
    .await
}

/// What one registration writes (its seven items: the account's five, the
/// verification token and its mail; nothing else), and the account stored
/// for `email` is the one `reply` names.
async fn assert_one_new_account(
    f: &Faulty,
    before: &BTreeMap<String, usize>,
    reply: &Reply,
    email: &str,
) {
    let kinds = [
        "USER/PROFILE",
        "EMAIL/EMAIL",
        "ORG/META",
        "ORG/SUB",
        "SESSION/SESSION",
        "MAILTOKEN/TOKEN",
        "OUTBOX/MAIL",
    ];
    assert_census(&f.census().await, before, &kinds);
    let stored = f.direct.user_by_email(email).await.unwrap().unwrap();
    assert_eq!(stored.id, reply.body["user"]["id"].as_str().unwrap());
}

/// The census after `before`, with `added` more items of each named kind
/// and nothing else changed.
fn assert_census(
    after: &BTreeMap<String, usize>,
    before: &BTreeMap<String, usize>,
    added: &[&str],
) {
    let mut expected = before.clone();
    for kind in added {
        *expected.entry((*kind).to_owned()).or_default() += 1;
    }
    assert_eq!(after, &expected, "store contents");
}

// A write the store applied but whose answer was lost is retried by the
// SDK, and the retry fails the write's own condition. Each must still get
// the answer of the write that was done, and nothing may be doubled.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_whose_answer_is_lost_is_one_account_and_201() {
    let (f, _, _, before) = populated().await;
    let t = &f.t;
    f.proxy.lose_answer_to("TransactWriteItems");
    let lin = t.post("/user/register", registration("lin@acme.com")).await;
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    assert_eq!(lin.status, 201, "{}", lin.body);
    assert_one_new_account(&f, &before, &lin, "lin@acme.com").await;
    assert_eq!(t.refresh(&lin.str("refreshToken")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_over_an_invitation_whose_answer_is_lost_withdraws_it_once_and_201() {
    let (f, ada, _, _) = populated().await;
    let invited = create_member(&f, &ada, "lin@acme.com").await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    let pending = invited.body["data"]["id"].as_str().unwrap().to_owned();
    let before = f.census().await;
    f.proxy.lose_answer_to("TransactWriteItems");
    let lin =
        f.t.post("/user/register", registration("lin@acme.com"))
            .await;
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    assert_eq!(lin.status, 201, "{}", lin.body);
    // The invitation's member went, the registrant came: one profile, one
    // lock, as before; the new account's other records once each.
    assert_census(
        &f.census().await,
        &before,
        &[
            "ORG/META",
            "ORG/SUB",
            "SESSION/SESSION",
            "MAILTOKEN/TOKEN",
            "OUTBOX/MAIL",
        ],
    );
    assert_eq!(f.direct.user(&pending).await.unwrap(), None);
    let stored = f
        .direct
        .user_by_email("lin@acme.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, lin.body["user"]["id"].as_str().unwrap());
    assert_eq!(f.direct.members(&ada.org_id).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_creation_whose_answer_is_lost_is_one_member_and_201() {
    let (f, ada, _, before) = populated().await;
    f.proxy.lose_answer_to("TransactWriteItems");
    let body = json!({
        "email": "hopper@acme.com", "password": PASSWORD,
        "firstName": "Grace", "lastName": "Hopper", "orgRole": 0
    });
    let created =
        f.t.call(
            "POST",
            "/organization/users",
            Some(body),
            Some(&ada.access_token),
        )
        .await;
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    assert_eq!(created.status, 201, "{}", created.body);
    assert_census(&f.census().await, &before, NEW_MEMBER);
    let hopper = f
        .direct
        .user_by_email("hopper@acme.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hopper.id, created.body["data"]["id"].as_str().unwrap());
    assert_eq!(f.direct.members(&ada.org_id).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_role_change_whose_answer_is_lost_is_one_change_and_200() {
    let (f, ada, grace, before) = populated().await;
    f.proxy.lose_answer_to("TransactWriteItems");
    let promoted =
        f.t.put(
            &format!("/user/{}/role", grace.id),
            json!({"orgRole": Role::Owner.value()}),
            &ada.access_token,
        )
        .await;
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    assert_eq!(promoted.body["data"]["previousRole"], json!(0));
    assert_eq!(promoted.body["data"]["newRole"], json!(255));
    let grace_now = f.direct.user(&grace.id).await.unwrap().unwrap();
    assert_eq!((grace_now.org_role, grace_now.version), (Role::Owner, 3));
    assert_eq!(owners(f.direct.as_ref(), &ada.org_id).await, (2, 2));
    assert_census(&f.census().await, &before, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_whose_answer_is_lost_is_one_rotation_and_200() {
    let (f, ada, _, before) = populated().await;
    f.proxy.lose_answer_to("PutItem");
    let refreshed = f.t.refresh(&ada.refresh_token).await;
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let session_id = accounts::auth::refresh::parse(&ada.refresh_token)
        .unwrap()
        .session_id;
    let session = f.direct.session(session_id).await.unwrap().unwrap();
    assert_eq!(session.generation, 1, "rotated once");
    assert_eq!(
        session.token_hash,
        accounts::auth::refresh::hash(&refreshed.str("refreshToken"))
    );
    assert_census(&f.census().await, &before, &[]);
    assert_eq!(
        f.t.refresh(&refreshed.str("refreshToken")).await.status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_login_whose_count_answer_is_lost_is_counted_once() {
    let (f, _, _, before) = populated().await;
    f.proxy.lose_answer_to("PutItem");
    f.t.login("ada@acme.com", "Wrong-pass-123")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    let throttle = f
        .direct
        .login_throttle("ada@acme.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(throttle.failures, 1, "counted once");
    assert_census(&f.census().await, &before, &["THROTTLE/LOGIN"]);
}

// Transactions that lose to concurrent ones. moto runs requests one at a
// time and never cancels a transaction for `TransactionConflict`, so the
// proxy answers TransactWriteItems in the store's stead with DynamoDB's
// `TransactionCanceledException`, on every attempt. The SDK does not retry
// it (not a throttling or transient code): every attempt the proxy counts
// is one of the store's own (4 per transaction, `TX_ATTEMPTS`).

/// One reason of a cancellation: `None` (the item was fine),
/// `TransactionConflict`, `ConditionalCheckFailed`, or
/// `ConditionalCheckFailed+` (the failed item reported, as with ALL_OLD).
fn cancelled(reasons: &[&str]) -> String {
    let reasons: Vec<serde_json::Value> = reasons
        .iter()
        .map(|code| match *code {
            "ConditionalCheckFailed+" => json!({
                "Code": "ConditionalCheckFailed",
                "Message": "The conditional request failed",
                "Item": {"pk": {"S": "ORG#x"}, "sk": {"S": "META"}, "ownerCount": {"N": "1"}}
            }),
            "TransactionConflict" => json!({
                "Code": code, "Message": "Transaction is ongoing for the item"
            }),
            "ConditionalCheckFailed" => json!({
                "Code": code, "Message": "The conditional request failed"
            }),
            _ => json!({"Code": code}),
        })
        .collect();
    let codes: Vec<&str> = reasons
        .iter()
        .map(|r| r["Code"].as_str().unwrap())
        .collect();
    json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
        "CancellationReasons": reasons,
    })
    .to_string()
}

/// Attempts of one store transaction while it loses (`TX_ATTEMPTS`).
const TX_ATTEMPTS: usize = 4;
/// Member creation re-reads the caller and asks the store again on a
/// `Conflict` (`ADD_ATTEMPTS`), each time with `TX_ATTEMPTS`.
const ADD_ATTEMPTS: usize = 3;

/// What a member creation writes: the member, its lock, its invitation
/// (token and mail) and the address's invitation count (the organization's
/// exists already: updated).
const NEW_MEMBER: &[&str] = &[
    "USER/PROFILE",
    "EMAIL/EMAIL",
    "MAILTOKEN/TOKEN",
    "OUTBOX/MAIL",
    "MAILLIMIT/INVITE",
];

fn new_member(email: &str) -> serde_json::Value {
    json!({
        "email": email, "password": PASSWORD,
        "firstName": "Grace", "lastName": "Hopper", "orgRole": 0
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_that_always_loses_a_transaction_race_is_409_conflict_and_writes_nothing() {
    let (f, _, _, before) = populated().await;
    let race = cancelled(&["TransactionConflict", "None", "None", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, usize::MAX);
    let reply =
        f.t.post("/user/register", registration("lin@acme.com"))
            .await;
    reply.assert_error(409, "CONFLICT");
    assert_eq!(f.proxy.faked_answers(), TX_ATTEMPTS, "attempts");
    assert_eq!(f.census().await, before, "store contents");
    assert!(
        f.direct
            .user_by_email("lin@acme.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(!reply.body.to_string().to_lowercase().contains("transact"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_that_loses_one_transaction_race_is_retried_into_one_account() {
    let (f, _, _, before) = populated().await;
    let race = cancelled(&["None", "None", "TransactionConflict", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, 1);
    let lin =
        f.t.post("/user/register", registration("lin@acme.com"))
            .await;
    assert_eq!(lin.status, 201, "{}", lin.body);
    assert_eq!(f.proxy.faked_answers(), 1);
    assert_one_new_account(&f, &before, &lin, "lin@acme.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_whose_email_lock_fails_amid_conflicts_is_409_email_already_registered() {
    let (f, _, _, before) = populated().await;
    let mix = cancelled(&[
        "TransactionConflict",
        "ConditionalCheckFailed",
        "None",
        "TransactionConflict",
        "None",
    ]);
    f.proxy.fake_answers("TransactWriteItems", mix, usize::MAX);
    f.t.post("/user/register", registration("lin@acme.com"))
        .await
        .assert_error(409, "EMAIL_ALREADY_REGISTERED");
    assert_eq!(f.proxy.faked_answers(), 1, "a taken email is not retried");
    assert_eq!(f.census().await, before, "store contents");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_creation_that_always_loses_a_transaction_race_is_409_conflict_and_writes_nothing()
{
    let (f, ada, _, before) = populated().await;
    let race = cancelled(&["None", "TransactionConflict", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, usize::MAX);
    create_member(&f, &ada, "hopper@acme.com")
        .await
        .assert_error(409, "CONFLICT");
    assert_eq!(
        f.proxy.faked_answers(),
        ADD_ATTEMPTS * TX_ATTEMPTS,
        "attempts"
    );
    assert_eq!(f.census().await, before, "store contents");
    assert!(
        f.direct
            .user_by_email("hopper@acme.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(f.direct.members(&ada.org_id).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_creation_whose_email_lock_fails_amid_conflicts_is_409_email_already_registered() {
    let (f, ada, _, before) = populated().await;
    let mix = cancelled(&[
        "None",
        "TransactionConflict",
        "ConditionalCheckFailed",
        "None",
    ]);
    f.proxy.fake_answers("TransactWriteItems", mix, usize::MAX);
    create_member(&f, &ada, "hopper@acme.com")
        .await
        .assert_error(409, "EMAIL_ALREADY_REGISTERED");
    assert_eq!(f.proxy.faked_answers(), 1, "a taken email is not retried");
    assert_eq!(f.census().await, before, "store contents");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_creation_that_loses_one_transaction_race_is_retried_into_one_member() {
    let (f, ada, _, before) = populated().await;
    let race = cancelled(&["TransactionConflict", "None", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, 1);
    let created = create_member(&f, &ada, "hopper@acme.com").await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(f.proxy.faked_answers(), 1);
    assert_census(&f.census().await, &before, NEW_MEMBER);
    assert_eq!(f.direct.members(&ada.org_id).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_role_change_that_always_loses_a_transaction_race_is_409_conflict_and_changes_nothing() {
    let (f, ada, grace, before) = populated().await;
    let race = cancelled(&["TransactionConflict", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, usize::MAX);
    f.t.put(
        &format!("/user/{}/role", grace.id),
        json!({"orgRole": Role::Owner.value()}),
        &ada.access_token,
    )
    .await
    .assert_error(409, "CONFLICT");
    assert_eq!(f.proxy.faked_answers(), TX_ATTEMPTS, "attempts");
    let grace_now = f.direct.user(&grace.id).await.unwrap().unwrap();
    assert_eq!(
        (grace_now.org_role, grace_now.version),
        (Role::User, 2),
        "as accepted"
    );
    assert_eq!(owners(f.direct.as_ref(), &ada.org_id).await, (1, 1));
    assert_eq!(f.census().await, before, "store contents");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_demotion_whose_owner_count_fails_amid_conflicts_is_409_last_owner() {
    let (f, ada, grace, before) = populated().await;
    // Grace is made an owner first (for real), then Ada demotes Grace: the
    // organization's owner count is reported as the obstacle.
    let promoted =
        f.t.put(
            &format!("/user/{}/role", grace.id),
            json!({"orgRole": Role::Owner.value()}),
            &ada.access_token,
        )
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    let census = f.census().await;
    assert_eq!(census, before);
    let mix = cancelled(&["None", "ConditionalCheckFailed+", "TransactionConflict"]);
    f.proxy.fake_answers("TransactWriteItems", mix, usize::MAX);
    f.t.put(
        &format!("/user/{}/role", grace.id),
        json!({"orgRole": Role::User.value()}),
        &ada.access_token,
    )
    .await
    .assert_error(409, "LAST_OWNER");
    assert_eq!(
        f.proxy.faked_answers(),
        1,
        "a refused demotion is not retried"
    );
    let grace_now = f.direct.user(&grace.id).await.unwrap().unwrap();
    assert_eq!((grace_now.org_role, grace_now.version), (Role::Owner, 3));
    assert_eq!(owners(f.direct.as_ref(), &ada.org_id).await, (2, 2));
}
