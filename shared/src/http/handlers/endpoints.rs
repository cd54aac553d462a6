//! One type per route, naming its handler at compile time: a Lambda
//! function that serves `endpoints::Profile` links the profile handler and
//! what it calls, not the other routes' handlers (serving a [`Route`] value
//! matches on it at run time, so every handler is linked).
//!
//! A new route: its handler in `handlers.rs`, its arm in `handlers::handle`
//! (the local server and the tests route by value), and one line below.

use std::future::Future;

use lambda_http::{Body, Request, Response};

use super::*;
use crate::http::Endpoint;

macro_rules! endpoints {
    ($($name:ident => $handler:expr;)*) => {$(
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl Endpoint for $name {
            fn route(self) -> Route {
                Route::$name
            }

            fn handle<'a>(
                self,
                app: &'a App,
                req: &'a Request,
            ) -> impl Future<Output = Result<Response<Body>>> + Send + 'a {
                $handler(app, req)
            }
        }
    )*};
}

endpoints! {
    Register => post_register;
    Login => post_login;
    Refresh => post_refresh;
    Profile => get_profile;
    Quota => get_quota;
    ListMembers => get_organization_users;
    CreateMember => post_organization_users;
    GetUser => get_user;
    UpdateUser => put_user;
    UpdateRole => put_user_role;
    // Called inside the future, not when it is made: `serve` sets the
    // request's issuer around the future (REQUEST_ISSUER), not before.
    Jwks => |app, _| async move { get_jwks(app) };
    OpenIdConfiguration => |app, _| async move { get_openid_configuration(app) };
    Logout => lifecycle::post_logout;
    // Also GET /token (Route::ListTokens): one handler, one function.
    ListSessions => lifecycle::get_sessions;
    // Also DELETE /token/{tokenId} (Route::DeleteToken).
    RevokeSession => lifecycle::post_session_revoke;
    RevokeAllSessions => lifecycle::post_sessions_revoke_all;
    Deactivate => lifecycle::post_deactivate;
    Health => |app, _| lifecycle::get_health(app);
    RequestPasswordReset => mail::post_request_reset;
    ResetPassword => mail::post_reset;
    PreVerifyEmail => mail::post_pre_verify;
    VerifyEmail => mail::post_verify;
    ResendVerification => mail::post_resend;
}
