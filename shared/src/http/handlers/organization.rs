//! Handlers of organization management: a member read, edited, removed,
//! reinvited or reactivated, and the organization's own record.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};

use super::members::MemberItem;
use crate::App;
use crate::error::{Error, Result};
use crate::http::AuthUser;
use crate::http::request::{json_body, path_user_id, role_field};
use crate::http::response::success;
use crate::http::shapes::Message;
use crate::model::{ContactDetails, Organization};
use crate::service::organization::{self, MemberUpdate, OrganizationUpdate, domain_of};

/// Flashback's `getOrganizationUser` reads the member at the top level.
pub(crate) async fn get_member(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let user = organization::member(app, claims, &path_user_id(req)?).await?;
    Ok(success(200, &MemberItem::from(&user)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberUpdateRequest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    org_role: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Updated<T> {
    data: T,
    message: &'static str,
}

pub(crate) async fn put_member(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let body: MemberUpdateRequest = json_body(req, app.config.max_body_bytes)?;
    let update = MemberUpdate {
        name: body.name,
        last_name: body.last_name,
        org_role: body.org_role.as_ref().map(role_field).transpose()?,
    };
    let user = organization::update_member(app, claims, &path_user_id(req)?, update).await?;
    Ok(success(
        200,
        &Updated {
            data: MemberItem::from(&user),
            message: "User updated",
        },
    ))
}

pub(crate) async fn delete_member(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    organization::remove_member(app, claims, &path_user_id(req)?).await?;
    Ok(success(
        200,
        &Message {
            message: "User removed",
        },
    ))
}

pub(crate) async fn post_resend_invitation(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    organization::resend_invitation(app, claims, &path_user_id(req)?).await?;
    Ok(success(
        200,
        &Message {
            message: "Invitation sent",
        },
    ))
}

pub(crate) async fn post_activate(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    organization::activate_member(app, claims, &path_user_id(req)?).await?;
    Ok(success(
        200,
        &Message {
            message: "User activated",
        },
    ))
}

/// The `orgId` path parameter; none names no organization.
fn path_org_id(req: &Request) -> Result<String> {
    req.path_parameters_ref()
        .and_then(|p| p.first("orgId"))
        .map(str::to_owned)
        .ok_or(Error::NotFound)
}

/// Flashback's `OrganizationData`: `is_business` in snake case, as it has it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationData<'a> {
    id: &'a str,
    name: &'a str,
    domain: Option<String>,
    address1: Option<&'a str>,
    address2: Option<&'a str>,
    city: Option<&'a str>,
    zipcode: Option<&'a str>,
    phone: Option<&'a str>,
    state: Option<&'a str>,
    country: Option<&'a str>,
    deleted_at: Option<i64>,
    repos_disabled: bool,
    website: Option<&'a str>,
    #[serde(rename = "is_business")]
    is_business: bool,
    mfa_enforced: bool,
}

impl<'a> From<&'a Organization> for OrganizationData<'a> {
    fn from(org: &'a Organization) -> Self {
        let c = &org.contact;
        OrganizationData {
            id: &org.id,
            name: &org.name,
            domain: org.website.as_deref().and_then(domain_of),
            address1: c.address1.as_deref(),
            address2: c.address2.as_deref(),
            city: c.city.as_deref(),
            zipcode: c.zipcode.as_deref(),
            phone: c.phone.as_deref(),
            state: c.state.as_deref(),
            country: c.country.as_deref(),
            deleted_at: None,
            repos_disabled: false,
            website: org.website.as_deref(),
            is_business: org.is_business,
            mfa_enforced: org.mfa_enforced,
        }
    }
}

pub(crate) async fn get_organization(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let org = organization::organization(app, claims, &path_org_id(req)?).await?;
    Ok(success(
        200,
        &Updated {
            data: OrganizationData::from(&org),
            message: "Organization retrieved",
        },
    ))
}

/// Absent or null: unchanged; an empty string clears an optional field.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationUpdateRequest {
    #[serde(default)]
    name: Option<String>,
    #[serde(flatten)]
    contact: ContactDetails,
    /// Flashback's spelling; `isBusiness` is taken too.
    #[serde(default, rename = "is_business")]
    is_business_snake: Option<bool>,
    #[serde(default)]
    is_business: Option<bool>,
    #[serde(default)]
    mfa_enforced: Option<bool>,
}

pub(crate) async fn put_organization(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let body: OrganizationUpdateRequest = json_body(req, app.config.max_body_bytes)?;
    let mut contact = body.contact;
    let update = OrganizationUpdate {
        name: body.name,
        website: contact.website.take(),
        contact,
        is_business: body.is_business_snake.or(body.is_business),
        mfa_enforced: body.mfa_enforced,
    };
    let org = organization::update_organization(app, claims, &path_org_id(req)?, update).await?;
    Ok(success(
        200,
        &Updated {
            data: OrganizationData::from(&org),
            message: "Organization updated",
        },
    ))
}
