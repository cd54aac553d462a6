//! Login must not tell, by its timing, whether an address has an account: a
//! login with an unknown email and one with a wrong password for an existing
//! account take the same time (the unknown email verifies a dummy hash).
//!
//! Measured on both stores (DynamoDB: moto), through the HTTP entry point:
//! the median of 120 tries of each, interleaved (the two kinds alternate,
//! and which goes first alternates too) so that machine noise falls on both
//! alike. One measurement decides: with this many interleaved samples a
//! burst of other work on the machine moves both medians together, while a
//! real difference (a skipped hash, an extra store request) moves one.
//! Each try uses its own address, so that the per-address throttle never
//! locks one and every failure is the first for its address, for both kinds
//! alike. `--nocapture` shows the numbers.

use std::time::{Duration, Instant};

use accounts_tests::timing::median;
use accounts_tests::*;

const TRIES: usize = 120;
/// Untimed tries of each kind first: caches, allocator, thread pool.
const WARM_UP: usize = 10;
/// How far apart the two medians may be.
const TOLERANCE: f64 = 0.15;

struct Medians {
    unknown_email: Duration,
    wrong_password: Duration,
}

impl Medians {
    /// The larger median over the smaller.
    fn ratio(&self) -> f64 {
        let (a, b) = (
            self.unknown_email.as_secs_f64(),
            self.wrong_password.as_secs_f64(),
        );
        a.max(b) / a.min(b)
    }

    fn describe(&self) -> String {
        format!(
            "median login, unknown email {:.2?}, wrong password {:.2?}: ratio {:.3} (allowed {:.2})",
            self.unknown_email,
            self.wrong_password,
            self.ratio(),
            1.0 + TOLERANCE
        )
    }
}

/// One failed login, timed; asserts the answer is the usual 401.
async fn failed_login(t: &TestApp, email: &str, password: &str) -> Duration {
    let started = Instant::now();
    let reply = t.login(email, password).await;
    let elapsed = started.elapsed();
    reply.assert_error(401, "INVALID_CREDENTIALS");
    elapsed
}

/// One full measurement.
async fn measure(t: &TestApp) -> Medians {
    let known = |i: usize| format!("known-{i}@acme.com");
    let unknown = |i: usize| format!("nobody-{i}@acme.com");
    for i in 0..WARM_UP + TRIES {
        t.register(&known(i)).await;
    }
    for i in 0..WARM_UP {
        failed_login(t, &unknown(i), PASSWORD).await;
        failed_login(t, &known(i), "Wrong-pass-123").await;
    }
    let mut unknown_email = Vec::with_capacity(TRIES);
    let mut wrong_password = Vec::with_capacity(TRIES);
    for i in WARM_UP..WARM_UP + TRIES {
        if i.is_multiple_of(2) {
            unknown_email.push(failed_login(t, &unknown(i), PASSWORD).await);
            wrong_password.push(failed_login(t, &known(i), "Wrong-pass-123").await);
        } else {
            wrong_password.push(failed_login(t, &known(i), "Wrong-pass-123").await);
            unknown_email.push(failed_login(t, &unknown(i), PASSWORD).await);
        }
    }
    Medians {
        unknown_email: median(unknown_email),
        wrong_password: median(wrong_password),
    }
}

/// One measurement at a time: the two stores' tests would otherwise run at
/// once and each measure the other's load.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn unknown_email_and_wrong_password_take_the_same_time(backend: Backend) {
    let _alone = MEASURING.lock().await;
    let t = TestApp::new(backend).await;
    let medians = measure(&t).await;
    println!("{backend:?}: {}", medians.describe());
    assert!(
        medians.ratio() <= 1.0 + TOLERANCE,
        "login timing on {backend:?} tells whether an account exists: {}",
        medians.describe()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded() {
    unknown_email_and_wrong_password_take_the_same_time(Backend::Embedded).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb() {
    unknown_email_and_wrong_password_take_the_same_time(Backend::Dynamo).await
}
