//! Signing in with an outside provider: `POST /auth/google`,
//! `/auth/microsoft` (an ID token) and `/auth/github` (a code), in login's
//! answer; the code flows `POST /auth/{google,microsoft}/exchange`, in
//! Flashback's `OAuth2ResponseDTO`; and linking one to the signed-in
//! account: `POST /auth/{provider}/link`.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::config::ProviderKind;
use crate::error::{Error, Result};
use crate::http::AuthUser;
use crate::http::request::{json_body, source_ip};
use crate::http::response::{success, with_cache_control};
use crate::http::shapes::signed_in_response;
use crate::service::social::{Proof, SocialSignedIn};
use crate::service::{SessionOrigin, social};

/// An ID token (`token`, `nonce`?) or a code (`code`), as the route takes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProofRequest {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    device_info: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Which of the two a route reads.
#[derive(Clone, Copy)]
enum Takes {
    IdToken,
    Code,
}

impl ProofRequest {
    fn proof(&mut self, takes: Takes) -> Result<Proof> {
        match takes {
            Takes::IdToken => Ok(Proof::IdToken {
                token: self
                    .token
                    .take()
                    .ok_or_else(|| Error::validation("token is required"))?,
                nonce: self.nonce.take(),
            }),
            Takes::Code => Ok(Proof::Code(
                self.code
                    .take()
                    .ok_or_else(|| Error::validation("code is required"))?,
            )),
        }
    }
}

async fn sign_in(
    app: &App,
    req: &Request,
    provider: ProviderKind,
    takes: Takes,
) -> Result<SocialSignedIn> {
    // A deployment without the provider has no such route, whatever the body.
    if !app.providers.enabled(provider) {
        return Err(Error::NotFound);
    }
    let mut body: ProofRequest = json_body(req, app.config.max_body_bytes)?;
    social::sign_in(
        app,
        social::ProviderSignIn {
            provider,
            proof: body.proof(takes)?,
            origin: SessionOrigin {
                device_info: body.device_info.map(serde_json::Value::Object),
                ip_address: source_ip(req),
            },
        },
    )
    .await
}

async fn sign_in_response(
    app: &App,
    req: &Request,
    provider: ProviderKind,
    takes: Takes,
) -> Result<Response<Body>> {
    let signed_in = sign_in(app, req, provider, takes).await?;
    Ok(signed_in_response(200, &signed_in.signed_in))
}

pub(crate) async fn post_google(app: &App, req: &Request) -> Result<Response<Body>> {
    sign_in_response(app, req, ProviderKind::Google, Takes::IdToken).await
}

pub(crate) async fn post_microsoft(app: &App, req: &Request) -> Result<Response<Body>> {
    sign_in_response(app, req, ProviderKind::Microsoft, Takes::IdToken).await
}

pub(crate) async fn post_github(app: &App, req: &Request) -> Result<Response<Body>> {
    sign_in_response(app, req, ProviderKind::Github, Takes::Code).await
}

/// Flashback's `AuthState`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthState<'a> {
    user: AuthUserInfo<'a>,
    token: &'a str,
    access_token: &'a str,
    /// None while a second factor is due: no session exists yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    expires_at: i64,
    provider: &'static str,
    /// Not in Flashback's DTO: set (true) only when the token is a pending
    /// sign-in's, which `mfa/verify-login` completes, as login answers.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    mfa_required: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthUserInfo<'a> {
    email: &'a str,
    name: String,
    image_url: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OAuth2Response<'a> {
    auth_state: AuthState<'a>,
}

/// The code flow, answering Flashback's `OAuth2ResponseDTO`: `token` and
/// `accessToken` are both our access token (Flashback's client reads either).
async fn exchange(app: &App, req: &Request, provider: ProviderKind) -> Result<Response<Body>> {
    let signed = sign_in(app, req, provider, Takes::Code).await?;
    let s = &signed.signed_in;
    let name = format!("{} {}", s.user.name, s.user.last_name)
        .trim()
        .to_owned();
    let body = OAuth2Response {
        auth_state: AuthState {
            user: AuthUserInfo {
                email: &s.user.email,
                name,
                image_url: signed.picture.as_deref(),
            },
            token: &s.access_token,
            access_token: &s.access_token,
            refresh_token: s.refresh_token.as_deref(),
            expires_at: s.expires_at,
            provider: provider.slug(),
            mfa_required: s.mfa_required,
        },
    };
    Ok(with_cache_control(success(200, &body), "no-store"))
}

pub(crate) async fn post_google_exchange(app: &App, req: &Request) -> Result<Response<Body>> {
    exchange(app, req, ProviderKind::Google).await
}

pub(crate) async fn post_microsoft_exchange(app: &App, req: &Request) -> Result<Response<Body>> {
    exchange(app, req, ProviderKind::Microsoft).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Linked<'a> {
    provider: &'a str,
    linked_at: i64,
}

/// The caller and its session are checked first, as on every bearer route;
/// a provider the deployment does not enable is then 404.
async fn link(
    app: &App,
    req: &Request,
    provider: ProviderKind,
    takes: Takes,
) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    let mut body: ProofRequest = json_body(req, app.config.max_body_bytes)?;
    let identity = social::link(app, claims, provider, &body.proof(takes)?).await?;
    Ok(success(
        200,
        &Linked {
            provider: &identity.provider,
            linked_at: identity.linked_at,
        },
    ))
}

pub(crate) async fn post_google_link(app: &App, req: &Request) -> Result<Response<Body>> {
    link(app, req, ProviderKind::Google, Takes::IdToken).await
}

pub(crate) async fn post_microsoft_link(app: &App, req: &Request) -> Result<Response<Body>> {
    link(app, req, ProviderKind::Microsoft, Takes::IdToken).await
}

pub(crate) async fn post_github_link(app: &App, req: &Request) -> Result<Response<Body>> {
    link(app, req, ProviderKind::Github, Takes::Code).await
}
