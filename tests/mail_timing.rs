//! A reset request must not tell, by its timing, whether an address has an
//! account: one for a registered address (a token and its mail written)
//! and one for an unknown address (stand-ins of the same size written in
//! their place) take the same time.
//!
//! The method is login's (tests/login_timing.rs, BENCHMARKS.md): on both stores
//! (DynamoDB: moto), through the HTTP entry point, the medians of many
//! tries of each kind (120 on DynamoDB, 1000 on the embedded store),
//! interleaved (the kinds alternate, and which goes first is a coin flip),
//! after untimed warm-up tries, one store at a time. Unknown addresses are
//! each new; registered ones are used in turn, one hour apart on the test
//! clock, so that no address meets the mail limit (3 per hour) and every
//! try of either kind writes.
//! `--nocapture` shows the numbers.

use std::time::{Duration, Instant};

use accounts_tests::timing::median;
use accounts_tests::*;
use serde_json::json;

/// Tries of each kind: a DynamoDB request (moto) takes a hundred
/// milliseconds or so, an embedded one about a hundred microseconds, where
/// scheduling noise weighs more: it gets more samples.
fn tries(backend: Backend) -> usize {
    match backend {
        Backend::Dynamo => 120,
        Backend::Embedded => 1000,
    }
}
const WARM_UP: usize = 10;
/// Registered addresses, used in turn: every round over them starts a new
/// hour on the test clock, so that no address meets the mail limit.
const ACCOUNTS: usize = 20;
const TOLERANCE: f64 = 0.15;

async fn timed_request(t: &TestApp, email: &str) -> Duration {
    let started = Instant::now();
    let reply = t
        .post("/user/request-reset-password", json!({"email": email}))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 200, "{}", reply.body);
    elapsed
}

static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn known_and_unknown_addresses_take_the_same_time(backend: Backend) {
    let _alone = MEASURING.lock().await;
    let t = TestApp::new(backend).await;
    let known = |i: usize| format!("known-{}@acme.com", i % ACCOUNTS);
    let unknown = |i: usize| format!("nobody-{i}@acme.com");
    for i in 0..ACCOUNTS {
        t.register(&known(i)).await;
    }
    let (mut account, mut no_account) = (Vec::new(), Vec::new());
    for i in 0..WARM_UP + tries(backend) {
        if i % ACCOUNTS == 0 {
            t.clock.advance(3600);
        }
        // Which kind goes first is a coin flip, not an alternation: moto's
        // pauses (a deep copy of the table per transaction item, then the
        // garbage collector) recur with a period that can fall in step with
        // a strict alternation and land on one kind only.
        let unknown_first = uuid::Uuid::new_v4().as_u128() & 1 == 1;
        let (a, b) = if unknown_first {
            let b = timed_request(&t, &unknown(i)).await;
            (timed_request(&t, &known(i)).await, b)
        } else {
            let a = timed_request(&t, &known(i)).await;
            (a, timed_request(&t, &unknown(i)).await)
        };
        if i >= WARM_UP {
            account.push(a);
            no_account.push(b);
        }
    }
    let (a, b) = (median(account), median(no_account));
    let ratio = a.max(b).as_secs_f64() / a.min(b).as_secs_f64();
    let described = format!(
        "median request-reset, account {a:.2?}, no account {b:.2?}: ratio {ratio:.3} (allowed {:.2})",
        1.0 + TOLERANCE
    );
    println!("{backend:?}: {described}");
    // Every try of a registered address wrote its mail; the unknown
    // addresses were written as stand-ins, not mailed.
    let outbox = t.store.outbox().await.unwrap();
    let resets = outbox
        .iter()
        .filter(|m| m.kind == accounts::model::mail::MailKind::Reset);
    assert_eq!(resets.count(), WARM_UP + tries(backend));
    assert!(outbox.iter().all(|m| m.to.starts_with("known-")));
    assert!(
        ratio <= 1.0 + TOLERANCE,
        "request-reset timing on {backend:?} tells whether an account exists: {described}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded() {
    known_and_unknown_addresses_take_the_same_time(Backend::Embedded).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb() {
    known_and_unknown_addresses_take_the_same_time(Backend::Dynamo).await
}
