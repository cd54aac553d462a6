//! Lambda function `post-user-resend-verification`: POST /user/resend-verification/{verificationTokenId}.

use accounts::http::{Route, serve};
use lambda_http::{Error, run, service_fn};

const ROUTE: Route = Route::ResendVerification;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    accounts::telemetry::init();
    // Built once per cold start (the keys this function may hold read
    // once); every invocation borrows it.
    let app = accounts::App::from_env_or_exit(ROUTE.key_use()).await;
    let app = &app;
    run(service_fn(move |req| serve(app, req, ROUTE))).await
}
