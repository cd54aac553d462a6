//! Lambda function `get-organization-users`: GET /organization/users.

use accounts::http::{Route, serve};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    accounts::telemetry::init();
    // Built once per cold start; every invocation borrows it.
    let app = accounts::App::from_env_or_exit().await;
    let app = &app;
    run(service_fn(move |req| serve(app, req, Route::ListMembers))).await
}
