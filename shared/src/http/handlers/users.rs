//! The caller and the members it may see: profile, a member's role, updates,
//! role changes, leaving.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::error::Result;
use crate::http::AuthUser;
use crate::http::request::{json_body, path_user_id, role_field};
use crate::http::response::success;
use crate::http::shapes::{Data, Message, RoleInfo};
use crate::service::{account_status, users};

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

pub(crate) async fn get_profile(app: &App, req: &Request) -> Result<Response<Body>> {
    let profile = users::profile(app, AuthUser::from_request(app, req).await?.claims).await?;
    let user = &profile.user;
    let data = ProfileData {
        id: &user.id,
        name: &user.name,
        last_name: &user.last_name,
        email: &user.email,
        org_id: &user.org_id,
        role: user.org_role.into(),
        validated: user.validated,
        mfa_required: profile.mfa_required,
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

pub(crate) async fn get_user(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
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

pub(crate) async fn put_user(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleChangedData<'a> {
    user_id: &'a str,
    previous_role: u8,
    new_role: u8,
    message: &'static str,
}

pub(crate) async fn put_user_role(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let body: RoleRequest = json_body(req, app.config.max_body_bytes)?;
    let role = role_field(&body.org_role)?;
    let changed = users::change_role(app, claims, &path_user_id(req)?, role).await?;
    let data = RoleChangedData {
        user_id: &changed.user_id,
        previous_role: changed.previous_role.value(),
        new_role: changed.new_role.value(),
        message: "Role updated",
    };
    Ok(success(200, &Data { data }))
}

pub(crate) async fn post_deactivate(app: &App, req: &Request) -> Result<Response<Body>> {
    account_status::deactivate_self(app, AuthUser::from_request(app, req).await?.claims).await?;
    Ok(success(
        200,
        &Message {
            message: "Account deactivated",
        },
    ))
}
