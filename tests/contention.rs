//! Store writes on DynamoDB that meet what only a real network and real
//! concurrency produce, through the fault-injecting proxy: an answer lost
//! after the store applied the write (the SDK retries it, and the retry
//! fails the write's own condition), and transactions cancelled for
//! `TransactionConflict`. Each must get the answer of what was done, and
//! nothing may be doubled or half-written.

// Each of the two fault binaries (faults, contention) uses part of these.
#[path = "support/faulty.rs"]
#[allow(dead_code)]
mod faulty;
#[path = "support/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use accounts::role::Role;
use accounts_tests::mail;
use accounts_tests::*;
use faulty::*;
use serde_json::json;

// A write the store applied but whose answer was lost is retried by the
// SDK, and the retry fails the write's own condition. Each must still get
// the answer of the write that was done, and nothing may be doubled.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_whose_answer_is_lost_is_one_account_and_201() {
    let (f, _, _, before) = populated().await;
    let t = &f.t;
    f.proxy.lose_answer_to("TransactWriteItems");
    let lin = t.post("/user/register", registration("lin@acme.com")).await;
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    assert_eq!(lin.status, 201, "{}", lin.body);
    assert_one_new_account(&f, &before, &lin, "lin@acme.com").await;
    assert_eq!(t.refresh(&lin.str("refreshToken")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_over_an_invitation_whose_answer_is_lost_withdraws_it_once_and_201() {
    let (f, ada, _, _) = populated().await;
    let invited = create_member(&f, &ada, "lin@acme.com").await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    let pending = invited.body["data"]["id"].as_str().unwrap().to_owned();
    let before = f.census().await;
    f.proxy.lose_answer_to("TransactWriteItems");
    let lin =
        f.t.post("/user/register", registration("lin@acme.com"))
            .await;
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    assert_eq!(lin.status, 201, "{}", lin.body);
    // The invitation's member went, the registrant came: one profile, one
    // lock, as before; the new account's other records once each.
    assert_census(
        &f.census().await,
        &before,
        &[
            "ORG/META",
            "ORG/SUB",
            "SESSION/SESSION",
            "MAILTOKEN/TOKEN",
            "OUTBOX/MAIL",
        ],
    );
    assert_eq!(f.direct.user(&pending).await.unwrap(), None);
    let stored = f
        .direct
        .user_by_email("lin@acme.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, lin.body["user"]["id"].as_str().unwrap());
    assert_eq!(f.direct.members(&ada.org_id).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_creation_whose_answer_is_lost_is_one_member_and_201() {
    let (f, ada, _, before) = populated().await;
    f.proxy.lose_answer_to("TransactWriteItems");
    let body = json!({
        "email": "hopper@acme.com", "password": PASSWORD,
        "firstName": "Grace", "lastName": "Hopper", "orgRole": 0
    });
    let created =
        f.t.call(
            "POST",
            "/organization/users",
            Some(body),
            Some(&ada.access_token),
        )
        .await;
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    assert_eq!(created.status, 201, "{}", created.body);
    assert_census(&f.census().await, &before, NEW_MEMBER);
    let hopper = f
        .direct
        .user_by_email("hopper@acme.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hopper.id, created.body["data"]["id"].as_str().unwrap());
    assert_eq!(f.direct.members(&ada.org_id).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_role_change_whose_answer_is_lost_is_one_change_and_200() {
    let (f, ada, grace, before) = populated().await;
    f.proxy.lose_answer_to("TransactWriteItems");
    let promoted =
        f.t.put(
            &format!("/user/{}/role", grace.id),
            json!({"orgRole": Role::Owner.value()}),
            &ada.access_token,
        )
        .await;
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    assert_eq!(promoted.body["data"]["previousRole"], json!(0));
    assert_eq!(promoted.body["data"]["newRole"], json!(255));
    let grace_now = f.direct.user(&grace.id).await.unwrap().unwrap();
    assert_eq!((grace_now.org_role, grace_now.version), (Role::Owner, 3));
    assert_eq!(owners(f.direct.as_ref(), &ada.org_id).await, (2, 2));
    assert_census(&f.census().await, &before, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_whose_answer_is_lost_is_one_rotation_and_200() {
    let (f, ada, _, before) = populated().await;
    f.proxy.lose_answer_to("PutItem");
    let refreshed = f.t.refresh(&ada.refresh_token).await;
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let session_id = accounts::auth::refresh::parse(&ada.refresh_token)
        .unwrap()
        .session_id;
    let session = f.direct.session(session_id).await.unwrap().unwrap();
    assert_eq!(session.generation, 1, "rotated once");
    assert_eq!(
        session.token_hash,
        accounts::auth::refresh::hash(&refreshed.str("refreshToken"))
    );
    assert_census(&f.census().await, &before, &[]);
    assert_eq!(
        f.t.refresh(&refreshed.str("refreshToken")).await.status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_login_whose_count_answer_is_lost_is_counted_once() {
    let (f, _, _, before) = populated().await;
    f.proxy.lose_answer_to("PutItem");
    f.t.login("ada@acme.com", "Wrong-pass-123")
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(f.proxy.lost_answers(), 1, "the answer was lost");
    let throttle = f
        .direct
        .login_throttle("ada@acme.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(throttle.failures, 1, "counted once");
    assert_census(&f.census().await, &before, &["THROTTLE/LOGIN"]);
}

// Transactions that lose to concurrent ones. moto runs requests one at a
// time and never cancels a transaction for `TransactionConflict`, so the
// proxy answers TransactWriteItems in the store's stead with DynamoDB's
// `TransactionCanceledException`, on every attempt. The SDK does not retry
// it (not a throttling or transient code): every attempt the proxy counts
// is one of the store's own (4 per transaction, `TX_ATTEMPTS`).

/// One reason of a cancellation: `None` (the item was fine),
/// `TransactionConflict`, `ConditionalCheckFailed`, or
/// `ConditionalCheckFailed+` (the failed item reported, as with ALL_OLD).
fn cancelled(reasons: &[&str]) -> String {
    let reasons: Vec<serde_json::Value> = reasons
        .iter()
        .map(|code| match *code {
            "ConditionalCheckFailed+" => json!({
                "Code": "ConditionalCheckFailed",
                "Message": "The conditional request failed",
                "Item": {"pk": {"S": "ORG#x"}, "sk": {"S": "META"}, "ownerCount": {"N": "1"}}
            }),
            "TransactionConflict" => json!({
                "Code": code, "Message": "Transaction is ongoing for the item"
            }),
            "ConditionalCheckFailed" => json!({
                "Code": code, "Message": "The conditional request failed"
            }),
            _ => json!({"Code": code}),
        })
        .collect();
    let codes: Vec<&str> = reasons
        .iter()
        .map(|r| r["Code"].as_str().unwrap())
        .collect();
    json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
        "CancellationReasons": reasons,
    })
    .to_string()
}

/// Attempts of one store transaction while it loses (`TX_ATTEMPTS`).
const TX_ATTEMPTS: usize = 4;
/// Member creation re-reads the caller and asks the store again on a
/// `Conflict` (`ADD_ATTEMPTS`), each time with `TX_ATTEMPTS`.
const ADD_ATTEMPTS: usize = 3;

/// What a member creation writes: the member, its lock, its invitation
/// (token and mail) and the address's invitation count (the organization's
/// exists already: updated).
const NEW_MEMBER: &[&str] = &[
    "USER/PROFILE",
    "EMAIL/EMAIL",
    "MAILTOKEN/TOKEN",
    "OUTBOX/MAIL",
    "MAILLIMIT/INVITE",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_that_always_loses_a_transaction_race_is_409_conflict_and_writes_nothing() {
    let (f, _, _, before) = populated().await;
    let race = cancelled(&["TransactionConflict", "None", "None", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, usize::MAX);
    let reply =
        f.t.post("/user/register", registration("lin@acme.com"))
            .await;
    reply.assert_error(409, "CONFLICT");
    assert_eq!(f.proxy.faked_answers(), TX_ATTEMPTS, "attempts");
    assert_eq!(f.census().await, before, "store contents");
    assert!(
        f.direct
            .user_by_email("lin@acme.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(!reply.body.to_string().to_lowercase().contains("transact"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_that_loses_one_transaction_race_is_retried_into_one_account() {
    let (f, _, _, before) = populated().await;
    let race = cancelled(&["None", "None", "TransactionConflict", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, 1);
    let lin =
        f.t.post("/user/register", registration("lin@acme.com"))
            .await;
    assert_eq!(lin.status, 201, "{}", lin.body);
    assert_eq!(f.proxy.faked_answers(), 1);
    assert_one_new_account(&f, &before, &lin, "lin@acme.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_whose_email_lock_fails_amid_conflicts_is_409_email_already_registered() {
    let (f, _, _, before) = populated().await;
    let mix = cancelled(&[
        "TransactionConflict",
        "ConditionalCheckFailed",
        "None",
        "TransactionConflict",
        "None",
    ]);
    f.proxy.fake_answers("TransactWriteItems", mix, usize::MAX);
    f.t.post("/user/register", registration("lin@acme.com"))
        .await
        .assert_error(409, "EMAIL_ALREADY_REGISTERED");
    assert_eq!(f.proxy.faked_answers(), 1, "a taken email is not retried");
    assert_eq!(f.census().await, before, "store contents");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_creation_that_always_loses_a_transaction_race_is_409_conflict_and_writes_nothing()
{
    let (f, ada, _, before) = populated().await;
    let race = cancelled(&["None", "TransactionConflict", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, usize::MAX);
    create_member(&f, &ada, "hopper@acme.com")
        .await
        .assert_error(409, "CONFLICT");
    assert_eq!(
        f.proxy.faked_answers(),
        ADD_ATTEMPTS * TX_ATTEMPTS,
        "attempts"
    );
    assert_eq!(f.census().await, before, "store contents");
    assert!(
        f.direct
            .user_by_email("hopper@acme.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(f.direct.members(&ada.org_id).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_creation_whose_email_lock_fails_amid_conflicts_is_409_email_already_registered() {
    let (f, ada, _, before) = populated().await;
    let mix = cancelled(&[
        "None",
        "TransactionConflict",
        "ConditionalCheckFailed",
        "None",
    ]);
    f.proxy.fake_answers("TransactWriteItems", mix, usize::MAX);
    create_member(&f, &ada, "hopper@acme.com")
        .await
        .assert_error(409, "EMAIL_ALREADY_REGISTERED");
    assert_eq!(f.proxy.faked_answers(), 1, "a taken email is not retried");
    assert_eq!(f.census().await, before, "store contents");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_creation_that_loses_one_transaction_race_is_retried_into_one_member() {
    let (f, ada, _, before) = populated().await;
    let race = cancelled(&["TransactionConflict", "None", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, 1);
    let created = create_member(&f, &ada, "hopper@acme.com").await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(f.proxy.faked_answers(), 1);
    assert_census(&f.census().await, &before, NEW_MEMBER);
    assert_eq!(f.direct.members(&ada.org_id).await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_role_change_that_always_loses_a_transaction_race_is_409_conflict_and_changes_nothing() {
    let (f, ada, grace, before) = populated().await;
    let race = cancelled(&["TransactionConflict", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, usize::MAX);
    f.t.put(
        &format!("/user/{}/role", grace.id),
        json!({"orgRole": Role::Owner.value()}),
        &ada.access_token,
    )
    .await
    .assert_error(409, "CONFLICT");
    assert_eq!(f.proxy.faked_answers(), TX_ATTEMPTS, "attempts");
    let grace_now = f.direct.user(&grace.id).await.unwrap().unwrap();
    assert_eq!(
        (grace_now.org_role, grace_now.version),
        (Role::User, 2),
        "as accepted"
    );
    assert_eq!(owners(f.direct.as_ref(), &ada.org_id).await, (1, 1));
    assert_eq!(f.census().await, before, "store contents");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_demotion_whose_owner_count_fails_amid_conflicts_is_409_last_owner() {
    let (f, ada, grace, before) = populated().await;
    // Grace is made an owner first (for real), then Ada demotes Grace: the
    // organization's owner count is reported as the obstacle.
    let promoted =
        f.t.put(
            &format!("/user/{}/role", grace.id),
            json!({"orgRole": Role::Owner.value()}),
            &ada.access_token,
        )
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    let census = f.census().await;
    assert_eq!(census, before);
    let mix = cancelled(&["None", "ConditionalCheckFailed+", "TransactionConflict"]);
    f.proxy.fake_answers("TransactWriteItems", mix, usize::MAX);
    f.t.put(
        &format!("/user/{}/role", grace.id),
        json!({"orgRole": Role::User.value()}),
        &ada.access_token,
    )
    .await
    .assert_error(409, "LAST_OWNER");
    assert_eq!(
        f.proxy.faked_answers(),
        1,
        "a refused demotion is not retried"
    );
    let grace_now = f.direct.user(&grace.id).await.unwrap().unwrap();
    assert_eq!((grace_now.org_role, grace_now.version), (Role::Owner, 3));
    assert_eq!(owners(f.direct.as_ref(), &ada.org_id).await, (2, 2));
}

// Deactivation and the mail transactions, losing to concurrent ones in the
// same way (the proxy answers every TransactWriteItems with a
// cancellation): what each answers, how often it asks the store, and that
// nothing is written.

/// Deactivation re-reads the caller and asks the store again on a
/// `Conflict` (`WRITE_ATTEMPTS`); redeeming a mailed token reads it again
/// (`REDEEM_ATTEMPTS`); each time with `TX_ATTEMPTS`.
const DEACTIVATE_ATTEMPTS: usize = 5;
const REDEEM_ATTEMPTS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deactivation_that_always_loses_a_transaction_race_is_409_conflict_and_changes_nothing() {
    let (f, _, grace, _) = populated().await;
    let items = f.items().await;
    let race = cancelled(&["TransactionConflict", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, usize::MAX);
    f.t.call("POST", "/user/deactivate", None, Some(&grace.access_token))
        .await
        .assert_error(409, "CONFLICT");
    assert_eq!(
        f.proxy.faked_answers(),
        DEACTIVATE_ATTEMPTS * TX_ATTEMPTS,
        "attempts"
    );
    assert_eq!(f.items().await, items, "store contents");
    f.proxy.fake_answers("TransactWriteItems", String::new(), 0);
    let profile = f.t.get("/user/profile", &grace.access_token).await;
    assert_eq!(profile.status, 200, "{}", profile.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deactivation_that_loses_one_transaction_race_is_retried_and_done() {
    let (f, _, grace, _) = populated().await;
    let race = cancelled(&["None", "TransactionConflict"]);
    f.proxy.fake_answers("TransactWriteItems", race, 1);
    let reply =
        f.t.call("POST", "/user/deactivate", None, Some(&grace.access_token))
            .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(f.proxy.faked_answers(), 1);
    assert!(!f.direct.user(&grace.id).await.unwrap().unwrap().is_active());
    f.t.get("/user/profile", &grace.access_token)
        .await
        .assert_error(401, "SESSION_REVOKED");
}

/// Registers `email` and asks for a reset: the tokens of its verification
/// and reset mails.
async fn mailed_tokens(f: &Faulty, email: &str) -> (String, String) {
    let mailer = f.t.mailer();
    f.t.register(email).await;
    let verify = mailer.deliver().await;
    let asked =
        f.t.post("/user/request-reset-password", json!({"email": email}))
            .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let reset = mailer.deliver().await;
    let app_url = &f.t.app.config.mail.app_url;
    (
        mail::link_token(&verify[0], app_url, "verify-email"),
        mail::link_token(&reset[0], app_url, "reset-password"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mail_token_redemptions_that_always_lose_a_transaction_race_are_409_conflict_and_write_nothing()
 {
    let (f, _, _, _) = populated().await;
    let (verify, reset) = mailed_tokens(&f, "mae@acme.com").await;
    let items = f.items().await;
    let calls = [
        (
            "/user/verify-email",
            json!({"token": verify}),
            cancelled(&["None", "TransactionConflict", "None"]),
        ),
        (
            "/user/reset-password",
            json!({"token": reset, "newPassword": "Another-pass-456"}),
            cancelled(&["TransactionConflict", "None"]),
        ),
    ];
    for (path, body, race) in &calls {
        f.proxy
            .fake_answers("TransactWriteItems", race.clone(), usize::MAX);
        let before = f.proxy.faked_answers();
        f.t.post(path, body.clone())
            .await
            .assert_error(409, "CONFLICT");
        assert_eq!(
            f.proxy.faked_answers() - before,
            REDEEM_ATTEMPTS * TX_ATTEMPTS,
            "{path}: attempts"
        );
        assert_eq!(f.items().await, items, "{path}: store contents");
    }
    // No more faked answers.
    f.proxy.fake_answers("TransactWriteItems", String::new(), 0);
    // Neither token was spent by the lost races (the store is as it was):
    // the verification works, and as the first verification it spends the
    // user's other mail tokens, the reset link among them (API.md, "Who
    // owns an address").
    let [(verify_path, verify_body, _), (reset_path, reset_body, _)] = calls;
    let verified = f.t.post(verify_path, verify_body).await;
    assert_eq!(verified.status, 200, "{verify_path}: {}", verified.body);
    f.t.post(reset_path, reset_body)
        .await
        .assert_error(400, "INVALID_RESET_TOKEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mail_requests_that_always_lose_a_transaction_race_answer_as_always_and_write_nothing() {
    let (f, _, _, _) = populated().await;
    let mae = f.t.register("mae@acme.com").await;
    let items = f.items().await;
    let race = cancelled(&["TransactionConflict", "None", "None"]);
    f.proxy.fake_answers("TransactWriteItems", race, usize::MAX);
    let asked =
        f.t.post(
            "/user/request-reset-password",
            json!({"email": "mae@acme.com"}),
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let id = mae.str("verificationTokenId");
    let resent =
        f.t.post(&format!("/user/resend-verification/{id}"), json!({}))
            .await;
    assert_eq!(resent.status, 200, "{}", resent.body);
    // One transaction each, lost on every attempt: a concurrent request
    // for the address counted first, and this one sends nothing.
    assert_eq!(f.proxy.faked_answers(), 2 * TX_ATTEMPTS, "attempts");
    assert_eq!(f.items().await, items, "store contents: no token, no mail");
}
