//! A local OpenID provider for the social sign-in tests: its own RSA keys,
//! a discovery document and a JWKS on loopback HTTP, started by the test.
//! It plays Google (issuer `…/google`) or Microsoft (configured issuer
//! `…/common/v2.0`, whose discovery names `…/{tenantid}/v2.0` as Microsoft's
//! multi-tenant document does). It can be slowed down, and counts the key
//! reads it served.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use accounts::auth::keys::{Jwk, SigningAlgorithm};
use jsonwebtoken::{Algorithm, Header, encode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const CLIENT_ID: &str = "flashback-test-client";
pub const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

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
struct State {
    /// Answers only after this long.
    slow: AtomicBool,
    jwks_reads: AtomicUsize,
}

pub struct FakeProvider {
    pub base: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long a slowed provider waits before it answers: beyond the tests'
/// `PROVIDER_TIMEOUT_MS`.
pub const SLOW: Duration = Duration::from_secs(3);
pub const TEST_TIMEOUT_MS: &str = "500";

impl FakeProvider {
    pub async fn start() -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
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
        FakeProvider { base, state, task }
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
            ("PROVIDER_TIMEOUT_MS".into(), TEST_TIMEOUT_MS.into()),
        ]
    }

    pub fn set_slow(&self, slow: bool) {
        self.state.slow.store(slow, Ordering::SeqCst);
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

/// An address where nothing listens: a provider that is down.
pub async fn refused_base() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

async fn answer(mut stream: TcpStream, base: String, state: Arc<State>) {
    let mut buf = vec![0u8; 8192];
    let mut read = 0;
    while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf[read..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => read += n,
        }
        if read == buf.len() {
            return;
        }
    }
    let request = String::from_utf8_lossy(&buf[..read]);
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
    if state.slow.load(Ordering::SeqCst) {
        tokio::time::sleep(SLOW).await;
    }
    let body = match path.as_str() {
        "/google/.well-known/openid-configuration" => {
            json!({"issuer": format!("{base}/google"), "jwks_uri": format!("{base}/jwks")})
        }
        "/common/v2.0/.well-known/openid-configuration" => json!({
            "issuer": format!("{base}/{{tenantid}}/v2.0"),
            "jwks_uri": format!("{base}/jwks"),
        }),
        "/jwks" => {
            state.jwks_reads.fetch_add(1, Ordering::SeqCst);
            json!({"keys": [keys().0.public()]})
        }
        _ => {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            return;
        }
    };
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
}
