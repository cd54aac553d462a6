//! The HTTP edge, shared by the Lambda functions and the local server:
//! parse and validate, call the service, map the result to the envelope.

mod handlers;
mod lifecycle;
mod mail;
pub mod request;
pub mod response;
mod unmatched;

use std::future::Future;
use std::time::Instant;

use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

use crate::App;
use crate::auth::access::REQUEST_ISSUER;
use crate::auth::key_ring::KeyUse;
use crate::config::Issuer;
use crate::error::Error;

pub use handlers::endpoints;
pub use unmatched::{serve_unmatched, unmatched_error};

/// Every operation the API serves; one Lambda function each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Register,
    Login,
    Refresh,
    Profile,
    Quota,
    ListMembers,
    CreateMember,
    GetUser,
    UpdateUser,
    UpdateRole,
    RequestPasswordReset,
    ResetPassword,
    PreVerifyEmail,
    VerifyEmail,
    ResendVerification,
    Jwks,
    OpenIdConfiguration,
    Logout,
    ListSessions,
    /// `GET /token`: Flashback's older path of `ListSessions`, same function.
    ListTokens,
    RevokeSession,
    /// `DELETE /token/{tokenId}`: Flashback's older path of `RevokeSession`.
    DeleteToken,
    RevokeAllSessions,
    Deactivate,
    Health,
}

impl Route {
    /// Literal paths before templated ones, as API Gateway matches them.
    pub const ALL: [Route; 25] = [
        Route::Register,
        Route::Login,
        Route::Refresh,
        Route::Logout,
        Route::Deactivate,
        Route::Profile,
        Route::Quota,
        Route::RequestPasswordReset,
        Route::ResetPassword,
        Route::PreVerifyEmail,
        Route::VerifyEmail,
        Route::ResendVerification,
        Route::ListMembers,
        Route::CreateMember,
        Route::GetUser,
        Route::UpdateUser,
        Route::UpdateRole,
        Route::Jwks,
        Route::OpenIdConfiguration,
        Route::ListSessions,
        Route::ListTokens,
        Route::RevokeAllSessions,
        Route::RevokeSession,
        Route::DeleteToken,
        Route::Health,
    ];

    pub fn method(self) -> Method {
        match self {
            Route::Register
            | Route::Login
            | Route::Refresh
            | Route::CreateMember
            | Route::Logout
            | Route::RevokeSession
            | Route::RevokeAllSessions
            | Route::Deactivate
            | Route::RequestPasswordReset
            | Route::ResetPassword
            | Route::PreVerifyEmail
            | Route::VerifyEmail
            | Route::ResendVerification => Method::POST,
            Route::Profile
            | Route::Quota
            | Route::ListMembers
            | Route::GetUser
            | Route::Jwks
            | Route::OpenIdConfiguration
            | Route::ListSessions
            | Route::ListTokens
            | Route::Health => Method::GET,
            Route::UpdateUser | Route::UpdateRole => Method::PUT,
            Route::DeleteToken => Method::DELETE,
        }
    }

