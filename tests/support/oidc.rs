//! A local OpenID provider for the social sign-in tests: its own RSA keys,
//! a discovery document and a JWKS on loopback HTTP, started by the test.
//! It plays Google (issuer `…/google`) or Microsoft (configured issuer
//! `…/common/v2.0`, whose discovery names `…/{tenantid}/v2.0` as Microsoft's
//! multi-tenant document does), with token endpoints for the code flow, and
//! GitHub (`…/github`, its API at `…/github-api`: tests/support/github.rs).
//! It can be slowed down, and counts the key reads it served.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use accounts::auth::keys::{Jwk, SigningAlgorithm};
use jsonwebtoken::{Algorithm, Header, encode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{TestApp, test_config};

pub const CLIENT_ID: &str = "flashback-test-client";
pub const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// The client secret the fake's token endpoints want.
pub const CLIENT_SECRET: &str = "test-client-secret";
/// The redirect URI the code flow of `provider` (`google`, `microsoft`)
/// must name: the service's default with the default `APP_URL`.
pub fn redirect_uri(provider: &str) -> String {
    format!("http://localhost:5173/auth/{provider}/callback")
}

/// The provider's published key, and another it never publishes; made once
/// per test process (RSA keys take a while).
fn keys() -> &'static (Jwk, Jwk) {
    static KEYS: OnceLock<(Jwk, Jwk)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            Jwk::generate(SigningAlgorithm::Rs256, "provider-key-1", 0).expect("key"),
            Jwk::generate(SigningAlgorithm::Rs256, "unpublished-key", 0).expect("key"),
        )
    })
}

#[derive(Default)]
pub(crate) struct State {
    /// Answers only after [`SLOW`].
    slow: AtomicBool,
    /// Every answer waits this long first (milliseconds).
    delay_ms: AtomicU64,
    jwks_reads: AtomicUsize,
    /// Single-use codes of the OpenID token endpoints, and their ID tokens.
    codes: Mutex<HashMap<String, String>>,
    pub(crate) github: super::github::GithubState,
}

pub struct FakeProvider {
    pub base: String,
    state: Arc<State>,
    /// None: a view of a running provider (its own answers mint with it).
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// How long a slowed provider waits before it answers: beyond the tests'
/// `PROVIDER_TIMEOUT_MS`.
pub const SLOW: Duration = Duration::from_secs(3);
pub const TEST_TIMEOUT_MS: &str = "500";

impl FakeProvider {
    pub async fn start() -> FakeProvider {
        Self::start_on("127.0.0.1:0").await
    }

