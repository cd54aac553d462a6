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
            // No body at all is no JSON document.
            t.send(raw(path, Some("application/json"), Body::Empty)).await
                .assert_error(400, "INVALID_JSON");
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
            (t.login("ada@acme.com", secret).await, 401, "INVALID_CREDENTIALS"),
            (t.post("/user/login", json!({"email": "ada@acme.com", "password": secret, "deviceInfo": 7})).await,
             400, "VALIDATION_ERROR"),
            (t.post("/user/register", json!({"email": "x@acme.com", "password": secret})).await,
             400, "VALIDATION_ERROR"),
            (t.refresh(&format!("{}{secret}", signed_in.str("refreshToken"))).await, 401, "INVALID_REFRESH_TOKEN"),
        ];
        for (reply, status, code) in replies {
            reply.assert_error(status, code);
            let text = reply.body.to_string();
            assert!(!text.contains(secret), "{text}");
            assert!(!text.contains("$argon2"), "{text}");
            assert!(!text.contains(&signed_in.str("refreshToken")), "{text}");
        }
        // Nothing was written by the refused requests: one failure counted
        // (the wrong password), no account for the half registration, and
        // register's session still the one that works.
        assert_eq!(t.store.login_throttle("ada@acme.com").await.unwrap().unwrap().failures, 1);
        assert!(t.store.user_by_email("x@acme.com").await.unwrap().is_none());
        assert_eq!(t.refresh(&signed_in.str("refreshToken")).await.status, 200);
    }
}

/// `{"n": {"n": … {"leaf": true}}}`, `depth` objects deep.
fn nested(depth: usize) -> serde_json::Value {
    (1..depth).fold(json!({"leaf": true}), |inner, _| json!({"n": inner}))
}

// Inputs DynamoDB would refuse (a key over 2048 bytes, maps nested past 32
// levels, numbers out of its range, ...) are 400s on both stores, before
// anything is written: on DynamoDB they were 500s, after the password was
// checked.
on_both_stores! {
    async fn device_info_a_store_cannot_keep_is_a_validation_error(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let many_keys: serde_json::Map<String, serde_json::Value> =
            (0..101).map(|i| (format!("k{i}"), json!(i))).collect();
        let bad_device_infos = [
            nested(40),
            nested(9),
            json!({"n": 1e300}),
            json!({"n": -1e300}),
            json!({"n": 1e-300}),
            json!({"screen": {"ratio": 1e126}}),
            json!({"": "empty key"}),
            json!({"os": {"": 1}}),
            json!({"k".repeat(129): 1}),
            serde_json::Value::Object(many_keys),
            json!({"list": vec![1; 101]}),
            json!({"userAgent": "x".repeat(5000)}),
        ];
        for device_info in bad_device_infos {
            let reply = t.post("/user/login", json!({
                "email": "ada@acme.com", "password": PASSWORD, "deviceInfo": device_info
            })).await;
            reply.assert_error(400, "VALIDATION_ERROR");
            assert!(reply.str("message").starts_with("deviceInfo "), "{}", reply.body);
        }
        // Nothing was written: no failure counted, no session but register's.
        assert!(t.store.login_throttle("ada@acme.com").await.unwrap().is_none());
        assert_eq!(t.store.unrevoked_session_ids(&ada.id).await.unwrap().len(), 1);
        // "big" (2^100) stays within 38 digits written out, exactly: moto's
        // index reads (a sign-in counts the user's sessions through the
        // index) run every item through boto3's 38-digit decimals, failing
        // on the 126-digit rendering of 9.9e125 and rounding 9.9e37, both
        // of which DynamoDB itself stores as sent.
        let ordinary = json!({
            "userAgent": "Mozilla/5.0", "os": "linux", "blank": "",
            "screen": {"w": 1920, "ratio": 1.5, "tiny": 1e-100, "big": 1.2676506002282294e30},
            "deep": nested(7), "tags": ["a", null, false, -1]
        });
        let reply = t.post("/user/login", json!({
            "email": "ada@acme.com", "password": PASSWORD, "deviceInfo": ordinary
        })).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let session = t.store.session(&reply.str("tokenId")).await.unwrap().expect("session");
        assert_eq!(session.device_info, Some(ordinary));
    }

    async fn a_login_email_too_long_to_be_a_key_is_a_validation_error(t: TestApp) {
        t.register("ada@acme.com").await;
        let just_over = format!("{}@acme.com", "a".repeat(254 - 8));
        for email in [just_over.clone(), format!("{}@acme.com", "a".repeat(3000)), "é".repeat(1500)] {
            let reply = t.login(&email, PASSWORD).await;
            reply.assert_error(400, "VALIDATION_ERROR");
            assert_eq!(reply.str("message"), "email must be at most 254 characters");
        }
        assert!(t.store.login_throttle(&just_over).await.unwrap().is_none());
        // 254 characters is an address like any other: unknown, so a counted failure.
        let longest = format!("{}@acme.com", "a".repeat(254 - 9));
        t.login(&longest, PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        assert_eq!(t.store.login_throttle(&longest).await.unwrap().unwrap().failures, 1);
    }

    async fn oversized_registration_fields_write_nothing(t: TestApp) {
        let huge = "x".repeat(3000);
        let fields = [
            "firstName", "lastName", "companyName", "companyWebsite", "phone", "address1",
            "address2", "city", "state", "zipcode", "country", "website",
        ];
        for field in fields {
            let mut body = registration("ada@acme.com");
            body[field] = json!(huge);
            let reply = t.post("/user/register", body).await;
            reply.assert_error(400, "VALIDATION_ERROR");
            assert!(reply.str("message").starts_with(field), "{field}: {}", reply.body);
        }
        let long_email = format!("{}@acme.com", "a".repeat(3000));
        let reply = t.post("/user/register", registration(&long_email)).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert!(reply.str("message").starts_with("email"), "{}", reply.body);
        assert!(t.store.user_by_email("ada@acme.com").await.unwrap().is_none());
    }

    async fn oversized_member_and_user_fields_write_nothing(t: TestApp) {
        let owner = t.owner("ada@acme.com").await;
        let huge = "x".repeat(3000);
        let member = json!({"email": "grace@acme.com", "password": PASSWORD,
                            "firstName": "Grace", "lastName": "Hopper"});
        for (field, value) in [
            ("email", format!("{huge}@acme.com")),
            ("firstName", huge.clone()),
            ("lastName", huge.clone()),
        ] {
            let mut body = member.clone();
            body[field] = json!(value);
            let reply = t.call("POST", "/organization/users", Some(body), Some(&owner.access_token)).await;
            reply.assert_error(400, "VALIDATION_ERROR");
            assert!(reply.str("message").starts_with(field), "{field}: {}", reply.body);
        }
        assert_eq!(t.store.members(&owner.org_id).await.unwrap().len(), 1);
        for field in ["name", "lastName"] {
            let reply = t.put(&format!("/user/{}", owner.id), json!({ field: huge }), &owner.access_token).await;
            reply.assert_error(400, "VALIDATION_ERROR");
            assert!(reply.str("message").starts_with(field), "{field}: {}", reply.body);
        }
        let stored = t.store.user(&owner.id).await.unwrap().unwrap();
        assert_eq!((stored.name.as_str(), stored.last_name.as_str(), stored.version), ("Ada", "Lovelace", 1));
    }
}