    /// The path as API Gateway declares it.
    pub fn path(self) -> &'static str {
        match self {
            Route::Register => "/user/register",
            Route::Login => "/user/login",
            Route::Refresh => "/user/refresh",
            Route::Profile => "/user/profile",
            Route::Quota => "/user/quota",
            Route::RequestPasswordReset => "/user/request-reset-password",
            Route::ResetPassword => "/user/reset-password",
            Route::PreVerifyEmail => "/user/pre-verify-email",
            Route::VerifyEmail => "/user/verify-email",
            Route::ResendVerification => "/user/resend-verification/{verificationTokenId}",
            Route::ListMembers | Route::CreateMember => "/organization/users",
            Route::GetUser | Route::UpdateUser => "/user/{userId}",
            Route::UpdateRole => "/user/{userId}/role",
            Route::Jwks => "/.well-known/jwks.json",
            Route::OpenIdConfiguration => "/.well-known/openid-configuration",
            Route::Logout => "/user/logout",
            Route::ListSessions => "/sessions",
            Route::ListTokens => "/token",
            Route::RevokeSession => "/sessions/{id}/revoke",
            Route::DeleteToken => "/token/{tokenId}",
            Route::RevokeAllSessions => "/sessions/revoke-all",
            Route::Deactivate => "/user/deactivate",
            Route::Health => "/health",
        }
    }

    /// The Lambda function (and crate) that serves it.
    pub fn function_name(self) -> &'static str {
        match self {
            Route::Register => "post-user-register",
            Route::Login => "post-user-login",
            Route::Refresh => "post-user-refresh",
            Route::Profile => "get-user-profile",
            Route::Quota => "get-user-quota",
            Route::RequestPasswordReset => "post-user-request-reset-password",
            Route::ResetPassword => "post-user-reset-password",
            Route::PreVerifyEmail => "post-user-pre-verify-email",
            Route::VerifyEmail => "post-user-verify-email",
            Route::ResendVerification => "post-user-resend-verification",
            Route::ListMembers => "get-organization-users",
            Route::CreateMember => "post-organization-users",
            Route::GetUser => "get-user",
            Route::UpdateUser => "put-user",
            Route::UpdateRole => "put-user-role",
            Route::Jwks => "get-jwks",
            Route::OpenIdConfiguration => "get-openid-configuration",
            Route::Logout => "post-user-logout",
            Route::ListSessions | Route::ListTokens => "get-sessions",
            Route::RevokeSession | Route::DeleteToken => "post-sessions-revoke",
            Route::RevokeAllSessions => "post-sessions-revoke-all",
            Route::Deactivate => "post-user-deactivate",
            Route::Health => "get-health",
        }
    }

    /// The keys its function must hold: only the functions that sign in
    /// may read the private key set.
    pub fn key_use(self) -> KeyUse {
        match self {
            Route::Register | Route::Login | Route::Refresh | Route::VerifyEmail => KeyUse::SIGN,
            Route::Profile
            | Route::Quota
            | Route::ListMembers
            | Route::CreateMember
            | Route::GetUser
            | Route::UpdateUser
            | Route::UpdateRole
            | Route::Jwks
            | Route::ListSessions
            | Route::ListTokens
            | Route::RevokeSession
            | Route::DeleteToken
            | Route::RevokeAllSessions
            | Route::Deactivate => KeyUse::VERIFY,
            // Logout proves possession with the refresh token alone.
            Route::OpenIdConfiguration
            | Route::Logout
            | Route::Health
            | Route::RequestPasswordReset
            | Route::ResetPassword
            | Route::PreVerifyEmail
            | Route::ResendVerification => KeyUse::NONE,
        }
    }
}

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

/// Path parameters by name, as API Gateway passes them.
pub type PathParams = Vec<(&'static str, String)>;

/// Matches a path against a route template; `{name}` segments capture.
fn match_template(template: &'static str, path: &str) -> Option<PathParams> {
    let mut captures = Vec::new();
    let mut t = template.trim_end_matches('/').split('/');
    let mut p = path.trim_end_matches('/').split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(captures),
            (Some(ts), Some(ps)) if ts.starts_with('{') && ts.ends_with('}') => {
                if ps.is_empty() {
                    return None;
                }
                captures.push((&ts[1..ts.len() - 1], ps.to_string()));
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

/// What API Gateway does: find the route of a method and path (literal
/// routes before templated ones), with its path parameters.
pub fn route_request(method: &Method, path: &str) -> Result<(Route, PathParams), Error> {
    let mut path_matched = false;
    for route in Route::ALL {
        if let Some(params) = match_template(route.path(), path) {
            path_matched = true;
            if route.method() == method {
                return Ok((route, params));
            }
        }
    }
    Err(if path_matched {
        Error::MethodNotAllowed
    } else {
        Error::NotFound
    })
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
        handlers::handle(app, req, self)
    }
}

/// A Lambda function's whole life: the app built once per cold start (the
/// keys its endpoint may hold read once, the DynamoDB client made), then
/// every invocation served with it borrowed. Generic over the endpoint, so
/// a function that passes its `endpoints::X` links only that handler.
pub async fn run_function(endpoint: impl Endpoint + 'static) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::from_env_or_exit(endpoint.route().key_use()).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_resolve_like_api_gateway() {
        let (route, _) = route_request(&Method::POST, "/user/login").unwrap();
        assert_eq!(route, Route::Login);
        assert!(matches!(
            route_request(&Method::DELETE, "/user/login"),
            Err(Error::MethodNotAllowed)
        ));
        // As in API Gateway, a templated route takes what the literal ones leave.
        let (route, params) = route_request(&Method::GET, "/user/login").unwrap();
        assert_eq!((route, params[0].1.as_str()), (Route::GetUser, "login"));
        let (route, _) = route_request(&Method::GET, "/user/profile").unwrap();
        assert_eq!(route, Route::Profile);
        let (route, params) = route_request(&Method::PUT, "/user/abc/role").unwrap();
        assert_eq!((route, params[0].1.as_str()), (Route::UpdateRole, "abc"));
        assert!(matches!(
            route_request(&Method::GET, "/nope"),
            Err(Error::NotFound)
        ));
    }
}
