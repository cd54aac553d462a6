//! The JSON envelope: `{"success": true, …}` or
//! `{"success": false, "error_code": …, "message": …}`.

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::Error;

fn json_response(status: u16, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `body`'s fields, next to `"success": true`.
pub fn success<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    let mut value = serde_json::to_value(body).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut value {
        map.insert("success".into(), Value::Bool(true));
    }
    json_response(status, &value)
}

pub fn failure(error: &Error) -> Response<Body> {
    failure_with(error, serde_json::Map::new())
}

/// [`failure`] with more fields beside the code and the message (what
/// failed, for a health check).
pub fn failure_with(error: &Error, extra: serde_json::Map<String, Value>) -> Response<Body> {
    let mut body = json!({
        "success": false,
        "error_code": error.code(),
        "message": error.to_string(),
    });
    if let Value::Object(map) = &mut body {
        map.extend(extra);
    }
    let mut response = json_response(error.status(), &body);
    if let Some(seconds) = error.retry_after() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

pub fn with_cache_control(mut response: Response<Body>, policy: &'static str) -> Response<Body> {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}
