//! Every route the API serves, named once: its method and path (as API
//! Gateway declares them), its Lambda function, the keys that function may
//! hold, and its handler. The table generates [`Route`], the per-route
//! [`endpoints`] types the functions serve (so a binary links its own
//! handler only) and the run-time dispatch the local server and the tests
//! use. Order matters: literal paths before templated ones, as API Gateway
//! matches them.

use std::future::Future;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::error::Error;

use super::Endpoint;
use super::handlers::{
    account, health, keys, mail, members, mfa, organization, quota, sessions, settings, social,
    users,
};
use crate::App;
use crate::auth::key_ring::KeyUse;
use crate::config::ProviderKind;
use crate::error::Result;

macro_rules! routes {
    ($($(#[$doc:meta])* $name:ident: $method:ident $path:literal
        => $function:literal, $keys:ident, $handler:path;)*) => {
        /// Every operation the API serves; one Lambda function each (an
        /// older Flashback path is a second route of the same function).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Route {
            $($(#[$doc])* $name,)*
        }

        impl Route {
            /// In matching order.
            pub const ALL: [Route; [$(stringify!($name)),*].len()] = [$(Route::$name),*];

            pub fn method(self) -> Method {
                match self {
                    $(Route::$name => Method::$method,)*
                }
            }

            /// The path as API Gateway declares it.
            pub fn path(self) -> &'static str {
                match self {
                    $(Route::$name => $path,)*
                }
            }

            /// The Lambda function (and crate) that serves it.
            pub fn function_name(self) -> &'static str {
                match self {
                    $(Route::$name => $function,)*
                }
            }

            /// The keys its function must hold: only the functions that
            /// sign in may read the private key set.
            pub fn key_use(self) -> KeyUse {
                match self {
                    $(Route::$name => KeyUse::$keys,)*
                }
            }
        }

        /// One type per route, naming its handler at compile time: a Lambda
        /// function that serves `endpoints::Profile` links the profile
        /// handler and what it calls, not the other routes' handlers.
        pub mod endpoints {
            use super::*;

            $(
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
            )*
        }

        /// Routing by value (the local server, the tests): every handler
        /// linked. Each handler's future is boxed: inline, a debug build's
        /// poll frame of this match holds all of them (381 KiB at 40 routes,
        /// on top of the caller's: a test thread's 2 MiB stack overflowed).
        pub(super) async fn dispatch(app: &App, req: &Request, route: Route) -> Result<Response<Body>> {
            match route {
                $(Route::$name => Box::pin($handler(app, req)).await,)*
            }
        }
    };
}

