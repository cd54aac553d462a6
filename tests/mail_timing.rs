//! A reset request must not tell, by its timing, whether an address has an
//! account: one for a registered address (a token and its mail written)
//! and one for an unknown address (stand-ins of the same size written in
//! their place) take the same time.
//!
//! The method is login's (tests/timing.rs, BENCHMARKS.md): on both stores
//! (DynamoDB: moto), through the HTTP entry point, the medians of 120 tries
//! of each kind, interleaved (the kinds alternate, and which goes first
//! alternates too), after untimed warm-up tries, one store at a time. Each
//! try uses its own address, so that no address meets the mail limit.
//! `--nocapture` shows the numbers.

use std::time::{Duration, Instant};

use accounts_tests::*;
use serde_json::json;

const TRIES: usize = 120;
const WARM_UP: usize = 10;
const TOLERANCE: f64 = 0.15;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let mid = samples.len() / 2;
    if samples.len().is_multiple_of(2) {
        (samples[mid - 1] + samples[mid]) / 2
    } else {
        samples[mid]
    }
}

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
    let known = |i: usize| format!("known-{i}@acme.com");
    let unknown = |i: usize| format!("nobody-{i}@acme.com");
    for i in 0..WARM_UP + TRIES {
        t.register(&known(i)).await;
    }
    for i in 0..WARM_UP {
        timed_request(&t, &unknown(i)).await;
        timed_request(&t, &known(i)).await;
    }
    let (mut account, mut no_account) = (Vec::new(), Vec::new());
    for i in WARM_UP..WARM_UP + TRIES {
        if i.is_multiple_of(2) {
            no_account.push(timed_request(&t, &unknown(i)).await);
            account.push(timed_request(&t, &known(i)).await);
        } else {
            account.push(timed_request(&t, &known(i)).await);
            no_account.push(timed_request(&t, &unknown(i)).await);
        }
    }
    let (a, b) = (median(account), median(no_account));
    let ratio = a.max(b).as_secs_f64() / a.min(b).as_secs_f64();
    let described = format!(
        "median request-reset, account {a:.2?}, no account {b:.2?}: ratio {ratio:.3} (allowed {:.2})",
        1.0 + TOLERANCE
    );
    println!("{backend:?}: {described}");
    // The unknown addresses were written as stand-ins, not mailed.
    let outbox = t.store.outbox().await.unwrap();
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
