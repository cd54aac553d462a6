//! Signing in: register, login, refresh.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::error::Result;
use crate::http::request::{json_body, refresh_token_of, source_ip};
use crate::http::response::{success, with_cache_control};
use crate::http::shapes::{SignedInUser, signed_in_response};
use crate::model::ContactDetails;
use crate::service::{SessionOrigin, login, refresh, register};

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

pub(crate) async fn post_register(app: &App, req: &Request) -> Result<Response<Body>> {
    let body: RegisterRequest = json_body(req, app.config.max_body_bytes)?;
    let registered = register::register(
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
    Ok(match registered.signed_in {
        Some(mut signed_in) => {
            signed_in.verification_token_id = Some(registered.verification_token_id);
            signed_in_response(201, &signed_in)
        }
        None => with_cache_control(
            success(
                201,
                &RegisteredResponse {
                    user: (&registered.user).into(),
                    verification_token_id: &registered.verification_token_id,
                },
            ),
            "no-store",
        ),
    })
}

/// Register's answer when the address must be verified first: the account
/// and the resend id, no tokens (Flashback's `RegisterResponse` has them
/// optional).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisteredResponse<'a> {
    user: SignedInUser<'a>,
    verification_token_id: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginRequest {
    email: String,
    password: String,
    #[serde(default)]
    device_info: Option<serde_json::Map<String, serde_json::Value>>,
}

pub(crate) async fn post_login(app: &App, req: &Request) -> Result<Response<Body>> {
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefreshResponse<'a> {
    access_token: &'a str,
    /// `accessToken` again: Flashback's `RefreshTokenResponse` has both.
    token: &'a str,
    refresh_token: &'a str,
    expires_at: i64,
}

pub(crate) async fn post_refresh(app: &App, req: &Request) -> Result<Response<Body>> {
    let token = refresh_token_of(app, req)?;
    let refreshed = refresh::refresh(app, &token).await?;
    Ok(with_cache_control(
        success(
            200,
            &RefreshResponse {
                access_token: &refreshed.access_token,
                token: &refreshed.access_token,
                refresh_token: &refreshed.refresh_token,
                expires_at: refreshed.expires_at,
            },
        ),
        "no-store",
    ))
}
