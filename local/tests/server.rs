//! `accounts-local` as a process: it serves over HTTP, keeps its data and
//! signing key across a restart, keeps nothing with `--memory`, answers
//! CORS as API Gateway does (the browser's side: browser.rs), and serves
//! from a DynamoDB table with `--dynamodb-table` (on the server at
//! `ACCOUNTS_TEST_DYNAMODB_ENDPOINT`, which scripts/test.sh starts).

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{Server, exchange, start, start_at, start_with_env};

/// One request; the status and the JSON body.
fn request(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| ("authorization", a))
        .into_iter()
        .collect();
    let reply = exchange(server, method, path, &headers, body.as_ref());
    (reply.status, reply.body)
}

fn register(server: &Server) -> Value {
    let (status, body) = request(
        server,
        "POST",
        "/user/register",
        Some(
            json!({"email": "ada@acme.com", "password": "Secure-pass-123", "firstName": "Ada",
                    "lastName": "Lovelace", "companyName": "Acme", "isBusiness": true}),
        ),
        None,
    );
    assert_eq!(status, 201, "{body}");
    body
}

fn login(server: &Server) -> (u16, Value) {
    request(
        server,
        "POST",
        "/user/login",
        Some(json!({"email": "ada@acme.com", "password": "Secure-pass-123"})),
        None,
    )
}

#[test]
fn data_and_tokens_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("accounts-local-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.to_str().unwrap();

    let server = start(&["--data", data]);
    let registered = register(&server);
    let (status, body) = login(&server);
    assert_eq!(status, 200, "{body}");
    let refresh_token = body["refreshToken"].as_str().unwrap().to_owned();
    let (status, body) = request(
        &server,
        "POST",
        "/user/refresh",
        Some(json!({"refresh_token": refresh_token})),
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["refreshToken"].as_str().unwrap(), refresh_token);
    let addr = server.addr.clone();
    drop(server);

    assert_key_is_private(&dir.join("jwt-keys.json"));
    let server = start_at(&addr, &["--data", data]);
    let (status, body) = login(&server);
    assert_eq!(status, 200, "the same login works after a restart: {body}");
    // A token issued before the restart is still valid: the key was kept.
    let old_token = registered["accessToken"].as_str().unwrap();
    let (status, body) = request(&server, "GET", "/user/profile", None, Some(old_token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["email"], "ada@acme.com");
    // The published keys verify the token (its kid is among them) and the
    // issuer is the server's own URL.
    let (status, jwks) = request(&server, "GET", "/.well-known/jwks.json", None, None);
    assert_eq!(status, 200, "{jwks}");
    let kid = token_kid(old_token);
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid),
        "{jwks}"
    );
    assert!(
        jwks.to_string().find("\"d\"").is_none(),
        "no private member"
    );
    let (status, discovery) = request(
        &server,
        "GET",
        "/.well-known/openid-configuration",
        None,
        None,
    );
    assert_eq!(status, 200, "{discovery}");
    assert_eq!(discovery["issuer"], format!("http://{}", server.addr));
    assert_eq!(
        discovery["jwks_uri"],
        format!("http://{}/.well-known/jwks.json", server.addr)
    );
    let (status, body) = request(&server, "GET", "/no/such/route", None, None);
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `kid` of a JWT's header.
fn token_kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[cfg(unix)]
fn assert_key_is_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .expect("key file kept")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[cfg(not(unix))]
fn assert_key_is_private(path: &Path) {
    assert!(path.exists());
}

#[test]
fn memory_mode_keeps_nothing() {
    let server = start(&["--memory"]);
    register(&server);
    assert_eq!(login(&server).0, 200);
    drop(server);
    let server = start(&["--memory"]);
    assert_eq!(login(&server).0, 401);
}

