//! Handlers of the account lifecycle: signing out, sessions, leaving, health.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::handlers::{Message, claims, refresh_token_of};
use super::response::{failure_with, success, with_cache_control};
use crate::App;
use crate::error::{Error, Result};
use crate::service::sessions::SessionEntry;
use crate::service::{health, sessions, status};

pub(super) async fn post_logout(app: &App, req: &Request) -> Result<Response<Body>> {
    let token = refresh_token_of(app, req)?;
    sessions::logout(app, &token).await?;
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
            login_method: &s.login_method,
            device_info: s.device_info.as_ref(),
            current: entry.current,
        })
    }
}

#[derive(Serialize)]
struct SessionList<'a> {
    sessions: Vec<SessionItem<'a>>,
}

pub(super) async fn get_sessions(app: &App, req: &Request) -> Result<Response<Body>> {
    let listed = sessions::list(app, claims(app, req).await?).await?;
    let sessions = listed
        .iter()
        .map(SessionItem::of)
        .collect::<Result<Vec<_>>>()?;
    Ok(with_cache_control(
        success(200, &SessionList { sessions }),
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

pub(super) async fn post_session_revoke(app: &App, req: &Request) -> Result<Response<Body>> {
    let claims = claims(app, req).await?;
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

pub(super) async fn post_sessions_revoke_all(app: &App, req: &Request) -> Result<Response<Body>> {
    let revoked = sessions::revoke_all(app, claims(app, req).await?).await?;
    Ok(success(
        200,
        &RevokedAll {
            message: "All sessions revoked",
            revoked,
        },
    ))
}

pub(super) async fn post_deactivate(app: &App, req: &Request) -> Result<Response<Body>> {
    status::deactivate_self(app, claims(app, req).await?).await?;
    Ok(success(
        200,
        &Message {
            message: "Account deactivated",
        },
    ))
}

pub(super) async fn get_health(app: &App) -> Result<Response<Body>> {
    let health = health::check(app).await;
    let store = if health.store_ok { "ok" } else { "failing" };
    let response = if health.ok() {
        success(200, &json!({"status": "ok", "checks": {"store": store}}))
    } else {
        let mut failing = serde_json::Map::new();
        failing.insert("status".into(), json!("unavailable"));
        failing.insert("checks".into(), json!({"store": store}));
        failure_with(
            &Error::Unavailable {
                retry_after_seconds: 5,
            },
            failing,
        )
    };
    Ok(with_cache_control(response, "no-store"))
}