    /// On `addr` (the smoke run's fixed port).
    pub async fn start_on(addr: &str) -> FakeProvider {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(State::default());
        let (b, s) = (base.clone(), state.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(answer(stream, b.clone(), s.clone()));
            }
        });
        FakeProvider {
            base,
            state,
            task: Some(task),
        }
    }

    pub fn google_issuer(&self) -> String {
        format!("{}/google", self.base)
    }

    /// What a Microsoft token's `iss` is: the tenant's own.
    pub fn microsoft_tenant_issuer(&self) -> String {
        format!("{}/{TENANT}/v2.0", self.base)
    }

    /// The settings that point both providers here.
    pub fn settings(&self) -> Vec<(String, String)> {
        vec![
            ("GOOGLE_CLIENT_ID".into(), CLIENT_ID.into()),
            ("GOOGLE_ISSUER".into(), self.google_issuer()),
            ("MICROSOFT_CLIENT_ID".into(), CLIENT_ID.into()),
            (
                "MICROSOFT_ISSUER".into(),
                format!("{}/common/v2.0", self.base),
            ),
            ("GOOGLE_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("MICROSOFT_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("GITHUB_CLIENT_ID".into(), CLIENT_ID.into()),
            ("GITHUB_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("GITHUB_URL".into(), format!("{}/github", self.base)),
            ("GITHUB_API_URL".into(), format!("{}/github-api", self.base)),
            ("PROVIDER_TIMEOUT_MS".into(), TEST_TIMEOUT_MS.into()),
        ]
    }

    /// A single-use code that the token endpoints trade for `id_token`.
    pub fn code_for(&self, id_token: &str) -> String {
        let code = format!("4/{}", uuid::Uuid::new_v4().simple());
        self.state
            .codes
            .lock()
            .unwrap()
            .insert(code.clone(), id_token.to_owned());
        code
    }

    pub(crate) fn state(&self) -> &State {
        &self.state
    }

    pub fn set_slow(&self, slow: bool) {
        self.state.slow.store(slow, Ordering::SeqCst);
    }

    /// Each answer comes after `delay` (within one call's deadline, say).
    pub fn set_delay(&self, delay: Duration) {
        self.state
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    pub fn jwks_reads(&self) -> usize {
        self.state.jwks_reads.load(Ordering::SeqCst)
    }

    /// A Google ID token for `sub` and `email`, valid from `now` for an hour;
    /// `overrides` replace or add claims (`null` removes one).
    pub fn google_token(&self, now: i64, sub: &str, email: &str, overrides: Value) -> String {
        let claims = json!({
            "iss": self.google_issuer(), "aud": CLIENT_ID, "sub": sub, "email": email,
            "email_verified": true, "iat": now, "exp": now + 3600,
            "given_name": "Grace", "family_name": "Hopper", "name": "Grace Hopper",
        });
        sign(merge(claims, overrides), &keys().0)
    }

    /// A Microsoft ID token from [`TENANT`], its domain verified (`xms_edov`).
    pub fn microsoft_token(&self, now: i64, sub: &str, email: &str, overrides: Value) -> String {
        let claims = json!({
            "iss": self.microsoft_tenant_issuer(), "aud": CLIENT_ID, "sub": sub, "email": email,
            "tid": TENANT, "xms_edov": true, "iat": now, "exp": now + 3600, "name": "Alan Turing",
        });
        sign(merge(claims, overrides), &keys().0)
    }

    /// The same claims signed by a key the provider does not publish.
    pub fn google_token_other_key(&self, now: i64, sub: &str, email: &str) -> String {
        let claims = json!({
            "iss": self.google_issuer(), "aud": CLIENT_ID, "sub": sub, "email": email,
            "email_verified": true, "iat": now, "exp": now + 3600,
        });
        sign(claims, &keys().1)
    }
}

fn merge(mut claims: Value, overrides: Value) -> Value {
    if let (Some(c), Value::Object(o)) = (claims.as_object_mut(), overrides) {
        for (k, v) in o {
            if v.is_null() {
                c.remove(&k);
            } else {
                c.insert(k, v);
            }
        }
    }
    claims
}

fn sign(claims: Value, key: &Jwk) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    encode(&header, &claims, &key.encoding_key().expect("key")).expect("sign")
}

/// An unsigned token (`alg: none`) with the given claims.
pub fn unsigned_token(claims: &Value) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": "provider-key-1"})),
        b64(claims)
    )
}

/// The test app `t`'s store and clock, with these provider settings.
pub fn app_with(t: &TestApp, settings: &[(String, String)]) -> TestApp {
    let pairs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    t.sharing_store(test_config(&pairs))
}

/// `settings` with `name` set to `value`.
pub fn setting(
    mut settings: Vec<(String, String)>,
    name: &str,
    value: &str,
) -> Vec<(String, String)> {
    settings.retain(|(k, _)| k != name);
    settings.push((name.into(), value.into()));
    settings
}

/// A fake provider and `t`'s store with every provider pointed at it.
pub async fn started(t: &TestApp) -> (FakeProvider, TestApp) {
    let p = FakeProvider::start().await;
    let app = app_with(t, &p.settings());
    (p, app)
}

/// Nothing of `email` or of the subject reached the store.
pub async fn assert_nothing_written(t: &TestApp, email: &str, provider: &str, sub: &str) {
    assert!(
        t.store.user_by_email(email).await.unwrap().is_none(),
        "no account for {email}"
    );
    assert!(
        t.store.identity(provider, sub).await.unwrap().is_none(),
        "no identity for {sub}"
    );
}

