//! The fault tests' harness (tests/faults.rs, tests/contention.rs): an
//! app whose DynamoDB store reaches moto through the fault-injecting proxy,
//! the same table straight to moto, and what the table holds.
//!
//! Included with `#[path]`, after `mod proxy;`, by the tests that use it;
//! each uses part of it (hence `allow(dead_code)` there).

use std::collections::BTreeMap;
use std::sync::Arc;

use accounts::role::Role;
use accounts::store::Store;
use accounts::store::dynamo::{DynamoStore, create_table};
use accounts_tests::routes::Cast;
use accounts_tests::*;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

use crate::proxy::Proxy;

/// An app whose store reaches moto through a proxy, and a way around it.
pub struct Faulty {
    pub proxy: Proxy,
    /// The service, on the store behind the proxy.
    pub t: TestApp,
    /// The same table, straight to moto.
    pub direct: Arc<dyn Store>,
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

pub async fn faulty() -> Faulty {
    let endpoint = dynamodb_endpoint();
    let proxy = Proxy::start(&endpoint).await;
    let client = dynamodb_client(&endpoint);
    let table = format!("accounts-faults-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.expect("create table");
    let behind_proxy = DynamoStore::new(service_dynamodb_client(&proxy.endpoint()), table.clone());
    let t = TestApp::on_store(Arc::new(behind_proxy), Backend::Dynamo);
    let direct = Arc::new(DynamoStore::new(client.clone(), table.clone()));
    Faulty {
        proxy,
        t,
        direct,
        client,
        table,
    }
}

/// An organization with an owner and a member, its plans seeded by a first
/// quota read, and the table's census before any fault.
pub async fn populated() -> (Faulty, Member, Member, BTreeMap<String, usize>) {
    let f = faulty().await;
    let ada = f.t.owner("ada@acme.com").await;
    let grace = f.t.member(&ada, "grace@acme.com", 0).await;
    assert_eq!(f.t.get("/user/quota", &ada.access_token).await.status, 200);
    let before = f.census().await;
    (f, ada, grace, before)
}

/// An item's attributes in one order (a map's own order is random).
pub fn canonical_map(map: &std::collections::HashMap<String, AttributeValue>) -> String {
    let sorted: BTreeMap<_, _> = map.iter().map(|(k, v)| (k, canonical(v))).collect();
    format!("{sorted:?}")
}

pub fn canonical(value: &AttributeValue) -> String {
    match value {
        AttributeValue::M(map) => canonical_map(map),
        AttributeValue::L(list) => format!("{:?}", list.iter().map(canonical).collect::<Vec<_>>()),
        other => format!("{other:?}"),
    }
}

/// [`populated`] with the whole cast of the route table (tests/support/routes.rs).
pub async fn populated_cast() -> (Faulty, Cast, BTreeMap<String, usize>) {
    let f = faulty().await;
    let cast = Cast::new(&f.t).await;
    assert_eq!(
        f.t.get("/user/quota", &cast.owner.access_token)
            .await
            .status,
        200
    );
    let before = f.census().await;
    (f, cast, before)
}

impl Faulty {
    /// Every item of the table, every attribute, read straight from moto.
    pub async fn items(&self) -> BTreeMap<String, String> {
        let items = dynamo_scan(&self.client, &self.table).await;
        (items.iter())
            .map(|item| {
                let key = format!("{:?}/{:?}", item["pk"], item["sk"]);
                (key, canonical_map(item))
            })
            .collect()
    }

    /// How many items of each kind (`USER/PROFILE`, `EMAIL/EMAIL`,
    /// `ORG/META`, …) the table holds, read straight from moto.
    pub async fn census(&self) -> BTreeMap<String, usize> {
        dynamo_census(&self.client, &self.table).await
    }
}

/// The organization's stored owner count, and how many members are owners.
pub async fn owners(store: &dyn Store, org_id: &str) -> (u64, usize) {
    let org = store.organization(org_id).await.unwrap().expect("org");
    let members = store.members(org_id).await.unwrap();
    let owners = members.iter().filter(|m| m.org_role == Role::Owner).count();
    (org.owner_count as u64, owners)
}

/// `by` adds `email` as a USER to its organization.
pub async fn create_member(f: &Faulty, by: &Member, email: &str) -> Reply {
    let path = "/organization/users";
    f.t.call(
        "POST",
        path,
        Some(new_member(email)),
        Some(&by.access_token),
    )
    .await
}

/// What one registration writes (its seven items: the account's five, the
/// verification token and its mail; nothing else), and the account stored
/// for `email` is the one `reply` names.
pub async fn assert_one_new_account(
    f: &Faulty,
    before: &BTreeMap<String, usize>,
    reply: &Reply,
    email: &str,
) {
    let kinds = [
        "USER/PROFILE",
        "EMAIL/EMAIL",
        "ORG/META",
        "ORG/SUB",
        "SESSION/SESSION",
        "MAILTOKEN/TOKEN",
        "OUTBOX/MAIL",
    ];
    assert_census(&f.census().await, before, &kinds);
    let stored = f.direct.user_by_email(email).await.unwrap().unwrap();
    assert_eq!(stored.id, reply.body["user"]["id"].as_str().unwrap());
}

/// The census after `before`, with `added` more items of each named kind
/// and nothing else changed.
pub fn assert_census(
    after: &BTreeMap<String, usize>,
    before: &BTreeMap<String, usize>,
    added: &[&str],
) {
    let mut expected = before.clone();
    for kind in added {
        *expected.entry((*kind).to_owned()).or_default() += 1;
    }
    assert_eq!(after, &expected, "store contents");
}

pub fn new_member(email: &str) -> serde_json::Value {
    json!({
        "email": email, "password": PASSWORD,
        "firstName": "Grace", "lastName": "Hopper", "orgRole": 0
    })
}
