//! The smallest `lambda_http` function, built with the functions' profile:
//! the floor their cold start is compared with.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

async fn hello(_req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::Text("hello".into())))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(hello)).await
}