/// An address where nothing listens: a provider that is down.
pub async fn refused_base() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// A request as the fake reads it.
pub(crate) struct Received {
    pub method: String,
    pub path: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The form-encoded body's fields, if the request says it is one.
    pub fn form(&self) -> Option<HashMap<String, String>> {
        let form = self
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        form.then(|| form_urlencoded::parse(&self.body).into_owned().collect())
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut read = 0;
    let head_end = loop {
        if let Some(at) = buf[..read].windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if read == buf.len() {
            return None;
        }
        match stream.read(&mut buf[read..]).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => read += n,
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split_whitespace();
    let (method, path) = (start.next()?.to_owned(), start.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..read].to_vec();
    while body.len() < length {
        let mut more = vec![0u8; length - body.len()];
        match stream.read(&mut more).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&more[..n]),
        }
    }
    Some(Received {
        method,
        path,
        headers,
        body,
    })
}

/// What the fake answers: a status, a content type and a body.
pub(crate) type Answer = (u16, &'static str, String);

pub(crate) fn json_answer(status: u16, body: Value) -> Answer {
    (status, "application/json", body.to_string())
}

/// The OpenID token endpoint: our client, its secret, the redirect URI and
/// a code it issued (once), or OAuth's errors.
fn token_endpoint(req: &Received, state: &State, provider: &str) -> Answer {
    let Some(form) = req.form().filter(|_| req.method == "POST") else {
        return json_answer(400, json!({"error": "invalid_request"}));
    };
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("client_id") != Some(CLIENT_ID) || field("client_secret") != Some(CLIENT_SECRET) {
        return json_answer(401, json!({"error": "invalid_client"}));
    }
    if field("grant_type") != Some("authorization_code")
        || field("redirect_uri") != Some(redirect_uri(provider).as_str())
    {
        return json_answer(400, json!({"error": "invalid_request"}));
    }
    let id_token = field("code").and_then(|code| state.codes.lock().unwrap().remove(code));
    match id_token {
        Some(id_token) => json_answer(
            200,
            json!({"access_token": "ya29.fake", "token_type": "Bearer", "expires_in": 3599,
                   "scope": "openid email profile", "id_token": id_token}),
        ),
        None => json_answer(400, json!({"error": "invalid_grant"})),
    }
}

async fn answer(mut stream: TcpStream, base: String, state: Arc<State>) {
    let Some(req) = read_request(&mut stream).await else {
        return;
    };
    if state.slow.load(Ordering::SeqCst) {
        tokio::time::sleep(SLOW).await;
    }
    let delay = state.delay_ms.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let path = req.path.split('?').next().unwrap_or("/").to_owned();
    let (status, content_type, body) = match path.as_str() {
        "/google/.well-known/openid-configuration" => json_answer(
            200,
            json!({"issuer": format!("{base}/google"), "jwks_uri": format!("{base}/jwks"),
                   "token_endpoint": format!("{base}/google/token")}),
        ),
        "/common/v2.0/.well-known/openid-configuration" => json_answer(
            200,
            json!({
                "issuer": format!("{base}/{{tenantid}}/v2.0"),
                "jwks_uri": format!("{base}/jwks"),
                "token_endpoint": format!("{base}/common/oauth2/v2.0/token"),
            }),
        ),
        "/jwks" => {
            state.jwks_reads.fetch_add(1, Ordering::SeqCst);
            json_answer(200, json!({"keys": [keys().0.public()]}))
        }
        "/google/token" => token_endpoint(&req, &state, "google"),
        "/common/oauth2/v2.0/token" => token_endpoint(&req, &state, "microsoft"),
        mint if mint.starts_with("/mint/") => {
            let view = FakeProvider {
                base: base.clone(),
                state: state.clone(),
                task: None,
            };
            super::mint::answer(&req.path, &view)
        }
        other => match super::github::answer(other, &req, &state.github) {
            Some(answer) => answer,
            None => (404, "text/plain", String::new()),
        },
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
}
