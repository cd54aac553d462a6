//! Response shapes that several handler families answer in.

use lambda_http::{Body, Response};
use serde::Serialize;

use super::response::{success, with_cache_control};
use crate::model::User;
use crate::role::Role;
use crate::service::SignedIn;

/// `{"message": …}`: the body of an answer that has nothing else to say.
#[derive(Serialize)]
pub(crate) struct Message {
    pub(crate) message: &'static str,
}

/// `{"data": …}`: Flashback's wrapper.
#[derive(Serialize)]
pub(crate) struct Data<T> {
    pub(crate) data: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleInfo {
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
pub(crate) struct SignedInUser<'a> {
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
    /// None for a sign-in that still owes its second factor.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_id: Option<&'a str>,
    expires_at: i64,
    mfa_required: bool,
    user: SignedInUser<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_token_id: Option<&'a str>,
}

/// Login's shape: what every sign-in answers. Every answer that carries
/// a token is `Cache-Control: no-store`.
pub(crate) fn signed_in_response(status: u16, s: &SignedIn) -> Response<Body> {
    with_cache_control(
        success(
            status,
            &SignedInResponse {
                access_token: &s.access_token,
                refresh_token: s.refresh_token.as_deref(),
                token_id: s.session_id.as_deref(),
                expires_at: s.expires_at,
                mfa_required: s.mfa_required,
                user: (&s.user).into(),
                verification_token_id: s.verification_token_id.as_deref(),
            },
        ),
        "no-store",
    )
}
