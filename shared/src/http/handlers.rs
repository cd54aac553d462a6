//! One function per route: request shape in, service call, response shape out.

pub mod endpoints;

use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};

use super::request::{bearer_token, json_body, source_ip};
use super::response::{success, with_cache_control};
use super::{Route, lifecycle, mail};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};
use crate::model::{ContactDetails, User};
use crate::role::Role;
use crate::service::caller::verify_token;
use crate::service::{SessionOrigin, SignedIn, login, members, quota, refresh, register, users};

pub(super) async fn handle(app: &App, req: &Request, route: Route) -> Result<Response<Body>> {
    match route {
        Route::Register => post_register(app, req).await,
        Route::Login => post_login(app, req).await,
        Route::Refresh => post_refresh(app, req).await,
        Route::Profile => get_profile(app, req).await,
        Route::Quota => get_quota(app, req).await,
        Route::GetUser => get_user(app, req).await,
        Route::UpdateUser => put_user(app, req).await,
        Route::UpdateRole => put_user_role(app, req).await,
        Route::CreateMember => post_organization_users(app, req).await,
        Route::ListMembers => get_organization_users(app, req).await,
        Route::RequestPasswordReset => mail::post_request_reset(app, req).await,
        Route::ResetPassword => mail::post_reset(app, req).await,
        Route::PreVerifyEmail => mail::post_pre_verify(app, req).await,
        Route::VerifyEmail => mail::post_verify(app, req).await,
        Route::ResendVerification => mail::post_resend(app, req).await,
        Route::Jwks => get_jwks(app),
        Route::OpenIdConfiguration => get_openid_configuration(app),
        Route::Logout => lifecycle::post_logout(app, req).await,
        Route::ListSessions | Route::ListTokens => lifecycle::get_sessions(app, req).await,
        Route::RevokeSession | Route::DeleteToken => lifecycle::post_session_revoke(app, req).await,
        Route::RevokeAllSessions => lifecycle::post_sessions_revoke_all(app, req).await,
        Route::Deactivate => lifecycle::post_deactivate(app, req).await,
        Route::Health => lifecycle::get_health(app).await,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterRequest {
    email: String,
    password: String,
    first_name: String,
    last_name: String,
    company_name: String,
    #[serde(default)]
    company_website: Option<String>,
    is_business: bool,
    #[serde(flatten)]
    contact: ContactDetails,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedInUser<'a> {
    id: &'a str,
    email: &'a str,
    name: &'a str,
    org_id: &'a str,
    org_role: u8,
}

impl<'a> From<&'a User> for SignedInUser<'a> {
    fn from(user: &'a User) -> Self {
        SignedInUser {
            id: &user.id,
            email: &user.email,
            name: &user.name,
            org_id: &user.org_id,
            org_role: user.org_role.value(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedInResponse<'a> {
    access_token: &'a str,
    refresh_token: &'a str,
    token_id: &'a str,
    expires_at: i64,
    user: SignedInUser<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_token_id: Option<&'a str>,
}

pub(super) fn signed_in_response(status: u16, s: &SignedIn) -> Response<Body> {
    success(
        status,
        &SignedInResponse {
            access_token: &s.access_token,
            refresh_token: &s.refresh_token,
            token_id: &s.session_id,
            expires_at: s.expires_at,
            user: (&s.user).into(),
            verification_token_id: s.verification_token_id.as_deref(),
        },
    )
}

async fn post_register(app: &App, req: &Request) -> Result<Response<Body>> {
    let body: RegisterRequest = json_body(req, app.config.max_body_bytes)?;
    let signed_in = register::register(
        app,
        register::Registration {
            email: body.email,
            password: body.password,
            first_name: body.first_name,
            last_name: body.last_name,
            company_name: body.company_name,
            company_website: body.company_website,
            is_business: body.is_business,
            contact: body.contact,
            origin: SessionOrigin {
                device_info: None,
                ip_address: source_ip(req),
            },
        },
    )
    .await?;
    Ok(signed_in_response(201, &signed_in))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginRequest {
    email: String,
    password: String,
    #[serde(default)]
    device_info: Option<serde_json::Map<String, serde_json::Value>>,
}

async fn post_login(app: &App, req: &Request) -> Result<Response<Body>> {
    let body: LoginRequest = json_body(req, app.config.max_body_bytes)?;
    let signed_in = login::login(
        app,
        login::Credentials {
            email: body.email,
            password: body.password,
            device_info: body.device_info.map(serde_json::Value::Object),
            ip_address: source_ip(req),
        },
    )
    .await?;
    Ok(signed_in_response(200, &signed_in))
}

/// Flashback's client sends `refresh_token`; its documentation shows
/// `refreshToken`. Both are accepted.
#[derive(Deserialize)]
struct RefreshRequest {
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default, rename = "refreshToken")]
    refresh_token_camel: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefreshResponse<'a> {
    access_token: &'a str,
    /// `accessToken` again: Flashback's `RefreshTokenResponse` has both.
    token: &'a str,
    refresh_token: &'a str,
    expires_at: i64,
}

/// The refresh token of a refresh or logout request, by either name.
pub(super) fn refresh_token_of(app: &App, req: &Request) -> Result<String> {
    let body: RefreshRequest = json_body(req, app.config.max_body_bytes)?;
    let present = |t: &Option<String>| t.as_ref().is_some_and(|t| !t.is_empty());
    [body.refresh_token, body.refresh_token_camel]
        .into_iter()
        .find(present)
        .flatten()
        .ok_or_else(|| Error::validation("refresh_token is required"))
}

async fn post_refresh(app: &App, req: &Request) -> Result<Response<Body>> {
    let token = refresh_token_of(app, req)?;
    let refreshed = refresh::refresh(app, &token).await?;
    Ok(success(
        200,
        &RefreshResponse {
            access_token: &refreshed.access_token,
            token: &refreshed.access_token,
            refresh_token: &refreshed.refresh_token,
            expires_at: refreshed.expires_at,
        },
    ))
}

pub(super) async fn claims(app: &App, req: &Request) -> Result<AccessClaims> {
    verify_token(app, bearer_token(req)?).await
}

/// The `userId` path parameter, as API Gateway (or the local router) set it.
fn path_user_id(req: &Request) -> Result<String> {
    req.path_parameters_ref()
        .and_then(|p| p.first("userId"))
        .map(str::to_owned)
        .ok_or(Error::UserNotFound)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleInfo {
    org_role: u8,
    org_role_description: &'static str,
    org_roles: Vec<u8>,
}

impl From<Role> for RoleInfo {
    fn from(role: Role) -> Self {
        RoleInfo {
            org_role: role.value(),
            org_role_description: role.name(),
            org_roles: role.included_values(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileData<'a> {
    id: &'a str,
    name: &'a str,
    last_name: &'a str,
    email: &'a str,
    org_id: &'a str,
    #[serde(flatten)]
    role: RoleInfo,
    validated: bool,
    mfa_required: bool,
    is_business: bool,
}

#[derive(Serialize)]
struct Data<T> {
    data: T,
}

async fn get_profile(app: &App, req: &Request) -> Result<Response<Body>> {
    let user = users::profile(app, claims(app, req).await?).await?;
    let data = ProfileData {
        id: &user.id,
        name: &user.name,
        last_name: &user.last_name,
        email: &user.email,
        org_id: &user.org_id,
        role: user.org_role.into(),
        validated: user.validated,
        mfa_required: user.mfa_required,
        is_business: user.is_business,
    };
    Ok(success(200, &Data { data }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberRole<'a> {
    user_id: &'a str,
    #[serde(flatten)]
    role: RoleInfo,
}

async fn get_user(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = claims(app, req).await?;
    let user = users::member(app, claims, &path_user_id(req)?).await?;
    let data = MemberRole {
        user_id: &user.id,
        role: user.org_role.into(),
    };
    Ok(success(200, &Data { data }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateUserRequest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    current_password: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Message {
    pub(super) message: &'static str,
}

async fn put_user(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = claims(app, req).await?;
    let body: UpdateUserRequest = json_body(req, app.config.max_body_bytes)?;
    let update = users::UserUpdate {
        name: body.name,
        last_name: body.last_name,
        password: body.password,
        current_password: body.current_password,
    };
    users::update(app, claims, &path_user_id(req)?, update).await?;
    Ok(success(
        200,
        &Message {
            message: "User updated",
        },
    ))
}

/// `orgRole` stays raw JSON until checked, so that a string, a fraction or
/// a value outside the table is `INVALID_ROLE`, not a parse error.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleRequest {
    org_role: serde_json::Value,
}

fn role_from_json(value: &serde_json::Value) -> Result<Role> {
    value
        .as_i64()
        .and_then(Role::from_value)
        .ok_or(Error::InvalidRole)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleChangedData<'a> {
    user_id: &'a str,
    previous_role: u8,
    new_role: u8,
    message: &'static str,
}

async fn put_user_role(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = claims(app, req).await?;
    let body: RoleRequest = json_body(req, app.config.max_body_bytes)?;
    let role = role_from_json(&body.org_role)?;
    let changed = users::change_role(app, claims, &path_user_id(req)?, role).await?;
    let data = RoleChangedData {
        user_id: &changed.user_id,
        previous_role: changed.previous_role.value(),
        new_role: changed.new_role.value(),
        message: "Role updated",
    };
    Ok(success(200, &Data { data }))
}

/// A member in Flashback's organization-user shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberItem<'a> {
    id: &'a str,
    email: &'a str,
    name: &'a str,
    last_name: &'a str,
    org_id: &'a str,
    validated: bool,
    deleted_at: Option<i64>,
    #[serde(flatten)]
    role: RoleInfo,
}

impl<'a> From<&'a User> for MemberItem<'a> {
    fn from(user: &'a User) -> Self {
        MemberItem {
            id: &user.id,
            email: &user.email,
            name: &user.name,
            last_name: &user.last_name,
            org_id: &user.org_id,
            validated: user.validated,
            deleted_at: None,
            role: user.org_role.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateMemberRequest {
    email: String,
    /// None or empty: an invited member sets it through verify-email.
    #[serde(default)]
    password: Option<String>,
    /// Flashback's `CreateOrgUserRequest.sendInvite`: mail an invitation.
    #[serde(default)]
    send_invite: bool,
    first_name: String,
    last_name: String,
    #[serde(default)]
    org_role: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Created<'a> {
    message: &'static str,
    data: MemberItem<'a>,
}

async fn post_organization_users(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = claims(app, req).await?;
    let body: CreateMemberRequest = json_body(req, app.config.max_body_bytes)?;
    let org_role = body.org_role.as_ref().map(role_from_json).transpose()?;
    let user = members::create(
        app,
        claims,
        members::NewMember {
            email: body.email,
            password: body.password.filter(|p| !p.is_empty()),
            send_invite: body.send_invite,
            first_name: body.first_name,
            last_name: body.last_name,
            org_role,
        },
    )
    .await?;
    Ok(success(
        201,
        &Created {
            message: "User created",
            data: (&user).into(),
        },
    ))
}

#[derive(Serialize)]
struct MemberList<'a> {
    data: Vec<MemberItem<'a>>,
    total: usize,
}

async fn get_organization_users(app: &App, req: &Request) -> Result<Response<Body>> {
    let members = members::list(app, claims(app, req).await?).await?;
    let data: Vec<MemberItem> = members.iter().map(MemberItem::from).collect();
    Ok(success(
        200,
        &MemberList {
            total: data.len(),
            data,
        },
    ))
}

#[derive(Serialize)]
struct SubscriptionInfo<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CapabilityInfo<'a> {
    id: &'a str,
    code: &'a str,
    description: &'a str,
    #[serde(rename = "type")]
    capability_type: &'a str,
    period_type: crate::model::PeriodType,
}

#[derive(Serialize)]
struct UsageFigures {
    current: u64,
    max: u64,
    percentage: u64,
}

#[derive(Serialize)]
struct QuotaUsage<'a> {
    capability: CapabilityInfo<'a>,
    usage: UsageFigures,
}

/// Flashback's shape: no `data` wrapper.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QuotaResponse<'a> {
    subscription: SubscriptionInfo<'a>,
    quota_usage: Vec<QuotaUsage<'a>>,
}

async fn get_quota(app: &App, req: &Request) -> Result<Response<Body>> {
    let quota = quota::quota(app, claims(app, req).await?).await?;
    let body = QuotaResponse {
        // The subscription's id is its organization's: one per organization.
        subscription: SubscriptionInfo {
            id: &quota.subscription.org_id,
            name: &quota.plan.name,
            description: &quota.plan.description,
        },
        quota_usage: quota
            .usage
            .iter()
            .map(|u| QuotaUsage {
                capability: CapabilityInfo {
                    id: &u.capability.id,
                    code: &u.capability.code,
                    description: &u.capability.description,
                    capability_type: &u.capability.capability_type,
                    period_type: u.capability.period_type,
                },
                usage: UsageFigures {
                    current: u.current,
                    max: u.max,
                    percentage: u.percentage,
                },
            })
            .collect(),
    };
    Ok(success(200, &body))
}

/// The public keys (RFC 7517), as the key set in force holds them: other
/// services and API Gateway's JWT authorizer verify tokens with these.
fn get_jwks(app: &App) -> Result<Response<Body>> {
    let keys = app.access_tokens.keys().current();
    // Verifiers re-read about as often as the functions do (README, Keys).
    Ok(with_cache_control(
        success(200, &keys.jwks),
        "public, max-age=300",
    ))
}

/// OpenID Connect discovery: enough for an OIDC library or API Gateway's
/// JWT authorizer to find the keys of this issuer.
#[derive(Serialize)]
struct Discovery<'a> {
    issuer: &'a str,
    jwks_uri: String,
    id_token_signing_alg_values_supported: [&'static str; 1],
    subject_types_supported: [&'static str; 1],
    response_types_supported: [&'static str; 1],
    claims_supported: [&'static str; 11],
}

fn get_openid_configuration(app: &App) -> Result<Response<Body>> {
    let issuer = app.access_tokens.issuer()?;
    let discovery = Discovery {
        issuer: &issuer,
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        id_token_signing_alg_values_supported: [app.access_tokens.keys().algorithm().name()],
        subject_types_supported: ["public"],
        response_types_supported: ["token"],
        claims_supported: [
            "sub", "userId", "email", "orgId", "type", "sid", "iss", "aud", "iat", "exp", "jti",
        ],
    };
    Ok(with_cache_control(
        success(200, &discovery),
        "public, max-age=3600",
    ))
}
