//! Lambda function `get-sessions`: GET /sessions and GET /token (Flashback's older path).

use accounts::http::{Endpoint, endpoints, serve};
use lambda_http::{Error, run, service_fn};

// Route::ListTokens (GET /token) is the same operation on Flashback's older
// path: API Gateway sends both here, and the handler serves both.
// Its own handler only, fixed at compile time (accounts::http::Endpoint).
const ENDPOINT: endpoints::ListSessions = endpoints::ListSessions;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    accounts::telemetry::init();
    // Built once per cold start (the keys this function may hold read
    // once); every invocation borrows it.
    let app = accounts::App::from_env_or_exit(ENDPOINT.route().key_use()).await;
    let app = &app;
    run(service_fn(move |req| serve(app, req, ENDPOINT))).await
}
