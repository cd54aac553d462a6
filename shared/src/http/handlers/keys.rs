//! The published keys: JWKS and OpenID Connect discovery.

use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::App;
use crate::error::Result;
use crate::http::response::{success, with_cache_control};

/// The public keys (RFC 7517), as the key set in force holds them: other
/// services and API Gateway's JWT authorizer verify tokens with these.
pub(crate) async fn get_jwks(app: &App, _req: &Request) -> Result<Response<Body>> {
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

pub(crate) async fn get_openid_configuration(app: &App, _req: &Request) -> Result<Response<Body>> {
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
