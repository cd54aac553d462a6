//! The answer to a request that no route takes: what API Gateway's
//! `$default` route (function `default-route`) sends, so that an unknown
//! path or a wrong method gets the envelope, as from `accounts-local`,
//! rather than API Gateway's bare `{"message":"Not Found"}`. It needs no
//! store and no keys.

use std::time::Instant;

use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, Response};

use super::{request_id, response, route_request};
use crate::error::Error;

/// Why `method` on `path` is served by no route: 405 where the path is a
/// route's with another method, else 404.
pub fn unmatched_error(method: &Method, path: &str) -> Error {
    match route_request(method, path) {
        Err(error) => error,
        // API Gateway found no route although the code's router, which is
        // more lenient (it ignores a trailing slash), does: not a route.
        Ok(_) => Error::NotFound,
    }
}

/// A browser's CORS preflight: OPTIONS naming the method it wants to send.
fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key("origin")
        && req.headers().contains_key("access-control-request-method")
}

/// Serves one unmatched request: the envelope of [`unmatched_error`] and
/// one log line (request id, method, status, error code; not the path,
/// which the access log has and which may carry anything).
pub async fn serve_unmatched(req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let started = Instant::now();
    let request_id = request_id(&req);
    // API Gateway answers preflights itself when CORS is configured, but
    // `$default` also catches OPTIONS: should one reach this function, a
    // 204 lets the gateway add the configured CORS headers (it adds them to
    // integration responses), where a 404 would block the browser's call.
    let (mut response, error) = if is_preflight(&req) {
        let mut empty = Response::new(Body::Empty);
        *empty.status_mut() = lambda_http::http::StatusCode::NO_CONTENT;
        (empty, None)
    } else {
        let error = unmatched_error(req.method(), req.uri().path());
        (response::failure(&error), Some(error))
    };
    tracing::info!(
        %request_id,
        method = %req.method(),
        route = "$default",
        status = response.status().as_u16(),
        error_code = error.as_ref().map(Error::code),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, headers: &[(&str, &str)]) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri("/user/login");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[tokio::test]
    async fn a_preflight_is_204_and_any_other_options_405() {
        let preflight = request(
            Method::OPTIONS,
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "POST"),
            ],
        );
        let response = serve_unmatched(preflight).await.unwrap();
        assert_eq!(response.status(), 204);
        assert!(matches!(response.body(), Body::Empty));
        let bare = request(Method::OPTIONS, &[("origin", "https://app.example.com")]);
        assert_eq!(serve_unmatched(bare).await.unwrap().status(), 405);
    }

    #[test]
    fn unmatched_requests_are_404_or_405() {
        let cases = [
            (Method::DELETE, "/user/login", "METHOD_NOT_ALLOWED"),
            (Method::POST, "/user/abc", "METHOD_NOT_ALLOWED"),
            (Method::GET, "/nope", "NOT_FOUND"),
            (Method::GET, "/user/abc/role/extra", "NOT_FOUND"),
            // A route of the code that API Gateway did not match.
            (Method::POST, "/user/login", "NOT_FOUND"),
        ];
        for (method, path, code) in cases {
            assert_eq!(
                unmatched_error(&method, path).code(),
                code,
                "{method} {path}"
            );
        }
    }
}
