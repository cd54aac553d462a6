//! Bad input is a 4xx with the right code, never a 5xx, and error bodies
//! never carry what the client sent.

use accounts_tests::*;
use lambda_http::Body;
use serde_json::json;

fn raw(path: &str, content_type: Option<&str>, body: Body) -> lambda_http::Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(path);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(body).unwrap()
}

const PUBLIC_ROUTES: [&str; 3] = ["/user/register", "/user/login", "/user/refresh"];

on_both_stores! {
    async fn malformed_json_is_invalid_json(t: TestApp) {
        for path in PUBLIC_ROUTES {
            for text in ["{", "{\"email\": }", "not json", "{\"a\":1} trailing", "\u{0}"] {
                let reply = t.send(raw(path, Some("application/json"), Body::Text(text.into()))).await;
                reply.assert_error(400, "INVALID_JSON");
            }
        }
    }

    async fn the_wrong_shape_is_a_validation_error(t: TestApp) {
        for path in PUBLIC_ROUTES {
            for body in [json!([]), json!(null), json!("text"), json!(42)] {
                let reply = t.post(path, body).await;
                reply.assert_error(400, "VALIDATION_ERROR");
            }
            let reply = t.send(raw(path, Some("application/json"), Body::Empty)).await;
            assert_eq!(reply.status, 400, "{}", reply.body);
        }
        let reply = t.post("/user/login", json!({"email": ["a"], "password": "x"})).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert!(reply.body["message"].as_str().unwrap().contains("email"));
    }

    async fn other_content_types_are_unsupported(t: TestApp) {
        for path in PUBLIC_ROUTES {
            for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
                let reply = t.send(raw(path, ct, Body::Text("{}".into()))).await;
                reply.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
            }
        }
        let reply = t.send(raw("/user/login", Some("application/json; charset=utf-8"),
            Body::Text(json!({"email": "a@b.co", "password": "x"}).to_string()))).await;
        reply.assert_error(401, "INVALID_CREDENTIALS");
    }

    async fn oversized_bodies_are_refused_before_parsing(t: TestApp) {
        let mut body = registration("big@acme.com");
        body["firstName"] = json!("x".repeat(20 * 1024));
        for path in PUBLIC_ROUTES {
            t.post(path, body.clone()).await.assert_error(413, "PAYLOAD_TOO_LARGE");
        }
        assert!(t.store.user_by_email("big@acme.com").await.unwrap().is_none());
    }

    async fn unknown_routes_and_methods(t: TestApp) {
        t.call("GET", "/nope", None, None).await.assert_error(404, "NOT_FOUND");
        t.call("DELETE", "/user/login", None, None).await.assert_error(405, "METHOD_NOT_ALLOWED");
        t.call("DELETE", "/user/register", None, None).await.assert_error(405, "METHOD_NOT_ALLOWED");
    }

    async fn secrets_never_reach_an_error_body(t: TestApp) {
        let secret = "Hunter2-Secret-Value";
        let signed_in = t.register("ada@acme.com").await;
        let replies = [
            t.login("ada@acme.com", secret).await,
            t.post("/user/login", json!({"email": "ada@acme.com", "password": secret, "deviceInfo": 7})).await,
            t.post("/user/register", json!({"email": "x@acme.com", "password": secret})).await,
            t.refresh(&format!("{}{secret}", signed_in.str("refreshToken"))).await,
        ];
        for reply in replies {
            assert!(reply.status >= 400 && reply.status < 500, "{}", reply.body);
            let text = reply.body.to_string();
            assert!(!text.contains(secret), "{text}");
            assert!(!text.contains("$argon2"), "{text}");
            assert!(!text.contains(&signed_in.str("refreshToken")), "{text}");
        }
    }
}
