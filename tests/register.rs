//! POST /user/register, on both stores.

use accounts::model::SubscriptionStatus;
use accounts::role::Role;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use accounts::store::dynamo::{DynamoStore, create_table};
use accounts::store::embedded::{DATABASE_FILE, EmbeddedStore};
use accounts_tests::race::race;
use accounts_tests::*;
use serde_json::json;

fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

on_both_stores! {
    async fn creates_user_organization_subscription_and_session(t: TestApp) {
        let reply = t.post("/user/register", registration("  Ada@ACME.com ")).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let b = &reply.body;
        assert_eq!(b["success"], json!(true));
        assert_eq!(b["expiresAt"], json!(T0 + 3600));
        assert_eq!(b["user"]["email"], json!("ada@acme.com"));
        assert_eq!(b["user"]["name"], json!("Ada"));
        assert_eq!(b["user"]["orgRole"], json!(255));
        let user_id = b["user"]["id"].as_str().unwrap();
        let org_id = b["user"]["orgId"].as_str().unwrap();
        let token_id = b["tokenId"].as_str().unwrap();

        let claims = claims_of(b["accessToken"].as_str().unwrap());
        assert_eq!(claims["sub"], json!(user_id));
        assert_eq!(claims["userId"], json!(user_id));
        assert_eq!(claims["orgId"], json!(org_id));
        assert_eq!(claims["email"], json!("ada@acme.com"));
        assert_eq!(claims["type"], json!("access"));
        assert_eq!(claims["sid"], json!(token_id));
        assert_eq!(claims["iss"], json!(ISSUER), "the issuer URL");
        assert_eq!(claims["aud"], json!("flashback"));
        assert_eq!(claims["exp"], json!(T0 + 3600));
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

        let user = t.store.user(user_id).await.unwrap().expect("user stored");
        assert_eq!(user.email, "ada@acme.com");
        assert_eq!(user.org_role, Role::Owner);
        assert!(!user.validated);
        assert!(user.is_business);
        assert!(user.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!user.password_hash.contains(PASSWORD));
        let by_email = t.store.user_by_email("ada@acme.com").await.unwrap().unwrap();
        assert_eq!(by_email.id, user_id);

        let org = t.store.organization(org_id).await.unwrap().expect("organization stored");
        assert_eq!(org.name, "Acme");
        assert_eq!(org.website.as_deref(), Some("https://acme.com"));
        assert_eq!(org.owner_count, 1);

        let sub = t.store.subscription(org_id).await.unwrap().expect("subscription stored");
        assert_eq!(sub.plan_id, "free-trial");
        assert_eq!(sub.status, SubscriptionStatus::Active);
        assert_eq!(sub.starts_at, T0);
        assert_eq!(sub.ends_at, Some(T0 + 30 * 86_400));

        let refresh_token = b["refreshToken"].as_str().unwrap();
        let session = t.store.session(token_id).await.unwrap().expect("session stored");
        assert_eq!(session.user_id, user_id);
        assert_eq!(session.token_hash, accounts::auth::refresh::hash(refresh_token));
        let secret = refresh_token.rsplit('.').next().unwrap();
        assert!(secret.len() >= 43, "at least 256 bits, base64url");
        assert!(!session.token_hash.contains(secret));
        assert_eq!(session.generation, 0);
        assert_eq!(session.epoch, 0);
        assert_eq!(session.login_method, "LOCAL");
        assert_eq!(session.expires_at, T0 + 90 * 86_400);
        assert_eq!(session.token_expires_at, T0 + 30 * 86_400);
    }

    async fn optional_profile_fields_are_kept(t: TestApp) {
        let mut body = registration("grace@acme.com");
        body["phone"] = json!(" +1 555 0100 ");
        body["city"] = json!("Arlington");
        body["country"] = json!("US");
        let reply = t.post("/user/register", body).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let user = t.store.user_by_email("grace@acme.com").await.unwrap().unwrap();
        assert_eq!(user.contact.phone.as_deref(), Some("+1 555 0100"));
        assert_eq!(user.contact.city.as_deref(), Some("Arlington"));
        assert_eq!(user.contact.country.as_deref(), Some("US"));
        assert_eq!(user.contact.zipcode, None);
    }

    async fn the_same_email_in_another_case_is_a_conflict(t: TestApp) {
        let first = t.register("ada@acme.com").await;
        let reply = t.post("/user/register", registration("ADA@Acme.COM")).await;
        reply.assert_error(409, "EMAIL_ALREADY_REGISTERED");
        let user = t.store.user_by_email("ada@acme.com").await.unwrap().unwrap();
        assert_eq!(json!(user.id), first.body["user"]["id"], "the first account is untouched");
    }

    async fn each_password_rule_is_enforced_and_named(t: TestApp) {
        let cases = [
            ("Sh0rt-a", "at least 8"),
            ("no-upper-case-1", "upper-case"),
            ("NO-LOWER-CASE-1", "lower-case"),
            ("No-Digits-Anywhere", "digit"),
            ("Password123", "too common"),
        ];
        for (i, (password, rule)) in cases.iter().enumerate() {
            let mut body = registration(&format!("user{i}@acme.com"));
            body["password"] = json!(password);
            let reply = t.post("/user/register", body).await;
            reply.assert_error(400, "WEAK_PASSWORD");
            let message = reply.body["message"].as_str().unwrap();
            assert!(message.contains(rule), "{password}: {message}");
            assert!(!reply.body.to_string().contains(password), "the password is never echoed");
            assert!(t.store.user_by_email(&format!("user{i}@acme.com")).await.unwrap().is_none());
        }
        let mut body = registration("long@acme.com");
        body["password"] = json!(format!("Aa1{}", "b".repeat(126)));
        let reply = t.post("/user/register", body).await;
        reply.assert_error(400, "WEAK_PASSWORD");
        assert!(reply.body["message"].as_str().unwrap().contains("at most 128"));
    }

    async fn invalid_emails_and_names_are_refused(t: TestApp) {
        for email in ["", "ada", "ada@acme", "ada @acme.com", "ada@acme..com"] {
            let reply = t.post("/user/register", registration(email)).await;
            reply.assert_error(400, "VALIDATION_ERROR");
        }
        for (field, value) in [
            ("firstName", json!("")),
            ("firstName", json!("   ")),
            ("lastName", json!("x".repeat(101))),
            ("companyName", json!("Acme\u{0000}Corp")),
            ("firstName", json!("Ada\nLovelace")),
        ] {
            let mut body = registration("names@acme.com");
            body[field] = value;
            let reply = t.post("/user/register", body).await;
            reply.assert_error(400, "VALIDATION_ERROR");
            assert!(reply.body["message"].as_str().unwrap().contains(field), "{}", reply.body);
        }
        assert!(t.store.user_by_email("names@acme.com").await.unwrap().is_none());
        let mut body = registration("names@acme.com");
        body["firstName"] = json!("é".repeat(100));
        assert_eq!(t.post("/user/register", body).await.status, 201);
    }

    async fn missing_and_mistyped_fields_are_validation_errors(t: TestApp) {
        for field in ["email", "password", "firstName", "lastName", "companyName", "isBusiness"] {
            let mut body = registration("fields@acme.com");
            body.as_object_mut().unwrap().remove(field);
            let reply = t.post("/user/register", body).await;
            reply.assert_error(400, "VALIDATION_ERROR");
            assert!(reply.body["message"].as_str().unwrap().contains(field), "{}", reply.body);
        }
        let mut body = registration("fields@acme.com");
        body["isBusiness"] = json!("yes");
        t.post("/user/register", body).await.assert_error(400, "VALIDATION_ERROR");
        let mut body = registration("fields@acme.com");
        body["password"] = json!(12345678);
        let reply = t.post("/user/register", body).await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert!(!reply.body.to_string().contains("12345678"), "values are not echoed");
    }

    async fn two_spellings_of_one_mailbox_are_one_account(t: TestApp) {
        let first = t.register("ada@bücher.de").await;
        assert_eq!(first.body["user"]["email"], json!("ada@xn--bcher-kva.de"));
        for spelling in ["ada@xn--bcher-kva.de", "ADA@BÜCHER.DE", "ａｄａ@ｂüｃｈｅｒ.ｄｅ", "ada@bu\u{0308}cher.de"] {
            t.post("/user/register", registration(spelling)).await
                .assert_error(409, "EMAIL_ALREADY_REGISTERED");
        }
        let stored = t.store.user_by_email("ada@xn--bcher-kva.de").await.unwrap().unwrap();
        assert_eq!(stored.id, first.body["user"]["id"].as_str().unwrap());
        // Any spelling signs in to it.
        let login = t.login("ＡＤＡ@bücher.de", PASSWORD).await;
        assert_eq!(login.status, 200, "{}", login.body);
        assert_eq!(login.body["user"]["id"], first.body["user"]["id"]);
    }

    async fn invisible_and_direction_changing_characters_are_refused(t: TestApp) {
        let mut body = registration("ada@acme.com");
        body["firstName"] = json!("Ada\u{202E}ecalevol");
        t.post("/user/register", body).await.assert_error(400, "VALIDATION_ERROR");
        let mut body = registration("ada@acme.com");
        body["lastName"] = json!("Love\u{200B}lace");
        t.post("/user/register", body).await.assert_error(400, "VALIDATION_ERROR");
        t.post("/user/register", registration("ada\u{200B}@acme.com")).await
            .assert_error(400, "VALIDATION_ERROR");
        assert!(t.store.user_by_email("ada@acme.com").await.unwrap().is_none());
        let ada = t.owner("ada@acme.com").await;
        t.put(&format!("/user/{}", ada.id), json!({"name": "\u{2067}Ada"}), &ada.access_token).await
            .assert_error(400, "VALIDATION_ERROR");
    }
}

