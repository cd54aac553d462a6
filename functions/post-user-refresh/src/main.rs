//! Lambda function `post-user-refresh`: POST /user/refresh, and Flashback's
//! social refresh paths POST /auth/{google,github,microsoft}/refresh.

use accounts::http::{endpoints, run_function};

// Route::GoogleRefresh, Route::GithubRefresh and Route::MicrosoftRefresh are
// the same operation on the paths Flashback's client refreshes social
// sessions on: API Gateway sends them here, and the handler serves them all.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // Its own handler only, fixed at compile time (accounts::http::Endpoint).
    run_function(endpoints::Refresh).await
}
