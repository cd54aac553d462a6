//! The mail flows' handlers: verification, invitations, password reset.
//! All public: a token from a mail, or an address, is the credential.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::error::{Error, Result};
use crate::http::request::{json_body, source_ip};
use crate::http::response::success;
use crate::http::shapes::{Message, signed_in_response};
use crate::model::AuthMethod;
use crate::service::{SessionOrigin, reset, verify};

#[derive(Deserialize)]
struct EmailRequest {
    email: String,
}

pub(crate) async fn post_request_reset(app: &App, req: &Request) -> Result<Response<Body>> {
    let body: EmailRequest = json_body(req, app.config.max_body_bytes)?;
    reset::request(app, &body.email).await?;
    Ok(success(
        200,
        &Message {
            message: "If the address has an account, a reset link has been sent",
        },
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetRequest {
    token: String,
    new_password: String,
}

pub(crate) async fn post_reset(app: &App, req: &Request) -> Result<Response<Body>> {
    let body: ResetRequest = json_body(req, app.config.max_body_bytes)?;
    reset::reset(app, &body.token, &body.new_password).await?;
    Ok(success(
        200,
        &Message {
            message: "Password reset",
        },
    ))
}

#[derive(Deserialize)]
struct TokenRequest {
    token: String,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PreVerifyResponse {
    message: &'static str,
    auth_method: &'static str,
    has_password: bool,
}

pub(crate) async fn post_pre_verify(app: &App, req: &Request) -> Result<Response<Body>> {
    let body: TokenRequest = json_body(req, app.config.max_body_bytes)?;
    let info = verify::pre_verify(app, &body.token).await?;
    Ok(success(
        200,
        &PreVerifyResponse {
            message: match (info.has_password, info.auth_method) {
                (true, _) => "Token is valid",
                (false, AuthMethod::Local) => "Token is valid; choose a password",
                (false, _) => "Token is valid; accept it, then sign in with your provider",
            },
            // Flashback's `authMethod` words: LOCAL, GOOGLE, GITHUB, MICROSOFT.
            auth_method: info.auth_method.name(),
            has_password: info.has_password,
        },
    ))
}

pub(crate) async fn post_verify(app: &App, req: &Request) -> Result<Response<Body>> {
    let body: TokenRequest = json_body(req, app.config.max_body_bytes)?;
    if body.token.is_empty() {
        return Err(Error::InvalidVerificationToken);
    }
    let origin = SessionOrigin {
        device_info: None,
        ip_address: source_ip(req),
    };
    let signed_in = verify::verify(app, &body.token, body.password.as_deref(), origin).await?;
    Ok(signed_in_response(200, &signed_in))
}

pub(crate) async fn post_resend(app: &App, req: &Request) -> Result<Response<Body>> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("verificationTokenId"))
        .unwrap_or_default()
        .to_owned();
    verify::resend(app, &id).await?;
    Ok(success(
        200,
        &Message {
            message: "If the account awaits verification, the mail has been sent again",
        },
    ))
}
