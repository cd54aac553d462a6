//! GET /health: 200 while the store answers, on both stores; a 503 that
//! names the store, soon, when it does not.

use accounts_tests::*;
use serde_json::json;

on_both_stores! {
    async fn health_answers_when_the_store_does(t: TestApp) {
        let reply = t.call("GET", "/health", None, None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, json!({"success": true, "status": "ok", "checks": {"store": "ok"}}));
        assert_eq!(reply.headers["cache-control"], "no-store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_naming_the_store_when_it_does_not_answer() {
    // A DynamoDB endpoint where nothing listens.
    let client = service_dynamodb_client("http://127.0.0.1:9");
    let store = std::sync::Arc::new(accounts::store::dynamo::DynamoStore::new(
        client, "accounts",
    ));
    let t = TestApp::on_store(store, Backend::Dynamo);
    let started = std::time::Instant::now();
    let reply = t.call("GET", "/health", None, None).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.body["success"], json!(false));
    assert_eq!(reply.body["error_code"], json!("SERVICE_UNAVAILABLE"));
    assert_eq!(reply.body["status"], json!("unavailable"));
    assert_eq!(reply.body["checks"], json!({"store": "failing"}));
}