#[test]
fn oversized_bodies_are_refused_without_reading_them_all() {
    let server = start(&["--memory"]);
    let big = json!({"email": "x".repeat(64 * 1024)});
    let (status, body) = request(&server, "POST", "/user/login", Some(big), None);
    assert_eq!(
        (status, body["error_code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
}

const PAGE: &str = "http://localhost:5173";

fn preflight(server: &Server, origin: &str, method: &str, path: &str) -> support::Reply {
    exchange(
        server,
        "OPTIONS",
        path,
        &[
            ("origin", origin),
            ("access-control-request-method", method),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
        ],
        None,
    )
}

#[test]
fn preflights_are_answered_without_reaching_a_handler() {
    // The default origins include the Vite dev server's.
    let server = start(&["--memory"]);
    for (method, path) in [
        ("POST", "/user/login"),
        ("PUT", "/user/some-id"),
        ("DELETE", "/no/such/route"),
    ] {
        let reply = preflight(&server, PAGE, method, path);
        assert_eq!(reply.status, 204, "{method} {path}");
        assert_eq!(reply.header("access-control-allow-origin"), Some(PAGE));
        assert_eq!(
            reply.header("access-control-allow-methods"),
            Some("GET,POST,PUT,DELETE")
        );
        assert_eq!(
            reply.header("access-control-allow-headers"),
            Some("authorization,content-type")
        );
        assert_eq!(reply.header("access-control-max-age"), Some("600"));
        assert_eq!(reply.header("access-control-allow-credentials"), None);
        assert_eq!(reply.header("vary"), Some("Origin"));
        // Every handler's answer carries a request id and a JSON body.
        assert_eq!(reply.header("x-request-id"), None, "{method} {path}");
        assert_eq!(reply.body, Value::Null);
    }

    // Another origin: no CORS header at all, never a wildcard.
    for origin in ["http://localhost:5174", "https://localhost:5173", "null"] {
        let reply = preflight(&server, origin, "POST", "/user/login");
        assert_eq!(reply.status, 204, "{origin}");
        assert_eq!(
            reply.header_names("access-control-"),
            Vec::<&str>::new(),
            "{origin}"
        );
    }

    // An OPTIONS that is no preflight is routed like any other method.
    let reply = exchange(&server, "OPTIONS", "/user/login", &[("origin", PAGE)], None);
    assert_eq!(
        (reply.status, reply.body["error_code"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
}

#[test]
fn answers_to_an_allowed_origin_share_the_exposed_headers() {
    let server = start(&[
        "--memory",
        "--cors-allowed-origins",
        "http://127.0.0.1:8080",
    ]);
    let origin = [("origin", "http://127.0.0.1:8080")];
    let body = json!({"email": "nobody@acme.com", "password": "Wrong-pass-123"});
    let reply = exchange(&server, "POST", "/user/login", &origin, Some(&body));
    assert_eq!(
        (reply.status, reply.body["error_code"].as_str()),
        (401, Some("INVALID_CREDENTIALS"))
    );
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://127.0.0.1:8080")
    );
    assert_eq!(
        reply.header("access-control-expose-headers"),
        Some("retry-after,x-request-id")
    );
    assert_eq!(reply.header("vary"), Some("Origin"));
    assert!(reply.header("x-request-id").is_some());

    // The default origins are replaced, not added to.
    let reply = exchange(&server, "GET", "/user/profile", &[("origin", PAGE)], None);
    assert_eq!(reply.status, 401);
    assert_eq!(reply.header_names("access-control-"), Vec::<&str>::new());
    assert_eq!(reply.header("vary"), Some("Origin"));
    let reply = preflight(&server, PAGE, "GET", "/user/profile");
    assert_eq!(reply.header_names("access-control-"), Vec::<&str>::new());
}

#[test]
fn no_origins_turn_cors_off() {
    let server = start(&["--memory", "--cors-allowed-origins", ""]);
    // The preflight falls to the unmatched route, as on AWS without CORS
    // (`$default` answers it 204), and carries no CORS header: the browser
    // refuses the call.
    let reply = preflight(&server, PAGE, "POST", "/user/login");
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header_names("access-control-"), Vec::<&str>::new());
    // Any other OPTIONS is still a wrong method.
    let reply = exchange(&server, "OPTIONS", "/user/login", &[("origin", PAGE)], None);
    assert_eq!(
        (reply.status, reply.body["error_code"].as_str()),
        (405, Some("METHOD_NOT_ALLOWED"))
    );
}

#[test]
fn a_bad_origin_setting_stops_the_server() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_accounts-local"))
        .args([
            "--memory",
            "--cors-allowed-origins",
            "http://localhost:5173/",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no path"), "{stderr}");
}

#[test]
fn serves_from_a_dynamodb_table() {
    // Fails loudly without a DynamoDB-compatible server.
    let endpoint = accounts_tests::dynamodb_endpoint();
    let client = accounts_tests::dynamodb_client(&endpoint);
    let table = format!("accounts-local-test-{}", std::process::id());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(accounts::store::dynamo::create_table(&client, &table))
        .expect("create table");
    let env = [
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];

    let server = start_with_env(&["--dynamodb-table", &table], &env);
    let registered = register(&server);
    let (status, body) = login(&server);
    assert_eq!(status, 200, "{body}");
    let token = body["accessToken"].as_str().unwrap().to_owned();
    let (status, body) = request(&server, "GET", "/user/profile", None, Some(&token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["email"], "ada@acme.com");
    assert_eq!(body["data"]["id"], registered["user"]["id"]);
    drop(server);

    // The account is in the table, not in the process.
    let store = accounts::store::dynamo::DynamoStore::new(client, table.clone());
    let user = runtime
        .block_on(accounts::store::UserStore::user_by_email(
            &store,
            "ada@acme.com",
        ))
        .unwrap()
        .expect("the user is in the DynamoDB table");
    assert_eq!(json!(user.id), registered["user"]["id"]);
    // A new process (with a new throwaway signing key) signs in from the table.
    let server = start_with_env(&["--dynamodb-table", &table], &env);
    let (status, body) = login(&server);
    assert_eq!(status, 200, "{body}");
    let token = body["accessToken"].as_str().unwrap();
    let (status, body) = request(&server, "GET", "/user/profile", None, Some(token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["id"], registered["user"]["id"]);
    // A DynamoDB refusal is a 400 through the real server too.
    let (status, body) = request(
        &server,
        "POST",
        "/user/login",
        Some(
            json!({"email": "ada@acme.com", "password": "Secure-pass-123",
                    "deviceInfo": {"n": 1e300}}),
        ),
        None,
    );
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );
}
