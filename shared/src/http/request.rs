//! Reading requests: the JSON body (type, size, shape), the bearer token,
//! path parameters and the fields several routes share.

use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE};
use lambda_http::{Body, Request, RequestExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::App;
use crate::error::{Error, Result};
use crate::role::Role;

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || (mime.len() > 5 && mime[mime.len() - 5..].eq_ignore_ascii_case("+json"))
        })
}

/// The part of serde's message that names what was expected, without the
/// value the client sent (it could be a password).
fn describe(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message.split(" at line ").next().unwrap_or_default();
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("{} is required", rest.trim_matches('`'));
    }
    match message.rsplit_once(", expected ") {
        Some((_, expected)) => format!("expected {expected}"),
        None => "has an invalid value".into(),
    }
}

/// Deserializes the JSON body into `T`: 415 for another content type, 413
/// over `max_bytes`, `INVALID_JSON` for malformed JSON, `VALIDATION_ERROR`
/// naming the field for a missing field or a wrong type.
pub fn json_body<T: DeserializeOwned>(req: &Request, max_bytes: usize) -> Result<T> {
    let bytes = body_bytes(req);
    if bytes.len() > max_bytes {
        return Err(Error::PayloadTooLarge);
    }
    if !is_json(req) {
        return Err(Error::UnsupportedMediaType);
    }
    // Syntax first, shape second: a body that is not JSON at all is
    // INVALID_JSON even when its first object would be missing fields.
    let document: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| Error::InvalidJson)?;
    serde_path_to_error::deserialize(document).map_err(|e| {
        let path = e.path().to_string();
        let what = describe(e.inner());
        if path == "." || path.is_empty() {
            Error::validation(format!("request body: {what}"))
        } else if what.ends_with("is required") {
            Error::validation(what)
        } else {
            Error::validation(format!("{path}: {what}"))
        }
    })
}

/// The token of an `Authorization: Bearer …` header: `NO_AUTH_USER` when
/// there is none, `INVALID_TOKEN` when it is not a bearer credential.
pub fn bearer_token(req: &Request) -> Result<&str> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Err(Error::NoAuthUser);
    };
    let value = value.to_str().map_err(|_| Error::InvalidToken)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(Error::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::InvalidToken);
    }
    Ok(token.trim())
}

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`;
/// the local server fills it from the peer address). Anything that is not an
/// IP address is dropped rather than stored.
pub fn source_ip(req: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
            .map(|ip| ip.to_string()),
        #[allow(unreachable_patterns)]
        _ => None,
    }
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

/// The refresh token of a refresh or logout request, by either name.
pub fn refresh_token_of(app: &App, req: &Request) -> Result<String> {
    let body: RefreshRequest = json_body(req, app.config.max_body_bytes)?;
    let present = |t: &Option<String>| t.as_ref().is_some_and(|t| !t.is_empty());
    [body.refresh_token, body.refresh_token_camel]
        .into_iter()
        .find(present)
        .flatten()
        .ok_or_else(|| Error::validation("refresh_token is required"))
}

/// The `userId` path parameter, as API Gateway (or the local router) set it.
pub fn path_user_id(req: &Request) -> Result<String> {
    req.path_parameters_ref()
        .and_then(|p| p.first("userId"))
        .map(str::to_owned)
        .ok_or(Error::UserNotFound)
}

/// A role field as sent: anything but a value of the table is `INVALID_ROLE`.
pub fn role_field(value: &serde_json::Value) -> Result<Role> {
    value
        .as_i64()
        .and_then(Role::from_value)
        .ok_or(Error::InvalidRole)
}
