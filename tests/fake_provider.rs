//! The local identity provider of the tests (tests/support/oidc.rs: OpenID
//! discovery, keys and token endpoints for Google and Microsoft; GitHub's
//! code exchange and API) as a process, for the smoke run
//! (scripts/smoke-lambda.sh) and for trying social sign-in by hand against
//! accounts-local. Prints the settings that point the service at it, one
//! `NAME=value` a line, then serves until killed.
//!
//! usage: fake-provider [ADDR]   (default 127.0.0.1:0, any free port)

use accounts_tests::oidc::FakeProvider;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let provider = FakeProvider::start_on(&addr).await;
    for (name, value) in provider.settings() {
        // The tests' short deadline is for tests; the service's default stays.
        if name != "PROVIDER_TIMEOUT_MS" {
            println!("{name}={value}");
        }
    }
    println!("FAKE_PROVIDER_URL={}", provider.base);
    std::future::pending::<()>().await;
}
