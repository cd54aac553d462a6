//! Lambda function `get-mfa-status`: GET /mfa/status.

use accounts::http::{endpoints, run_function};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Its own handler only, fixed at compile time (accounts::http::Endpoint).
    run_function(endpoints::MfaStatus).await
}
