//! Lambda function `get-sessions`: GET /sessions and GET /token (Flashback's older path).

use accounts::http::{endpoints, run_function};

// Route::ListTokens (GET /token) is the same operation on Flashback's older
// path: API Gateway sends both here, and the handler serves both.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Its own handler only, fixed at compile time (accounts::http::Endpoint).
    run_function(endpoints::ListSessions).await
}
