//! Bare argon2id verification throughput at the service's parameters on
//! every core: the floor under login throughput.
//!
//! usage: argon2-floor [SECONDS] [THREADS]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use accounts::auth::password::PasswordHasher;
use accounts::config::PasswordHashConfig;

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let threads: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .max_blocking_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    let hasher = PasswordHasher::new(PasswordHashConfig::OWASP).unwrap();
    let hash = runtime.block_on(hasher.hash("Secure-pass-123")).unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    runtime.block_on(async {
        let tasks: Vec<_> = (0..threads)
            .map(|_| {
                let (hasher, hash, done) = (hasher.clone(), hash.clone(), Arc::clone(&done));
                tokio::spawn(async move {
                    while Instant::now() < deadline {
                        hasher.verify("Secure-pass-123", Some(&hash)).await.unwrap();
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let total = done.load(Ordering::Relaxed);
    println!(
        "{{\"threads\": {threads}, \"seconds\": {seconds}, \"verifications\": {total}, \"per_second\": {:.1}}}",
        total as f64 / seconds as f64
    );
}
