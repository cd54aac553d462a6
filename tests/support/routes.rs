//! One call of every route, as a table ([`call_of`]): the session check
//! (tests/session_check.rs) and the store faults (tests/faults.rs) go over
//! `Route::ALL` with it, so that a new route is one line here. The match is
//! exhaustive: a new `Route` does not compile until it has its line.

use accounts::http::Route;
use accounts::role::Role;
use serde_json::{Value, json};

use crate::mail::link_token;
use crate::{Member, PASSWORD, Reply, TestApp, registration};

/// Whose bearer token a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bearer {
    /// The route takes none.
    None,
    /// The owner's.
    Owner,
    /// The leaver's: the calls that end the caller's own sessions or
    /// account, so that the owner's session outlives every call.
    Leaver,
    /// A pending sign-in's (`mfa_pending`) of the owner: `mfa/verify-login`
    /// takes nothing else, and it has no session to check.
    Pending,
}

/// One request of the table.
#[derive(Debug, Clone)]
pub struct RouteCall {
    pub method: &'static str,
    pub path: String,
    pub body: Option<Value>,
    pub bearer: Bearer,
}

/// Who the table's calls act as and on: an organization of an owner (two
/// sessions: `owner_phone` is the one ended by id and by logout), a member
/// with role USER (whose role and profile the owner changes), a leaver
/// (USER, who ends all its sessions and deactivates itself), and `mae`, a
/// registered account with a verification and a reset token in hand.
pub struct Cast {
    pub owner: Member,
    pub owner_phone: Reply,
    pub member: Member,
    pub leaver: Member,
    pub mae_verification_id: String,
    pub mae_verify_token: String,
    pub mae_reset_token: String,
    /// A pending sign-in's token of the owner (MFA is not on for it: what
    /// the store would answer is `MFA_NOT_SET_UP`).
    pub owner_pending: String,
}

/// The address the table registers (`Route::Register`) and the member it
/// creates (`Route::CreateMember`): neither exists before.
pub const NEW_ACCOUNT: &str = "lin@acme.com";
pub const NEW_MEMBER: &str = "hopper@acme.com";

impl Cast {
    pub async fn new(t: &TestApp) -> Cast {
        let owner = t.owner("ada@acme.com").await;
        let owner_phone = t.login("ada@acme.com", PASSWORD).await;
        assert_eq!(owner_phone.status, 200, "{}", owner_phone.body);
        let member = t.member(&owner, "grace@acme.com", Role::User.value()).await;
        let leaver = t.member(&owner, "kai@acme.com", Role::User.value()).await;
        let mailer = t.mailer();
        mailer.deliver().await;
        let mae = t.register("mae@acme.com").await;
        let verify = mailer.deliver().await;
        let reset = t
            .post(
                "/user/request-reset-password",
                json!({"email": "mae@acme.com"}),
            )
            .await;
        assert_eq!(reset.status, 200, "{}", reset.body);
        let reset = mailer.deliver().await;
        let app_url = &t.app.config.mail.app_url;
        let owner_user = t.store.user(&owner.id).await.unwrap().expect("owner");
        let owner_pending = t
            .app
            .access_tokens
            .issue_pending(
                &owner_user,
                accounts::auth::access::MFA_PENDING_TYPE,
                &accounts::auth::refresh::new_session_id(),
                accounts::model::LOGIN_METHOD_PASSWORD,
                t.clock_now(),
            )
            .unwrap()
            .token;
        Cast {
            owner_pending,
            owner,
            owner_phone,
            member,
            leaver,
            mae_verification_id: mae.str("verificationTokenId"),
            mae_verify_token: link_token(&verify[0], app_url, "verify-email"),
            mae_reset_token: link_token(&reset[0], app_url, "reset-password"),
        }
    }

    /// The token `bearer` names.
    pub fn token(&self, bearer: Bearer) -> Option<&str> {
        match bearer {
            Bearer::None => None,
            Bearer::Owner => Some(&self.owner.access_token),
            Bearer::Leaver => Some(&self.leaver.access_token),
            Bearer::Pending => Some(&self.owner_pending),
        }
    }
}