routes! {
    Register: POST "/user/register" => "post-user-register", SIGN, account::post_register;
    Login: POST "/user/login" => "post-user-login", SIGN, account::post_login;
    Refresh: POST "/user/refresh" => "post-user-refresh", SIGN, account::post_refresh;
    // Logout proves possession with the refresh token alone.
    Logout: POST "/user/logout" => "post-user-logout", NONE, sessions::post_logout;
    Deactivate: POST "/user/deactivate" => "post-user-deactivate", VERIFY, users::post_deactivate;
    Profile: GET "/user/profile" => "get-user-profile", VERIFY, users::get_profile;
    Quota: GET "/user/quota" => "get-user-quota", VERIFY, quota::get_quota;
    RequestPasswordReset: POST "/user/request-reset-password"
        => "post-user-request-reset-password", NONE, mail::post_request_reset;
    ResetPassword: POST "/user/reset-password" => "post-user-reset-password", NONE, mail::post_reset;
    PreVerifyEmail: POST "/user/pre-verify-email"
        => "post-user-pre-verify-email", NONE, mail::post_pre_verify;
    VerifyEmail: POST "/user/verify-email" => "post-user-verify-email", SIGN, mail::post_verify;
    ResendVerification: POST "/user/resend-verification/{verificationTokenId}"
        => "post-user-resend-verification", NONE, mail::post_resend;
    ListMembers: GET "/organization/users" => "get-organization-users", VERIFY, members::get_members;
    CreateMember: POST "/organization/users"
        => "post-organization-users", VERIFY, members::post_member;
    GetMember: GET "/organization/users/{userId}"
        => "get-organization-user", VERIFY, organization::get_member;
    UpdateMember: PUT "/organization/users/{userId}"
        => "put-organization-user", VERIFY, organization::put_member;
    RemoveMember: DELETE "/organization/users/{userId}"
        => "delete-organization-user", VERIFY, organization::delete_member;
    ResendInvitation: POST "/organization/users/{userId}/resend-invitation"
        => "post-organization-user-resend-invitation", VERIFY, organization::post_resend_invitation;
    ActivateMember: POST "/organization/users/{userId}/activate"
        => "post-organization-user-activate", VERIFY, organization::post_activate;
    // After `/organization/users`, as `/user/{userId}` after `/user/profile`.
    GetOrganization: GET "/organization/{orgId}"
        => "get-organization", VERIFY, organization::get_organization;
    UpdateOrganization: PUT "/organization/{orgId}"
        => "put-organization", VERIFY, organization::put_organization;
    GetUserSettings: GET "/settings/user" => "get-settings-user", VERIFY, settings::get_user_settings;
    ReplaceUserSettings: POST "/settings/user"
        => "post-settings-user", VERIFY, settings::post_user_settings;
    MergeUserSettings: PUT "/settings/user" => "put-settings-user", VERIFY, settings::put_user_settings;
    DeleteUserSettings: DELETE "/settings/user"
        => "delete-settings-user", VERIFY, settings::delete_user_settings;
    GetOrgSettings: GET "/settings/organization"
        => "get-settings-organization", VERIFY, settings::get_org_settings;
    ReplaceOrgSettings: POST "/settings/organization"
        => "post-settings-organization", VERIFY, settings::post_org_settings;
    MergeOrgSettings: PUT "/settings/organization"
        => "put-settings-organization", VERIFY, settings::put_org_settings;
    DeleteOrgSettings: DELETE "/settings/organization"
        => "delete-settings-organization", VERIFY, settings::delete_org_settings;
    GetUser: GET "/user/{userId}" => "get-user", VERIFY, users::get_user;
    UpdateUser: PUT "/user/{userId}" => "put-user", VERIFY, users::put_user;
    UpdateRole: PUT "/user/{userId}/role" => "put-user-role", VERIFY, users::put_user_role;
    Jwks: GET "/.well-known/jwks.json" => "get-jwks", VERIFY, keys::get_jwks;
    OpenIdConfiguration: GET "/.well-known/openid-configuration"
        => "get-openid-configuration", NONE, keys::get_openid_configuration;
    ListSessions: GET "/sessions" => "get-sessions", VERIFY, sessions::get_sessions;
    /// `GET /token`: Flashback's older path of `ListSessions`, same function.
    ListTokens: GET "/token" => "get-sessions", VERIFY, sessions::get_sessions;
    RevokeAllSessions: POST "/sessions/revoke-all"
        => "post-sessions-revoke-all", VERIFY, sessions::post_revoke_all;
    RevokeSession: POST "/sessions/{id}/revoke"
        => "post-sessions-revoke", VERIFY, sessions::post_revoke;
    /// `DELETE /token/{tokenId}`: Flashback's older path of `RevokeSession`.
    DeleteToken: DELETE "/token/{tokenId}" => "post-sessions-revoke", VERIFY, sessions::post_revoke;
    Health: GET "/health" => "get-health", NONE, health::get_health;
    GoogleSignIn: POST "/auth/google" => "post-auth-google", SIGN, social::post_google;
    MicrosoftSignIn: POST "/auth/microsoft" => "post-auth-microsoft", SIGN, social::post_microsoft;
    GoogleLink: POST "/auth/google/link" => "post-auth-google-link", VERIFY, social::post_google_link;
    MicrosoftLink: POST "/auth/microsoft/link"
        => "post-auth-microsoft-link", VERIFY, social::post_microsoft_link;
    /// Flashback's client refreshes social sessions here: `Refresh`'s function.
    GoogleRefresh: POST "/auth/google/refresh" => "post-user-refresh", SIGN, account::post_refresh;
    GithubRefresh: POST "/auth/github/refresh" => "post-user-refresh", SIGN, account::post_refresh;
    MicrosoftRefresh: POST "/auth/microsoft/refresh"
        => "post-user-refresh", SIGN, account::post_refresh;
    // The code flows: their functions alone hold a provider's client secret.
    GithubSignIn: POST "/auth/github" => "post-auth-github", SIGN, social::post_github;
    GithubLink: POST "/auth/github/link" => "post-auth-github-link", VERIFY, social::post_github_link;
    GoogleExchange: POST "/auth/google/exchange"
        => "post-auth-google-exchange", SIGN, social::post_google_exchange;
    MicrosoftExchange: POST "/auth/microsoft/exchange"
        => "post-auth-microsoft-exchange", SIGN, social::post_microsoft_exchange;

    // Multi-factor authentication (#23).
    MfaStatus: GET "/mfa/status" => "get-mfa-status", VERIFY, mfa::get_status;
    MfaMethods: GET "/mfa/methods" => "get-mfa-methods", VERIFY, mfa::get_methods;
    MfaSetup: POST "/mfa/setup" => "post-mfa-setup", VERIFY, mfa::post_setup;
    /// Signs too: with an enrollment's token it starts the session.
    MfaVerifySetup: POST "/mfa/verify-setup"
        => "post-mfa-verify-setup", BOTH, mfa::post_verify_setup;
    MfaVerifyLogin: POST "/mfa/verify-login"
        => "post-mfa-verify-login", BOTH, mfa::post_verify_login;
    MfaDisable: POST "/mfa/disable" => "post-mfa-disable", VERIFY, mfa::post_disable;
    MfaEnable: POST "/mfa/enable" => "post-mfa-enable", VERIFY, mfa::post_enable;
    MfaPrimary: POST "/mfa/primary" => "post-mfa-primary", VERIFY, mfa::post_primary;
    MfaBackupCodes: POST "/mfa/backup-codes"
        => "post-mfa-backup-codes", VERIFY, mfa::post_backup_codes;
    MfaReset: POST "/mfa/reset" => "post-mfa-reset", VERIFY, mfa::post_reset;
    MfaEnforce: POST "/mfa/organization/enforce"
        => "post-mfa-organization-enforce", VERIFY, mfa::post_enforce;
    MfaMagicLinkSend: POST "/mfa/magic-link/send"
        => "post-mfa-magic-link-send", VERIFY, mfa::post_magic_link_send;
    /// Signs too: with an enrollment's token it starts the session.
    MfaMagicLinkActivate: POST "/mfa/magic-link/activate"
        => "post-mfa-magic-link-activate", BOTH, mfa::post_magic_link_activate;
}

