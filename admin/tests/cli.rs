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
    t.get("/user/profile", &ada.access_token)
        .await
        .assert_error(401, "INVALID_TOKEN");
    t.refresh(&ada.refresh_token)
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    admin.ok(&["user", "activate", "--email", "ada@acme.com"]);
    let login = t.login("ada@acme.com", PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.body);

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
    quota_now(t, &ada.access_token)
        .await
        .assert_error(404, "NO_ACTIVE_SUBSCRIPTION");
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
