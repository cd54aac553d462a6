//! Health: whether the store answers, for load balancers and alarms.

use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::App;
use crate::error::{Error, Result};
use crate::http::response::{failure_with, success, with_cache_control};
use crate::service::health;

pub(crate) async fn get_health(app: &App, _req: &Request) -> Result<Response<Body>> {
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
