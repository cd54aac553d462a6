//! Lambda function `post-mfa-magic-link-activate`: POST /mfa/magic-link/activate.

use accounts::http::{endpoints, run_function};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Its own handler only, fixed at compile time (accounts::http::Endpoint).
    run_function(endpoints::MfaMagicLinkActivate).await
}
