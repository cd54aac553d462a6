//! Lambda function `default-route`: API Gateway's `$default` route, every
//! request that no other route takes (404 NOT_FOUND, or 405
//! METHOD_NOT_ALLOWED where the path has a route with another method).
//! It reads no configuration and makes no AWS call: no store, no keys.

use accounts::http::serve_unmatched;
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    accounts::telemetry::init();
    run(service_fn(serve_unmatched)).await
}
