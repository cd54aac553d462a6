//! Lambda function `post-mfa-magic-link-send`: POST /mfa/magic-link/send.

use accounts::http::{endpoints, run_function};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Its own handler only, fixed at compile time (accounts::http::Endpoint).
    run_function(endpoints::MfaMagicLinkSend).await
}
