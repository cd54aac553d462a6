//! Signing in with an outside provider: `POST /auth/google`,
//! `/auth/microsoft` (login's answer), and linking one to the signed-in
//! account: `POST /auth/{provider}/link`.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::config::ProviderKind;
use crate::error::{Error, Result};
use crate::http::AuthUser;
use crate::http::request::{json_body, source_ip};
use crate::http::response::success;
use crate::http::shapes::signed_in_response;
use crate::service::{SessionOrigin, social};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignInRequest {
    token: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    device_info: Option<serde_json::Map<String, serde_json::Value>>,
}

async fn sign_in(app: &App, req: &Request, provider: ProviderKind) -> Result<Response<Body>> {
    // A deployment without the provider has no such route, whatever the body.
    if !app.providers.enabled(provider) {
        return Err(Error::NotFound);
    }
    let body: SignInRequest = json_body(req, app.config.max_body_bytes)?;
    let signed_in = social::sign_in(
        app,
        social::ProviderSignIn {
            provider,
            token: body.token,
            nonce: body.nonce,
            origin: SessionOrigin {
                device_info: body.device_info.map(serde_json::Value::Object),
                ip_address: source_ip(req),
            },
        },
    )
    .await?;
    Ok(signed_in_response(200, &signed_in))
}

pub(crate) async fn post_google(app: &App, req: &Request) -> Result<Response<Body>> {
    sign_in(app, req, ProviderKind::Google).await
}

pub(crate) async fn post_microsoft(app: &App, req: &Request) -> Result<Response<Body>> {
    sign_in(app, req, ProviderKind::Microsoft).await
}

#[derive(Deserialize)]
struct LinkRequest {
    token: String,
    #[serde(default)]
    nonce: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Linked<'a> {
    provider: &'a str,
    linked_at: i64,
}

/// The caller and its session are checked first, as on every bearer route;
/// a provider the deployment does not enable is then 404.
async fn link(app: &App, req: &Request, provider: ProviderKind) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let body: LinkRequest = json_body(req, app.config.max_body_bytes)?;
    let identity = social::link(app, claims, provider, &body.token, body.nonce.as_deref()).await?;
    Ok(success(
        200,
        &Linked {
            provider: &identity.provider,
            linked_at: identity.linked_at,
        },
    ))
}

pub(crate) async fn post_google_link(app: &App, req: &Request) -> Result<Response<Body>> {
    link(app, req, ProviderKind::Google).await
}

pub(crate) async fn post_microsoft_link(app: &App, req: &Request) -> Result<Response<Body>> {
    link(app, req, ProviderKind::Microsoft).await
}
