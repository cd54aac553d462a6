//! Bare access-token signing or verification throughput on every core, with
//! the service's own code and a key of the configured algorithm
//! (`JWT_ALGORITHM`, default RS256): the floor under refresh (one signature
//! per request) and under every authenticated request (one verification).
//!
//! usage: jwt-floor sign|verify [SECONDS] [THREADS]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use accounts::auth::access::AccessTokens;
use accounts::auth::key_ring::{KeyRing, KeySource, KeyUse};
use accounts::auth::keys::{KeySet, SigningAlgorithm};
use accounts::config::{Issuer, TokenConfig};
use accounts::model::{ContactDetails, User, UserStatus};
use accounts::role::Role;

fn user() -> User {
    User {
        id: "0b0a7f6e54f34a439a553c1b2d6c9a10".into(),
        email: "bench@acme.com".into(),
        name: "Bench".into(),
        last_name: "Mark".into(),
        org_id: "5f1c8a8e8c434ad5a2c50f8f3c1c7e21".into(),
        org_role: Role::Owner,
        password_hash: String::new(),
        status: UserStatus::Active,
        validated: false,
        mfa_required: false,
        is_business: true,
        contact: ContactDetails::default(),
        created_at: 0,
        updated_at: 0,
        version: 1,
        session_epoch: 0,
        deleted_at: None,
        auth_method: Default::default(),
        mfa_enroll: false,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "sign".into());
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let threads: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let algorithm = std::env::var("JWT_ALGORITHM")
        .ok()
        .and_then(|name| SigningAlgorithm::parse(&name))
        .unwrap_or_default();
    let now = 1_800_000_000;
    let mut set = KeySet::default();
    set.rotate(algorithm, now).unwrap();
    let config = TokenConfig {
        issuer: Issuer::Fixed("https://accounts.example.com".into()),
        audience: "flashback".into(),
        algorithm,
        keys: KeySource::Fixed(KeySet::default()),
        key_refresh_seconds: 300,
        access_ttl_seconds: 3600,
        refresh_ttl_seconds: 2_592_000,
        session_max_seconds: 7_776_000,
        reuse_grace_seconds: 10,
    };
    let keys = KeyRing::fixed(set, algorithm, KeyUse::BOTH).unwrap();
    let tokens = Arc::new(AccessTokens::new(&config, keys));
    let user = Arc::new(user());
    let token = Arc::new(
        tokens
            .issue_with(&user, "session", &["pwd"], now, now)
            .unwrap()
            .token,
    );
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (tokens, user, token, done) = (
                Arc::clone(&tokens),
                Arc::clone(&user),
                Arc::clone(&token),
                Arc::clone(&done),
            );
            let sign = mode == "sign";
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    if sign {
                        tokens
                            .issue_with(&user, "session", &["pwd"], now, now)
                            .unwrap();
                    } else {
                        runtime.block_on(tokens.verify(&token, now + 1)).unwrap();
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let total = done.load(Ordering::Relaxed);
    println!(
        "{{\"mode\": \"{mode}\", \"algorithm\": \"{}\", \"threads\": {threads}, \"seconds\": {seconds}, \"operations\": {total}, \"per_second\": {:.1}}}",
        algorithm.name(),
        total as f64 / seconds as f64
    );
}
