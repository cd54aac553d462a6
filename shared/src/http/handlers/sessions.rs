//! Sessions a user controls: signing out, listing, ending one or all.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::App;
use crate::error::{Error, Result};
use crate::http::AuthUser;
use crate::http::request::refresh_token_of;
use crate::http::response::{success, with_cache_control};
use crate::http::shapes::Message;
use crate::model::LOGIN_METHOD_PASSWORD;
use crate::service::sessions;
use crate::service::sessions::SessionEntry;

pub(crate) async fn post_logout(app: &App, req: &Request) -> Result<Response<Body>> {
    match refresh_token_of(app, req) {
        Ok(token) => sessions::logout(app, &token).await?,
        // A sign-in still owing its second factor has no refresh token (and
        // no session to end: its pending token dies in minutes): its holder
        // signs out with the bearer alone, answered like any logout.
        Err(Error::Validation(_)) if req.headers().contains_key("authorization") => {}
        Err(e) => return Err(e),
    }
    Ok(success(
        200,
        &Message {
            message: "Logged out",
        },
    ))
}

/// ISO 8601 (RFC 3339, UTC): what Flashback's `SessionItem` types carry.
fn iso8601(seconds: i64) -> Result<String> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or_else(|| Error::Internal("timestamp out of range".into()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionItem<'a> {
    id: &'a str,
    ip_address: Option<&'a str>,
    started_at: String,
    last_activity: String,
    expires_at: String,
    login_method: &'a str,
    device_info: Option<&'a serde_json::Value>,
    current: bool,
}

impl<'a> SessionItem<'a> {
    fn of(entry: &'a SessionEntry) -> Result<Self> {
        let s = &entry.session;
        Ok(SessionItem {
            id: &s.id,
            ip_address: s.ip_address.as_deref(),
            started_at: iso8601(s.created_at)?,
            last_activity: iso8601(s.last_activity())?,
            expires_at: iso8601(s.expires_at)?,
            // Records written before Flashback's words said `password`.
            login_method: match s.login_method.as_str() {
                "password" => LOGIN_METHOD_PASSWORD,
                other => other,
            },
            device_info: s.device_info.as_ref(),
            current: entry.current,
        })
    }
}

pub(crate) async fn get_sessions(app: &App, req: &Request) -> Result<Response<Body>> {
    let listed = sessions::list(app, AuthUser::from_request(app, req).await?.claims).await?;
    let sessions = listed
        .iter()
        .map(SessionItem::of)
        .collect::<Result<Vec<_>>>()?;
    // GET /token, Flashback's older path, answers the items under `tokens`
    // (what its `getTokens` reads); GET /sessions under `sessions`.
    let older_path = req.uri().path().trim_end_matches('/').ends_with("/token");
    let key = if older_path { "tokens" } else { "sessions" };
    Ok(with_cache_control(
        success(200, &json!({ key: sessions })),
        "no-store",
    ))
}

/// The session id in the path: `{id}` on `/sessions/{id}/revoke`,
/// `{tokenId}` on `/token/{tokenId}`.
fn path_session_id(req: &Request) -> Result<String> {
    let params = req.path_parameters_ref();
    ["id", "tokenId"]
        .into_iter()
        .find_map(|name| params.and_then(|p| p.first(name)))
        .map(str::to_owned)
        .ok_or(Error::SessionNotFound)
}

pub(crate) async fn post_revoke(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = AuthUser::from_request(app, req).await?.claims;
    sessions::revoke(app, claims, &path_session_id(req)?).await?;
    Ok(success(
        200,
        &Message {
            message: "Session revoked",
        },
    ))
}

#[derive(Serialize)]
struct RevokedAll {
    message: &'static str,
    revoked: usize,
}

pub(crate) async fn post_revoke_all(app: &App, req: &Request) -> Result<Response<Body>> {
    let revoked = sessions::revoke_all(app, AuthUser::from_request(app, req).await?.claims).await?;
    Ok(success(
        200,
        &RevokedAll {
            message: "All sessions revoked",
            revoked,
        },
    ))
}
