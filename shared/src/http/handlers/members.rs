//! An organization's members: adding one, listing them.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::error::{Error, Result};
use crate::http::AuthUser;
use crate::http::request::{json_body, role_field};
use crate::http::response::success;
use crate::http::shapes::RoleInfo;
use crate::model::{AuthMethod, User};
use crate::service::members;

/// A member in Flashback's organization-user shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MemberItem<'a> {
    id: &'a str,
    email: &'a str,
    name: &'a str,
    last_name: &'a str,
    org_id: &'a str,
    validated: bool,
    deleted_at: Option<i64>,
    /// Invited and not accepted yet.
    pending_invitation: bool,
    /// How it signs in: `LOCAL` (a password) or its provider.
    auth_method: &'static str,
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
            deleted_at: user.deleted_at,
            pending_invitation: user.is_pending_invitation(),
            auth_method: user.auth_method.name(),
            role: user.org_role.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateMemberRequest {
    // Flashback's `password` and `sendInvite` are read past: the member is
    // always invited and sets its own password (API.md, "Who owns an address").
    email: String,
    first_name: String,
    last_name: String,
    #[serde(default)]
    org_role: Option<serde_json::Value>,
    #[serde(default)]
    auth_method: Option<String>,
}

#[derive(Serialize)]
struct Created<'a> {
    message: &'static str,
    data: MemberItem<'a>,
}

pub(crate) async fn post_member(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let body: CreateMemberRequest = json_body(req, app.config.max_body_bytes)?;
    let org_role = body.org_role.as_ref().map(role_field).transpose()?;
    let auth_method = match body.auth_method.as_deref() {
        None => AuthMethod::Local,
        Some(name) => AuthMethod::parse(name).ok_or_else(|| {
            Error::validation("authMethod must be one of LOCAL, GOOGLE, GITHUB, MICROSOFT")
        })?,
    };
    let user = members::create(
        app,
        claims,
        members::NewMember {
            email: body.email,
            first_name: body.first_name,
            last_name: body.last_name,
            org_role,
            auth_method,
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

/// `?includeDeleted=true`, from API Gateway's parameters or (locally) the URI.
fn include_deleted(req: &Request) -> bool {
    let given = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("includeDeleted").map(str::to_owned))
        .or_else(|| {
            req.uri().query().and_then(|q| {
                q.split('&')
                    .find_map(|pair| pair.strip_prefix("includeDeleted="))
                    .map(str::to_owned)
            })
        });
    given.as_deref() == Some("true")
}

pub(crate) async fn get_members(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let members = members::list(app, claims, include_deleted(req)).await?;
    let data: Vec<MemberItem> = members.iter().map(MemberItem::from).collect();
    Ok(success(
        200,
        &MemberList {
            total: data.len(),
            data,
        },
    ))
}
