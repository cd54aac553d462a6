//! The test harness: an app on either store, with a clock the test moves,
//! driven through the same HTTP entry point the local server uses.
//!
//! DynamoDB tests need a DynamoDB-compatible server at
//! `ACCOUNTS_TEST_DYNAMODB_ENDPOINT` (scripts/test.sh starts moto_server and
//! sets it). Without one they fail: a skipped store test is not a passed one.

pub mod github;
pub mod mail;
pub mod mfa;
pub mod mint;
pub mod oidc;
pub mod race;
pub mod requests;
pub mod round_trips;
pub mod routes;
pub mod sam;
pub mod timing;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use accounts::App;
use accounts::auth::key_ring::{KeySource, SecretsManagerKeys};
use accounts::auth::keys::{KeySet, SigningAlgorithm};
use accounts::clock::ManualClock;
use accounts::config::{Config, Settings, StoreConfig};
use accounts::http::serve_any;
use accounts::store::Store;
use accounts::store::dynamo::{DynamoStore, create_table};
use accounts::store::embedded::EmbeddedStore;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use lambda_http::http::{HeaderMap, Method};
use lambda_http::{Body, Request};
use serde_json::{Value, json};

pub const ENDPOINT_VAR: &str = "ACCOUNTS_TEST_DYNAMODB_ENDPOINT";
/// The issuer every test deployment signs as.
pub const ISSUER: &str = "https://accounts.test";
/// A fixed start, so that tests read like a timeline.
pub const T0: i64 = 1_800_000_000;
pub const PASSWORD: &str = "Secure-pass-123";
/// The MFA data key of every test app (base64 of 32 bytes), so that apps
/// sharing a store open each other's sealed secrets.
pub const TEST_MFA_KEY: &str = "bWZhLWRhdGEta2V5LW9mLWV2ZXJ5LXRlc3QtYXBwISE=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Dynamo,
}

pub fn dynamodb_endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set: DynamoDB tests need a DynamoDB-compatible server. \
             Run the suite with scripts/test.sh, which starts moto_server."
        )
    })
}

/// A client of the DynamoDB-compatible server at `endpoint`, for tests of
/// what the service does (not of how its client copes with a failing
/// store): its timeouts are sized for moto on a loaded two-core machine,
/// and it never retries. The service's own bounds (2 s an attempt, 4 s a
/// call, 3 attempts) are for DynamoDB, which answers in milliseconds; moto
/// serves one request at a time, takes half a second for a transaction on
/// a table of a hundred accounts when another build shares the machine,
/// and pauses for its garbage collection (scripts/moto_serialized.py). A
/// test that a slow answer fails is a test of the store's timeouts and
/// belongs with [`service_dynamodb_client`]; a retry would hide a request
/// that failed.
pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    use std::time::Duration;
    let loaded_machine = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(60))
        .build();
    client_with(
        endpoint,
        loaded_machine,
        aws_sdk_dynamodb::config::retry::RetryConfig::disabled(),
    )
}

/// A client with the service's own timeouts and retries
/// (`accounts::aws::timeouts`, `retries`): for the tests
/// of how the service copes with a store that is slow, down or throttling.
pub fn service_dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    client_with(
        endpoint,
        accounts::aws::timeouts(),
        accounts::aws::retries(),
    )
}

fn client_with(
    endpoint: &str,
    timeouts: aws_sdk_dynamodb::config::timeout::TimeoutConfig,
    retries: aws_sdk_dynamodb::config::retry::RetryConfig,
) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Secrets Manager as moto serves it (the same server as DynamoDB).
pub fn secrets_manager() -> SecretsManagerKeys {
    SecretsManagerKeys::new(secrets_manager_client())
}

/// The SDK's client of moto's Secrets Manager.
pub fn secrets_manager_client() -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .endpoint_url(dynamodb_endpoint())
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// Every item of a DynamoDB table, read consistently, every page.
pub async fn dynamo_scan(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        items.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    items
}