/// Where a store's rows can be counted beside the store's own interface
/// (which cannot list organizations): the embedded store's database file,
/// or the DynamoDB table.
enum Rows {
    Sqlite(PathBuf),
    Dynamo(aws_sdk_dynamodb::Client, String),
}

impl Drop for Rows {
    fn drop(&mut self) {
        if let Rows::Sqlite(path) = self {
            let _ = std::fs::remove_dir_all(path.parent().expect("the store's directory"));
        }
    }
}

impl Rows {
    /// A fresh store of `backend` and its rows.
    async fn fresh(backend: Backend) -> (TestApp, Rows) {
        match backend {
            Backend::Embedded => {
                let dir = std::env::temp_dir()
                    .join(format!("accounts-race-{}", uuid::Uuid::new_v4().simple()));
                let store = EmbeddedStore::open_dir(&dir).expect("embedded store");
                (
                    TestApp::on_store(Arc::new(store), backend),
                    Rows::Sqlite(dir.join(DATABASE_FILE)),
                )
            }
            Backend::Dynamo => {
                let client = dynamodb_client(&dynamodb_endpoint());
                let table = format!("accounts-race-{}", uuid::Uuid::new_v4().simple());
                create_table(&client, &table).await.expect("create table");
                let store = DynamoStore::new(client.clone(), table.clone());
                (
                    TestApp::on_store(Arc::new(store), backend),
                    Rows::Dynamo(client, table),
                )
            }
        }
    }

