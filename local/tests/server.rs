//! `accounts-local` as a process: it serves over HTTP, keeps its data and
//! signing key across a restart, and keeps nothing with `--memory`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(args: &[&str]) -> Server {
    start_at(&format!("127.0.0.1:{}", free_port()), args)
}

/// Its address is its issuer (`http://ADDR`), so a restart that keeps
/// tokens valid keeps the address.
fn start_at(addr: &str, args: &[&str]) -> Server {
    let addr = addr.to_owned();
    let child = Command::new(env!("CARGO_BIN_EXE_accounts-local"))
        .args(["--addr", &addr])
        .args(args)
        .env_remove("JWT_KEYS_FILE")
        .env_remove("JWT_PRIVATE_KEYS_SECRET")
        .env_remove("JWT_PUBLIC_KEYS_SECRET")
        .env_remove("JWT_ISSUER")
        .env_remove("TABLE_NAME")
        .env_remove("ACCOUNTS_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("accounts-local starts");
    // Dropped (killed and reaped) on every path from here.
    let mut server = Server { child, addr };
    // It says where it listens once it does.
    let mut stderr = BufReader::new(server.child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("accounts-local exited before listening");
        }
        if line.contains("listening on") {
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return server;
        }
    }
    panic!("accounts-local did not listen within 30 s");
}

/// One HTTP/1.1 request; the status and the JSON body.
fn request(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-type: application/json\r\n{auth}content-length: {}\r\n\r\n{body}",
        server.addr,
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
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
