//! `accounts-admin` driven as a subprocess, on the embedded store (a data
//! directory this test also has open) and on DynamoDB (a table it creates).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

use accounts::clock::{Clock, SystemClock};
use accounts::model::Plan;
use accounts::store::dynamo::DynamoStore;
use accounts::store::embedded::EmbeddedStore;
use accounts_tests::*;
use serde_json::json;

const GIB: u64 = 1024 * 1024 * 1024;

struct Admin {
    /// Store options and environment for every call.
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Admin {
    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_accounts-admin"));
        command.args(&self.args).args(args);
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command.env_remove("TABLE_NAME").env_remove("ACCOUNTS_DATA");
        command.output().expect("accounts-admin runs")
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Fails with exactly one line on stderr.
    #[track_caller]
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("accounts-admin: "), "{stderr}");
        stderr
    }
}

fn usage_current(reply: &Reply, code: &str) -> serde_json::Value {
    reply.body["quotaUsage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["capability"]["code"] == code)
        .map(|u| u["usage"].clone())
        .unwrap()
}

/// The quota as of now: the tool writes in real time, so the app's clock
/// follows it.
async fn quota_now(t: &TestApp, token: &str) -> Reply {
    t.clock.set(SystemClock.now());
    t.get("/user/quota", token).await
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "accounts-admin-test-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every subcommand, checked through the API on the same data.
async fn drive(admin: &Admin, t: &TestApp, scratch: &std::path::Path) {
    // The tool works in real time; so does the app here.
    t.clock.set(SystemClock.now());
    let ada = t.owner("ada@acme.com").await;

    // plan list: every plan, each in the shape plan put takes.
    let plans: Vec<Plan> = serde_json::from_str(&admin.ok(&["plan", "list"])).unwrap();
    let ids: Vec<&str> = plans.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, vec!["free-trial", "pro"]);
    let mut trial = plans[0].clone();
    trial.capabilities[0].limit = 20 * GIB;
    let file = scratch.join("plan.json");
    std::fs::write(&file, serde_json::to_string(&trial).unwrap()).unwrap();
    admin.ok(&["plan", "put", "--file", file.to_str().unwrap()]);
    let listed: Vec<Plan> = serde_json::from_str(&admin.ok(&["plan", "list"])).unwrap();
    assert_eq!(listed[0], trial);
    let reply = quota_now(t, &ada.access_token).await;
    assert_eq!(
        usage_current(&reply, "STORAGE_TOTAL_BYTES")["max"],
        json!(20 * GIB)
    );

    // usage add, negative never below zero.
    let org = ada.org_id.as_str();
    let add_storage = |amount: &str| {
        admin.ok(&[
            "usage",
            "add",
            "--org",
            org,
            "--capability",
            "STORAGE_TOTAL_BYTES",
            "--amount",
            amount,
        ]);
    };
    add_storage(&(5 * GIB).to_string());
    let reply = quota_now(t, &ada.access_token).await;
    assert_eq!(
        usage_current(&reply, "STORAGE_TOTAL_BYTES"),
        json!({"current": 5 * GIB, "max": 20 * GIB, "percentage": 25})
    );
    add_storage("-99999999999");
    let reply = quota_now(t, &ada.access_token).await;
    assert_eq!(usage_current(&reply, "STORAGE_TOTAL_BYTES")["current"], 0);

    // subscription set / cancel.
    admin.ok(&["subscription", "set", "--org", org, "--plan", "pro"]);
    assert_eq!(
        quota_now(t, &ada.access_token).await.body["subscription"]["name"],
        "Pro"
    );
    admin.ok(&[
        "subscription",
        "set",
        "--org",
        org,
        "--plan",
        "pro",
        "--until",
        "2020-01-01T00:00:00Z",
    ]);
    quota_now(t, &ada.access_token)
        .await
        .assert_error(404, "NO_ACTIVE_SUBSCRIPTION");
    admin.ok(&["subscription", "set", "--org", org, "--plan", "free-trial"]);
    assert_eq!(quota_now(t, &ada.access_token).await.status, 200);
    admin.ok(&["subscription", "cancel", "--org", org]);
    quota_now(t, &ada.access_token)
        .await
        .assert_error(404, "NO_ACTIVE_SUBSCRIPTION");

    // user deactivate / activate.
    admin.ok(&["user", "deactivate", "--email", "ADA@acme.com"]);
    t.login("ada@acme.com", PASSWORD)
        .await
        .assert_error(403, "USER_INACTIVE");
    // Every session ended with it.
    t.get("/user/profile", &ada.access_token)
        .await
        .assert_error(401, "SESSION_REVOKED");
    t.refresh(&ada.refresh_token)
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    admin.ok(&["user", "activate", "--email", "ada@acme.com"]);
    let login = t.login("ada@acme.com", PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.body);
    // Reactivation revives none of them.
    t.get("/user/profile", &ada.access_token)
        .await
        .assert_error(401, "SESSION_REVOKED");
    let access_token = login.str("accessToken");

    // Mistakes: non-zero exit, one line on stderr, nothing changed.
    assert!(
        admin
            .fails(&[
                "subscription",
                "set",
                "--org",
                "no-such-org",
                "--plan",
                "pro"
            ])
            .contains("no organization")
    );
    assert!(
        admin
            .fails(&[
                "subscription",
                "set",
                "--org",
                org,
                "--plan",
                "no-such-plan"
            ])
            .contains("no plan")
    );
    assert!(
        admin
            .fails(&[
                "subscription",
                "set",
                "--org",
                org,
                "--plan",
                "pro",
                "--until",
                "tomorrow"
            ])
            .contains("RFC 3339")
    );
    assert!(
        admin
            .fails(&[
                "usage",
                "add",
                "--org",
                org,
                "--capability",
                "NOPE",
                "--amount",
                "1"
            ])
            .contains("no capability")
    );
    assert!(
        admin
            .fails(&["user", "deactivate", "--email", "ghost@acme.com"])
            .contains("not found")
    );
    std::fs::write(&file, r#"{"id": "broken"}"#).unwrap();
    assert!(
        admin
            .fails(&["plan", "put", "--file", file.to_str().unwrap()])
            .contains("is not a plan")
    );
    assert!(
        admin
            .fails(&["plan", "put", "--file", "/no/such/file.json"])
            .contains("cannot read")
    );
    quota_now(t, &access_token)
        .await
        .assert_error(404, "NO_ACTIVE_SUBSCRIPTION");

    // outbox list: ada's verification mail, waiting, without its token.
    let listed = admin.ok(&["outbox", "list"]);
    let mails: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let mails = mails.as_array().unwrap();
    assert_eq!(mails.len(), 1, "{listed}");
    assert_eq!(mails[0]["to"], "ada@acme.com");
    assert_eq!(mails[0]["kind"], "verification");
    assert_eq!(mails[0]["status"], "pending");
    assert!(!listed.contains("token"), "{listed}");
    let sent = t.mailer();
    assert_eq!(sent.deliver().await.len(), 1);
    let mails: serde_json::Value = serde_json::from_str(&admin.ok(&["outbox", "list"])).unwrap();
    assert_eq!(mails[0]["status"], "sent");
    assert!(mails[0]["sentAt"].is_i64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_subcommand_on_the_embedded_store() {
    let dir = scratch_dir();
    let store = Arc::new(EmbeddedStore::open_dir(&dir).unwrap());
    let t = TestApp::on_store(store, Backend::Embedded);
    let admin = Admin {
        args: vec!["--data".into(), dir.to_str().unwrap().into()],
        env: vec![],
    };
    drive(&admin, &t, &dir).await;
    let err = admin.fails(&["table", "create"]);
    assert!(err.contains("DynamoDB only"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn table_create_then_every_subcommand_on_dynamodb() {
    let endpoint = dynamodb_endpoint();
    let table = format!("accounts-admin-{}", uuid::Uuid::new_v4().simple());
    let admin = Admin {
        args: vec!["--dynamodb-table".into(), table.clone()],
        env: vec![
            ("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.clone()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ],
    };
    assert!(admin.ok(&["table", "create"]).contains("is ready"));
    admin.ok(&["table", "create"]); // again: harmless
    let client = dynamodb_client(&endpoint);
    let t = TestApp::on_store(Arc::new(DynamoStore::new(client, table)), Backend::Dynamo);
    let dir = scratch_dir();
    drive(&admin, &t, &dir).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The private key set in a file, as JSON.
fn key_file(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("jwt-keys.json")).unwrap()).unwrap()
}

#[test]
fn keys_rotate_and_prune_in_the_data_directory() {
    let dir = scratch_dir();
    let admin = Admin {
        args: vec!["--data".into(), dir.display().to_string()],
        env: vec![],
    };
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&admin.ok(&["key", "public"])).unwrap(),
        json!({"keys": []})
    );
    admin.ok(&["key", "rotate"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("jwt-keys.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let first = key_file(&dir)["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = admin.ok(&["key", "rotate", "--algorithm", "RS256"]);
    let keys = key_file(&dir)["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    let second = keys[0]["kid"].as_str().unwrap().to_owned();
    assert!(out.contains(&second), "{out}");
    assert!(keys[0].get("retiredAt").is_none());
    assert_eq!(keys[1]["kid"], first.as_str());
    assert!(
        keys[1]["retiredAt"].is_i64(),
        "the old key is retired, not gone"
    );
    // Published: both, without private members.
    let public: serde_json::Value = serde_json::from_str(&admin.ok(&["key", "public"])).unwrap();
    assert_eq!(public["keys"].as_array().unwrap().len(), 2);
    assert!(public["keys"][0].get("d").is_none());

    // Too early: an access token signed just before the rotation lives on.
    assert!(admin.ok(&["key", "prune"]).contains("pruned 0 key(s)"));
    assert_eq!(key_file(&dir)["keys"].as_array().unwrap().len(), 2);
    // An hour and a bit later (the file's clock moved back instead).
    let mut set = key_file(&dir);
    let retired = set["keys"][1]["retiredAt"].as_i64().unwrap();
    set["keys"][1]["retiredAt"] = json!(retired - 3600 - 61);
    std::fs::write(dir.join("jwt-keys.json"), set.to_string()).unwrap();
    let out = admin.ok(&["key", "prune"]);
    assert!(out.contains(&format!("pruned 1 key(s): {first}")), "{out}");
    let keys = key_file(&dir)["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], second.as_str());

    let err = admin.fails(&["key", "rotate", "--algorithm", "HS256"]);
    assert!(err.contains("RS256 or ES256"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Pruning waits for the deployment's access-token lifetime
/// (`ACCESS_TOKEN_TTL_SECONDS`, plus the verifiers' minute of leeway), not
/// the default hour.
#[test]
fn prune_follows_the_configured_access_token_lifetime() {
    let dir = scratch_dir();
    let admin = |env: Vec<(String, String)>| Admin {
        args: vec!["--data".into(), dir.display().to_string()],
        env,
    };
    let default_ttl = admin(vec![]);
    let ten_minutes = admin(vec![("ACCESS_TOKEN_TTL_SECONDS".into(), "600".into())]);
    default_ttl.ok(&["key", "rotate"]);
    default_ttl.ok(&["key", "rotate"]);
    let retired_ago = |seconds: i64| {
        let mut set = key_file(&dir);
        let retired = set["keys"][1]["retiredAt"].as_i64().unwrap();
        let created = set["keys"][0]["createdAt"].as_i64().unwrap();
        assert!(retired <= created);
        set["keys"][1]["retiredAt"] = json!(created - seconds);
        std::fs::write(dir.join("jwt-keys.json"), set.to_string()).unwrap();
    };
    // Ten minutes ago: a token it signed may still be in its leeway minute.
    retired_ago(600);
    assert!(
        ten_minutes
            .ok(&["key", "prune"])
            .contains("pruned 0 key(s)")
    );
    // Ten minutes and more than the leeway ago: gone with a 600 s lifetime,
    // kept with the default hour.
    retired_ago(700);
    assert!(
        default_ttl
            .ok(&["key", "prune"])
            .contains("pruned 0 key(s)")
    );
    assert!(
        ten_minutes
            .ok(&["key", "prune"])
            .contains("pruned 1 key(s)")
    );
    assert_eq!(key_file(&dir)["keys"].as_array().unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn keys_rotate_into_secrets_manager() {
    let endpoint = dynamodb_endpoint();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (private, public) = (
        format!("admin-test/{id}/private"),
        format!("admin-test/{id}/public"),
    );
    let admin = Admin {
        args: vec![],
        env: vec![
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER".into(), endpoint),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("JWT_PRIVATE_KEYS_SECRET".into(), private.clone()),
            ("JWT_PUBLIC_KEYS_SECRET".into(), public.clone()),
        ],
    };
    admin.ok(&["key", "rotate", "--algorithm", "ES256"]);
    let sm = secrets_manager();
    let private_set = sm
        .read(&private)
        .await
        .unwrap()
        .expect("private secret created");
    let public_set = sm
        .read(&public)
        .await
        .unwrap()
        .expect("public secret created");
    assert_eq!(private_set.keys.len(), 1);
    assert!(private_set.keys[0].d.is_some());
    assert_eq!(
        public_set,
        private_set.public(),
        "the public secret holds the public half only"
    );
    assert_eq!(public_set.keys[0].alg, "ES256");
    admin.ok(&["key", "rotate", "--algorithm", "ES256"]);
    let private_set = sm.read(&private).await.unwrap().unwrap();
    assert_eq!(private_set.keys.len(), 2);
    assert_eq!(
        sm.read(&public).await.unwrap().unwrap(),
        private_set.public()
    );
}