#[rustfmt::skip]
/// One call of `route` that the service would carry out (a valid request
/// that asks for a change where the route makes one).
pub fn call_of(route: Route, c: &Cast) -> RouteCall {
    use Bearer::*;
    let phone_sid = c.owner_phone.str("tokenId");
    let (method, path, body, bearer): (&str, String, Option<Value>, Bearer) = match route {
        Route::Register => ("POST", path(route), Some(registration(NEW_ACCOUNT)), None),
        Route::Login => ("POST", path(route), Some(json!({"email": c.owner.email, "password": PASSWORD})), None),
        Route::Refresh | Route::GoogleRefresh | Route::GithubRefresh | Route::MicrosoftRefresh => ("POST", path(route), Some(json!({"refresh_token": c.owner.refresh_token})), None),
        Route::GoogleSignIn | Route::MicrosoftSignIn => ("POST", path(route), Some(json!({"token": "an-id-token"})), None),
        Route::GoogleLink | Route::MicrosoftLink => ("POST", path(route), Some(json!({"token": "an-id-token"})), Owner),
        Route::GithubSignIn | Route::GoogleExchange | Route::MicrosoftExchange => ("POST", path(route), Some(json!({"code": "a-code"})), None),
        Route::GithubLink => ("POST", path(route), Some(json!({"code": "a-code"})), Owner),
        Route::Logout => ("POST", path(route), Some(json!({"refresh_token": c.owner_phone.str("refreshToken")})), None),
        Route::Profile | Route::Quota | Route::ListMembers => ("GET", path(route), Option::None, Owner),
        Route::CreateMember => ("POST", path(route), Some(json!({
            "email": NEW_MEMBER, "password": PASSWORD, "firstName": "Grace",
            "lastName": "Hopper", "orgRole": Role::User.value()
        })), Owner),
        Route::GetMember => ("GET", format!("/organization/users/{}", c.member.id), Option::None, Owner),
        Route::UpdateMember => ("PUT", format!("/organization/users/{}", c.member.id), Some(json!({"name": "Augusta", "lastName": "King"})), Owner),
        Route::RemoveMember => ("DELETE", format!("/organization/users/{}", c.member.id), Option::None, Owner),
        Route::ResendInvitation => ("POST", format!("/organization/users/{}/resend-invitation", c.member.id), Option::None, Owner),
        Route::ActivateMember => ("POST", format!("/organization/users/{}/activate", c.leaver.id), Option::None, Owner),
        Route::GetOrganization => ("GET", format!("/organization/{}", c.owner.org_id), Option::None, Owner),
        Route::UpdateOrganization => ("PUT", format!("/organization/{}", c.owner.org_id), Some(json!({"name": "Acme Ltd"})), Owner),
        Route::GetUserSettings | Route::GetOrgSettings => ("GET", path(route), Option::None, Owner),
        Route::ReplaceUserSettings | Route::ReplaceOrgSettings => ("POST", path(route), Some(json!({"settings": {"theme": "dark"}})), Owner),
        Route::MergeUserSettings | Route::MergeOrgSettings => ("PUT", path(route), Some(json!({"settings": {"locale": "en"}})), Owner),
        Route::DeleteUserSettings | Route::DeleteOrgSettings => ("DELETE", path(route), Some(json!({"keys": ["theme"]})), Owner),
        Route::GetUser => ("GET", format!("/user/{}", c.member.id), Option::None, Owner),
        Route::UpdateUser => ("PUT", format!("/user/{}", c.member.id), Some(json!({"name": "Augusta", "lastName": "King"})), Owner),
        Route::UpdateRole => ("PUT", format!("/user/{}/role", c.member.id), Some(json!({"orgRole": Role::Owner.value()})), Owner),
        Route::Jwks | Route::OpenIdConfiguration | Route::Health => ("GET", path(route), Option::None, None),
        Route::ListSessions | Route::ListTokens => ("GET", path(route), Option::None, Owner),
        Route::RevokeSession => ("POST", format!("/sessions/{phone_sid}/revoke"), Option::None, Owner),
        Route::DeleteToken => ("DELETE", format!("/token/{phone_sid}"), Option::None, Owner),
        Route::RevokeAllSessions | Route::Deactivate => ("POST", path(route), Option::None, Leaver),
        Route::RequestPasswordReset => ("POST", path(route), Some(json!({"email": c.owner.email})), None),
        Route::ResetPassword => ("POST", path(route), Some(json!({"token": c.mae_reset_token, "newPassword": "Another-pass-456"})), None),
        Route::PreVerifyEmail => ("POST", path(route), Some(json!({"token": c.mae_verify_token})), None),
        Route::VerifyEmail => ("POST", path(route), Some(json!({"token": c.mae_verify_token})), None),
        Route::ResendVerification => ("POST", format!("/user/resend-verification/{}", c.mae_verification_id), Some(json!({})), None),
        Route::MfaStatus | Route::MfaMethods => ("GET", path(route), Option::None, Owner),
        Route::MfaSetup => ("POST", path(route), Some(json!({"mfaType": "GOOGLE_AUTH"})), Owner),
        Route::MfaVerifySetup => ("POST", path(route), Some(json!({"mfaType": "GOOGLE_AUTH", "code": "123456"})), Owner),
        Route::MfaVerifyLogin => ("POST", path(route), Some(json!({"mfaType": "GOOGLE_AUTH", "code": "123456"})), Pending),
        Route::MfaDisable | Route::MfaEnable | Route::MfaPrimary => ("POST", path(route), Some(json!({"mfaType": "GOOGLE_AUTH", "code": "123456"})), Owner),
        Route::MfaBackupCodes => ("POST", path(route), Some(json!({"code": "123456"})), Owner),
        Route::MfaReset => ("POST", path(route), Some(json!({"resetUserId": c.member.id, "enable": true})), Owner),
        Route::MfaEnforce => ("POST", path(route), Some(json!({"enforced": true})), Owner),
        Route::MfaMagicLinkSend => ("POST", path(route), Some(json!({})), Pending),
        Route::MfaMagicLinkActivate => ("POST", path(route), Some(json!({"token": "A".repeat(64)})), Owner),
    };
    assert_eq!(method, route.method().as_str(), "{route:?}: the table's method");
    RouteCall {
        method,
        path,
        body,
        bearer,
    }
}

fn path(route: Route) -> String {
    route.path().to_owned()
}

impl TestApp {
    /// Sends `call` with `token` (whatever the call's own bearer).
    pub async fn send_call(&self, call: &RouteCall, token: Option<&str>) -> Reply {
        self.call(call.method, &call.path, call.body.clone(), token)
            .await
    }
}
