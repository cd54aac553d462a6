//! Lambda function `post-mfa-organization-enforce`: POST /mfa/organization/enforce.

use accounts::http::{endpoints, run_function};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Its own handler only, fixed at compile time (accounts::http::Endpoint).
    run_function(endpoints::MfaEnforce).await
}
