//! Lambda function `post-user-verify-email`: POST /user/verify-email.

use accounts::http::{Endpoint, endpoints, serve};
use lambda_http::{Error, run, service_fn};

// Its own handler only, fixed at compile time (accounts::http::Endpoint).
const ENDPOINT: endpoints::VerifyEmail = endpoints::VerifyEmail;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    accounts::telemetry::init();
    // Built once per cold start (the keys this function may hold read
    // once); every invocation borrows it.
    let app = accounts::App::from_env_or_exit(ENDPOINT.route().key_use()).await;
    let app = &app;
    run(service_fn(move |req| serve(app, req, ENDPOINT))).await
}