/// How many items of each kind a DynamoDB table holds, by the kind prefix
/// of their keys (`USER/PROFILE`, `ORG/META`, `SESSION/SESSION`, …).
pub async fn dynamo_census(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for item in dynamo_scan(client, table).await {
        let part = |name: &str| {
            let value = item[name].as_s().expect("string key");
            value.split('#').next().unwrap_or_default().to_owned()
        };
        *counts
            .entry(format!("{}/{}", part("pk"), part("sk")))
            .or_default() += 1;
    }
    counts
}

/// A fresh, empty store of the given kind.
pub async fn fresh_store(backend: Backend) -> Arc<dyn Store> {
    match backend {
        Backend::Embedded => Arc::new(EmbeddedStore::in_memory().expect("in-memory store")),
        Backend::Dynamo => {
            let client = dynamodb_client(&dynamodb_endpoint());
            let table = format!("accounts-test-{}", uuid::Uuid::new_v4().simple());
            create_table(&client, &table).await.expect("create table");
            Arc::new(DynamoStore::new(client, table))
        }
    }
}

/// The key set of every test app in this process (RS256, the default): one,
/// because making RSA keys takes a while, and so that apps sharing a store
/// accept each other's tokens.
pub fn test_keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut set = KeySet::default();
        set.rotate(SigningAlgorithm::Rs256, T0 - 1)
            .expect("test key");
        set
    })
}

/// The settings of a test app: [`test_keys`] unless `overrides` name other
/// keys, and [`ISSUER`].
pub fn test_config(overrides: &[(&str, &str)]) -> Config {
    let mut settings: HashMap<String, String> = HashMap::new();
    settings.insert("JWT_ISSUER".into(), ISSUER.into());
    settings.insert("MFA_KEY".into(), TEST_MFA_KEY.into());
    for (k, v) in overrides {
        settings.insert(k.to_string(), v.to_string());
    }
    let mut config = Config::load_with_store(&Settings::from_map(&settings), StoreConfig::Memory)
        .expect("config");
    if !settings.contains_key("JWT_KEYS_FILE") {
        config.tokens.keys = KeySource::Fixed(test_keys().clone());
    }
    config
}

/// What a request got back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or("")
    }

    /// Asserts an error reply in the contract's shape.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["success"], json!(false), "{}", self.body);
        assert_eq!(self.code(), code, "{}", self.body);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {}", self.body))
            .to_owned()
    }
}

#[derive(Clone)]
pub struct TestApp {
    pub app: Arc<App>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub backend: Backend,
}

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        TestApp::with_config(backend, test_config(&[])).await
    }

    pub async fn with_config(backend: Backend, config: Config) -> TestApp {
        let store = fresh_store(backend).await;
        let clock = Arc::new(ManualClock::new(T0));
        let app = App::new(config, Arc::clone(&store), clock.clone()).expect("app");
        TestApp {
            app: Arc::new(app),
            store,
            clock,
            backend,
        }
    }

    pub async fn send(&self, req: Request) -> Reply {
        let response = serve_any(&self.app, req).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.body() {
            Body::Text(t) => serde_json::from_str(t).expect("JSON body"),
            Body::Binary(b) => serde_json::from_slice(b).expect("JSON body"),
            _ => Value::Null,
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Reply {
        let mut builder = lambda_http::http::Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(b) => {
                builder = builder.header("content-type", "application/json");
                Body::Text(b.to_string())
            }
            None => Body::Empty,
        };
        self.send(builder.body(body).unwrap()).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call("POST", path, Some(body), None).await
    }

    /// Registers `email` with the standard password; asserts the 201.
    pub async fn register(&self, email: &str) -> Reply {
        let reply = self.post("/user/register", registration(email)).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/user/login", json!({"email": email, "password": password}))
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post("/user/refresh", json!({"refresh_token": refresh_token}))
            .await
    }
}