    /// How many users, organizations, subscriptions and sessions are stored.
    async fn census(&self) -> BTreeMap<&'static str, usize> {
        let kinds = [
            ("users", "USER/PROFILE"),
            ("organizations", "ORG/META"),
            ("subscriptions", "ORG/SUB"),
            ("sessions", "SESSION/SESSION"),
        ];
        let mut counts = BTreeMap::new();
        match self {
            Rows::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("database");
                for (table, _) in kinds {
                    let n: i64 = conn
                        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                        .expect(table);
                    counts.insert(table, n as usize);
                }
            }
            Rows::Dynamo(client, table) => {
                let found = dynamo_census(client, table).await;
                for (name, kind) in kinds {
                    counts.insert(name, found.get(kind).copied().unwrap_or(0));
                }
            }
        }
        counts
    }
}

/// Twenty registrations of one address, in two spellings, released at
/// once. Each racer has its own app on the shared store (as each request
/// may reach its own Lambda instance): on one app, its one-hash-per-core
/// limit would hand the store the registrations one or two at a time.
async fn simultaneous_registrations_make_one_account(backend: Backend) {
    const RACERS: usize = 20;
    let (t, rows) = Rows::fresh(backend).await;
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let app = t.sharing_store(test_config(&[]));
            let email = if i % 2 == 0 {
                "race@acme.com"
            } else {
                "RACE@acme.com"
            };
            async move { app.post("/user/register", registration(email)).await }
        })
        .collect();
    let race = race(racers).await;
    println!(
        "{RACERS} registrations: {} in flight at most",
        race.max_in_flight
    );
    race.assert_overlapped();
    let mut winners = Vec::new();
    for reply in race.answers {
        match reply.status {
            201 => winners.push(reply),
            _ => reply.assert_error(409, "EMAIL_ALREADY_REGISTERED"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one registration wins");
    let winner = &winners[0].body["user"];
    let stored = t
        .store
        .user_by_email("race@acme.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(json!(stored.id), winner["id"]);
    assert_eq!(json!(stored.org_id), winner["orgId"]);
    let org = t.store.organization(&stored.org_id).await.unwrap().unwrap();
    assert_eq!(org.owner_count, 1);
    // The losers' users, organizations, subscriptions and sessions were
    // never written: the store holds the winner's account only.
    let expected: BTreeMap<&str, usize> = [
        ("users", 1),
        ("organizations", 1),
        ("subscriptions", 1),
        ("sessions", 1),
    ]
    .into();
    assert_eq!(rows.census().await, expected, "store contents");
    // The winner can sign in with the password it registered.
    assert_eq!(t.login("race@acme.com", PASSWORD).await.status, 200);
}

mod twenty_simultaneous_registrations_of_one_email_make_one_account {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn embedded() {
        simultaneous_registrations_make_one_account(Backend::Embedded).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn dynamodb() {
        simultaneous_registrations_make_one_account(Backend::Dynamo).await
    }
}