impl Route {
    /// The provider whose client secret this route's function reads at
    /// cold start (`<PROVIDER>_CLIENT_SECRET_NAME`): the code flows only.
    pub fn client_secret(self) -> Option<ProviderKind> {
        match self {
            Route::GithubSignIn | Route::GithubLink => Some(ProviderKind::Github),
            Route::GoogleExchange => Some(ProviderKind::Google),
            Route::MicrosoftExchange => Some(ProviderKind::Microsoft),
            _ => None,
        }
    }

    /// Whether its requests check a password against a stored hash (a
    /// sign-in, a password change's current password): its function makes
    /// argon2's working memory ready at start (`PasswordHasher::prepare_memory`).
    pub fn verifies_passwords(self) -> bool {
        matches!(self, Route::Login | Route::UpdateUser)
    }

    /// Whether its function holds the MFA data key (TOTP secrets' key): only
    /// the functions that set or check codes read it (template.yaml grants
    /// the secret to exactly these; tests/deployment.rs holds it).
    pub fn reads_mfa_key(self) -> bool {
        matches!(
            self,
            Route::MfaSetup
                | Route::MfaVerifySetup
                | Route::MfaVerifyLogin
                | Route::MfaDisable
                | Route::MfaEnable
                | Route::MfaPrimary
                | Route::MfaBackupCodes
        )
    }

    /// Whether a pending sign-in's token (`mfa_pending`) is accepted:
    /// everywhere else it is 403 `MFA_REQUIRED` (`AuthUser`). `Logout`
    /// reads no bearer token, so it accepts one too.
    pub fn accepts_pending_token(self) -> bool {
        matches!(
            self,
            Route::MfaStatus
                | Route::MfaMethods
                | Route::MfaVerifyLogin
                | Route::MfaMagicLinkSend
                | Route::Logout
        )
    }

    /// Whether an enrollment's token (`mfa_enroll`) is accepted: the
    /// routes that set a second factor up, and `Logout` (no bearer token).
    pub fn accepts_enroll_token(self) -> bool {
        matches!(
            self,
            Route::MfaStatus
                | Route::MfaMethods
                | Route::MfaSetup
                | Route::MfaVerifySetup
                | Route::MfaMagicLinkActivate
                | Route::Logout
        )
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
        // The literal `/organization/users` before `/organization/{orgId}`.
        let (route, _) = route_request(&Method::GET, "/organization/users").unwrap();
        assert_eq!(route, Route::ListMembers);
        let (route, params) = route_request(&Method::GET, "/organization/o1").unwrap();
        assert_eq!(
            (route, params[0].1.as_str()),
            (Route::GetOrganization, "o1")
        );
        let (route, _) = route_request(&Method::POST, "/organization/users/u1/activate").unwrap();
        assert_eq!(route, Route::ActivateMember);
        let (route, _) = route_request(&Method::DELETE, "/settings/organization").unwrap();
        assert_eq!(route, Route::DeleteOrgSettings);
    }
}