pub fn registration(email: &str) -> Value {
    json!({
        "email": email,
        "password": PASSWORD,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "companyName": "Acme",
        "companyWebsite": "https://acme.com",
        "isBusiness": true
    })
}

/// Runs each test body once per store: `<name>::embedded` and `<name>::dynamodb`.
#[macro_export]
macro_rules! on_both_stores {
    ($(async fn $name:ident($t:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($t: $crate::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn embedded() {
                    run($crate::TestApp::new($crate::Backend::Embedded).await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn dynamodb() {
                    run($crate::TestApp::new($crate::Backend::Dynamo).await).await
                }
            }
        )*
    };
}

impl TestApp {
    /// Another app (other settings) on the same store and clock.
    pub fn sharing_store(&self, config: Config) -> TestApp {
        let app = App::new(config, Arc::clone(&self.store), self.clock.clone()).expect("app");
        TestApp {
            app: Arc::new(app),
            store: Arc::clone(&self.store),
            clock: self.clock.clone(),
            backend: self.backend,
        }
    }
}

impl TestApp {
    pub fn clock_now(&self) -> i64 {
        use accounts::clock::Clock;
        self.clock.now()
    }
}

/// A signed-in member of an organization.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub email: String,
    pub org_id: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl TestApp {
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, None, Some(token)).await
    }

    pub async fn put(&self, path: &str, body: Value, token: &str) -> Reply {
        self.call("PUT", path, Some(body), Some(token)).await
    }

    /// Registers `email`: a new organization with it as owner.
    pub async fn owner(&self, email: &str) -> Member {
        let reply = self.register(email).await;
        Member {
            id: reply.body["user"]["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            org_id: reply.body["user"]["orgId"].as_str().unwrap().to_owned(),
            access_token: reply.str("accessToken"),
            refresh_token: reply.str("refreshToken"),
        }
    }

    /// Adds `email` with `role` to `by`'s organization and signs it in: the
    /// member accepts its invitation with [`PASSWORD`].
    pub async fn member(&self, by: &Member, email: &str, role: u8) -> Member {
        let body = json!({
            "email": email, "firstName": "Grace", "lastName": "Hopper", "orgRole": role
        });
        let created = self
            .call(
                "POST",
                "/organization/users",
                Some(body),
                Some(&by.access_token),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let accepted = self.accept_invitation(email, PASSWORD).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        Member {
            id: created.body["data"]["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            org_id: by.org_id.clone(),
            access_token: accepted.str("accessToken"),
            refresh_token: accepted.str("refreshToken"),
        }
    }

    /// Delivers what the outbox holds: the token of the newest invitation
    /// mailed to `email`.
    pub async fn invitation_token(&self, email: &str) -> String {
        let mails = self.mailer().deliver().await;
        let invitation = mails
            .iter()
            .rev()
            .find(|m| m.to == email && m.kind == accounts::model::mail::MailKind::Invitation)
            .unwrap_or_else(|| panic!("no invitation to {email}"));
        mail::link_token(invitation, &self.app.config.mail.app_url, "verify-email")
    }

    /// Delivers what the outbox holds and accepts the invitation mailed to
    /// `email` with `password`: verify-email's reply.
    pub async fn accept_invitation(&self, email: &str, password: &str) -> Reply {
        let token = self.invitation_token(email).await;
        self.post(
            "/user/verify-email",
            json!({"token": token, "password": password}),
        )
        .await
    }

    pub async fn role_of(&self, user_id: &str) -> u8 {
        self.store
            .user(user_id)
            .await
            .unwrap()
            .expect("user")
            .org_role
            .value()
    }
}

impl TestApp {
    /// An app on an existing store (one another process may share).
    pub fn on_store(store: Arc<dyn Store>, backend: Backend) -> TestApp {
        let clock = Arc::new(ManualClock::new(T0));
        let app = App::new(test_config(&[]), Arc::clone(&store), clock.clone()).expect("app");
        TestApp {
            app: Arc::new(app),
            store,
            clock,
            backend,
        }
    }
}
