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
    Jwks => |app, _| std::future::ready(get_jwks(app));
    OpenIdConfiguration => |app, _| std::future::ready(get_openid_configuration(app));
}
