//! The HTTP edge, shared by the Lambda functions and the local server:
//! parse and validate, call the service, map the result to the envelope.

mod auth_user;
mod handlers;
pub mod request;
pub mod response;
mod routes;
mod shapes;
mod unmatched;

use std::future::Future;
use std::time::Instant;

use lambda_http::http::HeaderValue;
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

use crate::App;
use crate::auth::access::REQUEST_ISSUER;
use crate::config::Issuer;
use crate::error::Error;

pub use auth_user::AuthUser;
pub use routes::{PathParams, Route, endpoints, route_request};
pub use unmatched::{serve_unmatched, unmatched_error};

/// Lambda's request id, or a fresh one where there is no Lambda (the local
/// server, tests).
fn request_id(req: &Request) -> String {
    match req.lambda_context_ref() {
        Some(ctx) => ctx.request_id.clone(),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// The API's own URL, as API Gateway says the request came to it.
fn request_issuer(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        lambda_http::request::RequestContext::ApiGatewayV2(ctx) => ctx
            .domain_name
            .as_ref()
            .map(|domain| format!("https://{domain}")),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// What [`serve`] serves: a [`Route`] value (routed at run time, so every
/// handler is linked: the local server, the tests), or one of the
/// [`endpoints`] types (the handler fixed at compile time).
///
/// A Lambda function serves its endpoint type, so that its binary links
/// only its own handler:
/// `run(service_fn(move |req| serve(app, req, endpoints::Profile)))`,
/// keys read for `endpoints::Profile.route().key_use()`.
pub trait Endpoint: Copy + Send + Sync {
    fn route(self) -> Route;

    fn handle<'a>(
        self,
        app: &'a App,
        req: &'a Request,
    ) -> impl Future<Output = crate::error::Result<Response<Body>>> + Send + 'a;
}

impl Endpoint for Route {
    fn route(self) -> Route {
        self
    }

    fn handle<'a>(
        self,
        app: &'a App,
        req: &'a Request,
    ) -> impl Future<Output = crate::error::Result<Response<Body>>> + Send + 'a {
        routes::dispatch(app, req, self)
    }
}

/// A Lambda function's whole life: the app built once per cold start (the
/// keys its endpoint may hold read once, the DynamoDB client made), then
/// every invocation served with it borrowed. Generic over the endpoint, so
/// a function that passes its `endpoints::X` links only that handler.
pub async fn run_function(endpoint: impl Endpoint + 'static) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let route = endpoint.route();
    let app = App::from_env_or_exit(route.key_use(), route.reads_mfa_key()).await;
    if route.verifies_passwords() {
        app.passwords.prepare_memory();
    }
    // A code flow cannot work without its client secret: say so at start,
    // not as a 500 on every sign-in.
    if let Some(kind) = route.client_secret()
        && app.providers.enabled(kind)
        && !app.providers.has_client_secret(kind)
    {
        let names = kind.settings();
        tracing::error!(
            "refusing to start: {} is enabled but neither {} nor {} is set",
            names.client_id,
            names.client_secret_name,
            names.client_secret
        );
        std::process::exit(1);
    }
    let app = &app;
    lambda_http::run(lambda_http::service_fn(move |req| {
        serve(app, req, endpoint)
    }))
    .await
}

/// Serves one request for `endpoint`: the handler, the envelope, and one log
/// line with the request id, status and latency.
pub async fn serve(
    app: &App,
    req: Request,
    endpoint: impl Endpoint,
) -> Result<Response<Body>, std::convert::Infallible> {
    let route = endpoint.route();
    let started = Instant::now();
    let request_id = request_id(&req);
    let method = req.method().clone();
    let span = tracing::info_span!("request", %request_id);
    app.access_tokens.keys().refresh_if_stale().await;
    let handling = endpoint.handle(app, &req).instrument(span);
    let handled = match (&app.config.tokens.issuer, request_issuer(&req)) {
        (Issuer::FromRequest, Some(issuer)) => REQUEST_ISSUER.scope(issuer, handling).await,
        _ => handling.await,
    };
    let (mut response, error_code) = match handled {
        Ok(response) => (response, None),
        Err(error) => {
            if let Error::Internal(detail) = &error {
                tracing::error!(%request_id, %detail, "internal error");
            }
            (response::failure(&error), Some(error.code()))
        }
    };
    tracing::info!(
        %request_id,
        method = %method,
        route = route.path(),
        status = response.status().as_u16(),
        error_code,
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    Ok(response)
}

/// The local server's entry: routes like API Gateway, then [`serve`].
pub async fn serve_any(app: &App, req: Request) -> Response<Body> {
    let routed = route_request(req.method(), req.uri().path());
    match routed {
        Ok((route, params)) => {
            let req = if params.is_empty() {
                req
            } else {
                let map: std::collections::HashMap<String, String> = params
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                req.with_path_parameters(map)
            };
            match serve(app, req, route).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
        // What the `$default` route's function answers on AWS.
        Err(_) => match serve_unmatched(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
    }
}
