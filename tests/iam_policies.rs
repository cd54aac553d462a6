//! Each function's IAM policy (template.yaml) allows every DynamoDB request
//! its code makes, item by item, and grants nothing its code does not use.
//!
//! Every route is driven through its main code paths against DynamoDB
//! (moto), with an SDK interceptor that records each request's action, the
//! table or index it reaches and the partition keys it touches (each item of
//! a batch or transaction, as IAM authorizes them). Each recorded request is
//! then evaluated against the function's policy statements: Allow, the
//! action, the resource (`!GetAtt Table.Arn` or `${Table.Arn}/index/NAME`),
//! and `ForAllValues:StringLike` on `dynamodb:LeadingKeys`.

#[path = "support/iam_mfa.rs"]
mod iam_mfa;
#[path = "support/iam_org.rs"]
mod iam_org;
#[path = "support/iam_policy.rs"]
mod iam_policy;

use std::collections::BTreeSet;
use std::sync::Arc;

use accounts::http::Route;
use accounts::model::mail::MailKind;
use accounts::store::dynamo::{DynamoStore, create_table};
use accounts_tests::github::GithubUser;
use accounts_tests::mail::{StreamMailer, link_token};
use accounts_tests::*;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use iam_policy::*;
use serde_json::json;

/// The app on a recording client, and the mailer's own recording client on
/// the same table (on AWS the mailer is a function of its own).
async fn recorded_app() -> (TestApp, Recorder, StreamMailer, Recorder) {
    let recorder = Recorder::default();
    let mailer_recorder = Recorder::default();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(dynamodb_endpoint())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config.clone());
    let table = format!("accounts-iam-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.unwrap();
    let recording = aws_sdk_dynamodb::Client::from_conf(
        config.to_builder().interceptor(recorder.0.clone()).build(),
    );
    let mailer_client = aws_sdk_dynamodb::Client::from_conf(
        config
            .to_builder()
            .interceptor(mailer_recorder.0.clone())
            .build(),
    );
    let t = TestApp::on_store(
        Arc::new(DynamoStore::new(recording, table.clone())),
        Backend::Dynamo,
    );
    let mailer = t.stream_mailer(Arc::new(DynamoStore::new(mailer_client, table)));
    (t, recorder, mailer, mailer_recorder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_function_policy_allows_exactly_what_its_code_does() {
    let (t, recorder, mailer, mailer_recorder) = recorded_app().await;
    let mut observed: Vec<(Route, Access)> = Vec::new();
    let mut record = |route: Route, recorder: &Recorder| {
        observed.extend(recorder.take().into_iter().map(|a| (route, a)));
    };

    recorder.take();
    let ada = t.owner("ada@acme.com").await;
    record(Route::Register, &recorder);

    // Login: success, then failures up to the lock, then a locked attempt.
    let login = t.login("ada@acme.com", PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.body);
    record(Route::Login, &recorder);
    for _ in 0..6 {
        t.login("ada@acme.com", "Wrong-pass-123").await;
    }
    t.login("nobody@acme.com", "Wrong-pass-123").await;
    record(Route::Login, &recorder);
    t.clock.advance(3600);
    let again = t.login("ada@acme.com", PASSWORD).await;
    assert_eq!(again.status, 200, "{}", again.body);
    record(Route::Login, &recorder);
    // The clock moved past the first tokens' lifetime.
    let token = again.str("accessToken");

    // Refresh: a rotation, then a replay after the grace window (reuse).
    let rotated = t.refresh(&login.str("refreshToken")).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    t.clock.advance(60);
    t.refresh(&login.str("refreshToken"))
        .await
        .assert_error(401, "REFRESH_TOKEN_REUSED");
    record(Route::Refresh, &recorder);

    assert_eq!(t.get("/user/profile", &token).await.status, 200);
    record(Route::Profile, &recorder);
    // The first quota read of a table seeds the plan.
    assert_eq!(t.get("/user/quota", &token).await.status, 200);
    record(Route::Quota, &recorder);

    let body = json!({"email": "grace@acme.com", "password": PASSWORD, "firstName": "Grace",
                      "lastName": "Hopper", "orgRole": 0});
    let created = t
        .call("POST", "/organization/users", Some(body), Some(&token))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let grace = created.body["data"]["id"].as_str().unwrap().to_owned();
    let body = json!({"email": "alan@acme.com", "password": PASSWORD, "firstName": "Alan",
                      "lastName": "Turing", "orgRole": 255});
    let created = t
        .call("POST", "/organization/users", Some(body), Some(&token))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // Every member is invited (the passwords above are ignored).
    let body = json!({"email": "edsger@acme.com", "firstName": "Edsger",
                      "lastName": "Dijkstra", "sendInvite": true});
    let created = t
        .call("POST", "/organization/users", Some(body), Some(&token))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let edsger = created.body["data"]["id"].as_str().unwrap().to_owned();
    let body = json!({"email": "olga@acme.com", "firstName": "Olga",
                      "lastName": "Taussky", "orgRole": 255});
    let created = t
        .call("POST", "/organization/users", Some(body), Some(&token))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    record(Route::CreateMember, &recorder);
    // Olga registers her own address: the invitation (an owner's, counted
    // among the owners) is withdrawn in the same write.
    let olga = t
        .post("/user/register", registration("olga@acme.com"))
        .await;
    assert_eq!(olga.status, 201, "{}", olga.body);
    record(Route::Register, &recorder);

    assert_eq!(t.get("/organization/users", &token).await.status, 200);
    record(Route::ListMembers, &recorder);
    assert_eq!(t.get(&format!("/user/{grace}"), &token).await.status, 200);
    record(Route::GetUser, &recorder);

    let renamed = t
        .put(
            &format!("/user/{grace}"),
            json!({"name": "Amazing"}),
            &token,
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let changed = t
        .put(
            &format!("/user/{}", ada.id),
            json!({"password": "Brand-new-pass-789", "currentPassword": PASSWORD}),
            &token,
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    record(Route::UpdateUser, &recorder);

    let promoted = t
        .put(
            &format!("/user/{grace}/role"),
            json!({"orgRole": 2}),
            &token,
        )
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    // Making an owner moves the organization's owner count.
    let crowned = t
        .put(
            &format!("/user/{grace}/role"),
            json!({"orgRole": 255}),
            &token,
        )
        .await;
    assert_eq!(crowned.status, 200, "{}", crowned.body);
    record(Route::UpdateRole, &recorder);

    // Mail: the verification link of olga's registration, then a reset.
    // The outbox listing is the stream's part (no function's): dropped.
    // The mailer's own requests go to its own recorder.
    let mails = mailer.deliver().await;
    recorder.take();
    let verification = mails
        .iter()
        .find(|m| m.kind == MailKind::Verification && m.to == "olga@acme.com")
        .expect("olga's verification mail (ada's died with her password change)");
    let verify_token = link_token(verification, &t.app.config.mail.app_url, "verify-email");
    let accept = |email: &str| {
        let mail = mails
            .iter()
            .find(|m| m.to == email && m.kind == MailKind::Invitation)
            .expect("an invitation");
        let token = link_token(mail, &t.app.config.mail.app_url, "verify-email");
        json!({"token": token, "password": PASSWORD})
    };
    let (grace_accepts, alan_accepts) = (accept("grace@acme.com"), accept("alan@acme.com"));
    let pre = t
        .post("/user/pre-verify-email", json!({"token": verify_token}))
        .await;
    assert_eq!(pre.status, 200, "{}", pre.body);
    record(Route::PreVerifyEmail, &recorder);
    let verified = t
        .post("/user/verify-email", json!({"token": verify_token}))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    for accepted in [grace_accepts, alan_accepts] {
        let accepted = t.post("/user/verify-email", accepted).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
    }
    record(Route::VerifyEmail, &recorder);
    // Edsger's invitation again (no password yet: with the organization's name).
    let resent = t
        .post(&format!("/user/resend-verification/{edsger}"), json!({}))
        .await;
    assert_eq!(resent.status, 200, "{}", resent.body);
    record(Route::ResendVerification, &recorder);
    for email in ["ada@acme.com", "nobody@acme.com"] {
        let asked = t
            .post("/user/request-reset-password", json!({"email": email}))
            .await;
        assert_eq!(asked.status, 200, "{}", asked.body);
    }
    record(Route::RequestPasswordReset, &recorder);
    let mails = mailer.deliver().await;
    recorder.take();
    let reset_mail = mails
        .iter()
        .find(|m| m.kind == MailKind::Reset)
        .expect("ada's reset mail");
    let reset_token = link_token(reset_mail, &t.app.config.mail.app_url, "reset-password");
    let reset = t
        .post(
            "/user/reset-password",
            json!({"token": reset_token, "newPassword": "Reset-pass-246"}),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    record(Route::ResetPassword, &recorder);
    // Signed in again after the reset (which ended every session of ada's).
    let again = t.login("ada@acme.com", "Reset-pass-246").await;
    assert_eq!(again.status, 200, "{}", again.body);
    let token = again.str("accessToken");
    record(Route::Login, &recorder);

    // Sessions: the list (both paths), ending one (both paths), ending all.
    let phone = t.login("grace@acme.com", PASSWORD).await;
    assert_eq!(phone.status, 200, "{}", phone.body);
    let laptop = t.login("grace@acme.com", PASSWORD).await;
    let grace_token = phone.str("accessToken");
    record(Route::Login, &recorder);
    assert_eq!(t.get("/sessions", &grace_token).await.status, 200);
    assert_eq!(t.get("/token", &grace_token).await.status, 200);
    record(Route::ListSessions, &recorder);
    let ended = t
        .call(
            "POST",
            &format!("/sessions/{}/revoke", laptop.str("tokenId")),
            None,
            Some(&grace_token),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    record(Route::RevokeSession, &recorder);
    let tablet = t.login("grace@acme.com", PASSWORD).await;
    record(Route::Login, &recorder);
    let deleted = t
        .call(
            "DELETE",
            &format!("/token/{}", tablet.str("tokenId")),
            None,
            Some(&grace_token),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    record(Route::RevokeSession, &recorder);
    let all = t
        .call("POST", "/sessions/revoke-all", None, Some(&grace_token))
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    record(Route::RevokeAllSessions, &recorder);
    let last = t.login("grace@acme.com", PASSWORD).await;
    record(Route::Login, &recorder);
    let out = t
        .post(
            "/user/logout",
            json!({"refresh_token": last.str("refreshToken")}),
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    record(Route::Logout, &recorder);
    iam_org::organization_management(&t, &token, &ada.org_id, &edsger, &recorder, &mut record)
        .await;
    iam_mfa::multi_factor(&t, &recorder, &mut record).await;
    iam_mfa::magic_link(&t, &recorder, &mut record).await;

    // Leaving: a member (the owner count checked), then two owners (each
    // moves it; a third stays).
    let body = json!({"email": "ken@acme.com", "password": PASSWORD, "firstName": "Ken",
                      "lastName": "Thompson"});
    let created = t
        .call("POST", "/organization/users", Some(body), Some(&token))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    record(Route::CreateMember, &recorder);
    let mails = mailer.deliver().await;
    recorder.take();
    let invitation = mails
        .iter()
        .find(|m| m.to == "ken@acme.com")
        .expect("ken's invitation");
    let ken_token = link_token(invitation, &t.app.config.mail.app_url, "verify-email");
    let accepted = t
        .post(
            "/user/verify-email",
            json!({"token": ken_token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    record(Route::VerifyEmail, &recorder);
    let ken = t.login("ken@acme.com", PASSWORD).await;
    let alan = t.login("alan@acme.com", PASSWORD).await;
    record(Route::Login, &recorder);
    let gone = t
        .call(
            "POST",
            "/user/deactivate",
            None,
            Some(&ken.str("accessToken")),
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    for leaving in [alan.str("accessToken"), token.clone()] {
        let gone = t
            .call("POST", "/user/deactivate", None, Some(&leaving))
            .await;
        assert_eq!(gone.status, 200, "{}", gone.body);
    }
    record(Route::Deactivate, &recorder);
    assert_eq!(t.call("GET", "/health", None, None).await.status, 200);
    record(Route::Health, &recorder);

    // Social sign-in against the local provider, by ID token and by code: a
    // new account, the same subject again, an address with an account
    // (409); linking from a session, twice (the second finds it linked).
    let provider = accounts_tests::oidc::FakeProvider::start().await;
    let s = accounts_tests::oidc::app_with(&t, &provider.settings());
    let now = s.clock_now();
    let p = &provider;
    let id_token = |mint: &str, sub: &str, email: &str| match mint {
        "microsoft" => p.microsoft_token(now, sub, email, json!({})),
        _ => p.google_token(now, sub, email, json!({})),
    };
    let proof = |mint: &str, sub: &str, email: &str| match mint {
        "github" => {
            let id = sub
                .bytes()
                .fold(7u64, |h, b| h.wrapping_mul(31) + u64::from(b))
                >> 12;
            json!({"code": p.github_code(GithubUser::verified(id, email))})
        }
        "google-code" => json!({"code": p.code_for(&id_token("google", sub, email))}),
        "microsoft-code" => json!({"code": p.code_for(&id_token("microsoft", sub, email))}),
        _ => json!({"token": id_token(mint, sub, email)}),
    };
    for (route, link, mint) in [
        (Route::GoogleSignIn, Some(Route::GoogleLink), "google"),
        (
            Route::MicrosoftSignIn,
            Some(Route::MicrosoftLink),
            "microsoft",
        ),
        (Route::GithubSignIn, Some(Route::GithubLink), "github"),
        (Route::GoogleExchange, None, "google-code"),
        (Route::MicrosoftExchange, None, "microsoft-code"),
    ] {
        let path = route.path();
        let owner_email = format!("owner-{mint}@acme.com");
        let owner = s.owner(&owner_email).await;
        record(Route::Register, &recorder);
        let new = s
            .post(
                path,
                proof(mint, &format!("{mint}-new"), &format!("{mint}@social.test")),
            )
            .await;
        assert_eq!(new.status, 200, "{}", new.body);
        let again = s
            .post(
                path,
                proof(mint, &format!("{mint}-new"), "changed@social.test"),
            )
            .await;
        assert_eq!(again.status, 200, "{}", again.body);
        s.post(path, proof(mint, &format!("{mint}-owner"), &owner_email))
            .await
            .assert_error(409, "ACCOUNT_EXISTS");
        record(route, &recorder);
        let Some(link) = link else { continue };
        let access = owner.access_token.clone();
        for _ in 0..2 {
            let linked = s
                .call(
                    "POST",
                    link.path(),
                    Some(proof(mint, &format!("{mint}-owner"), &owner_email)),
                    Some(&access),
                )
                .await;
            assert_eq!(linked.status, 200, "{}", linked.body);
        }
        record(link, &recorder);
    }

    let mut observed: Vec<(&str, Access)> = observed
        .into_iter()
        .map(|(route, access)| (route.function_name(), access))
        .collect();
    let mailed = mailer_recorder.take();
    assert!(!mailed.is_empty(), "the mailer made no request");
    observed.extend(mailed.into_iter().map(|access| ("mailer", access)));

    let template = template();
    let mut refused = Vec::new();
    let mut used: BTreeSet<(&str, String, String)> = BTreeSet::new();
    for (function, access) in &observed {
        let function = *function;
        let statements = policy(&template, function);
        match allowing(&statements, access) {
            Some(_) => {
                for key in &access.leading_keys {
                    used.insert((function, access.action.clone(), kind(key)));
                }
            }
            None => refused.push(format!("{function}: {access:?}")),
        }
    }
    assert!(
        refused.is_empty(),
        "requests the policies refuse:\n  {}",
        refused.join("\n  ")
    );

    // Least privilege: every granted (action, key kind) is used, or is a known race path.
    let mut unused = Vec::new();
    let functions = Route::ALL.iter().map(|route| route.function_name());
    for function in functions.chain(["mailer"]) {
        for statement in policy(&template, function) {
            let patterns = statement.leading_keys.unwrap_or_else(|| {
                panic!(
                    "{function}: {:?} has no LeadingKeys condition",
                    statement.actions
                )
            });
            assert_ne!(
                statement.index.as_deref(),
                Some("*"),
                "{function}: {:?} on every index; name the one it reads",
                statement.actions
            );
            for action in &statement.actions {
                let action = action.trim_start_matches("dynamodb:");
                for pattern in &patterns {
                    let key_kind = pattern.trim_end_matches('*').to_owned();
                    let grant = (function, action.to_owned(), key_kind.clone());
                    let explained = RACE_PATH_GRANTS
                        .iter()
                        .any(|(f, a, k, _)| (*f, *a, *k) == (function, action, key_kind.as_str()));
                    if !used.contains(&grant) && !explained {
                        unused.push(format!("{function}: dynamodb:{action} on {pattern}"));
                    }
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "granted but never used:\n  {}",
        unused.join("\n  ")
    );
    println!(
        "{} DynamoDB accesses, all allowed; {} (function, action, key kind) grants used",
        observed.len(),
        used.len()
    );
}

/// The two public mail functions (anyone may call them, with any id or
/// address) write mail tokens and counts, never a user's profile: those
/// live under keys of their own, and the policies say so.
#[test]
fn the_public_mail_functions_cannot_write_a_profile() {
    let template = template();
    let access = |action: &str, key: &str| Access {
        action: action.to_owned(),
        index: None,
        leading_keys: vec![key.to_owned()],
    };
    let profile = "USER#0b7e6c1a-5d2f-4c3e-9a8b-7f6e5d4c3b2a";
    for function in [
        "post-user-resend-verification",
        "post-user-request-reset-password",
    ] {
        let statements = policy(&template, function);
        for action in ["PutItem", "UpdateItem", "DeleteItem"] {
            assert_eq!(
                allowing(&statements, &access(action, profile)),
                None,
                "{function} may {action} a profile"
            );
        }
        // What they do write is allowed: the refusal above is the key's.
        for key in ["MAILTOKEN#0b7e6c1a", "OUTBOX#1", "MAILLIMIT#ada@acme.com"] {
            assert!(
                allowing(&statements, &access("PutItem", key)).is_some(),
                "{function}: PutItem {key}"
            );
        }
    }
}

#[test]
fn string_like_matches_as_iam_does() {
    assert!(like("USER#*", "USER#123"));
    assert!(like("USER#*", "USER#"));
    assert!(!like("USER#*", "ORG#1"));
    assert!(!like("USER#*", "XUSER#1"));
    assert!(like("A?C", "ABC"));
    assert!(!like("A?C", "AC"));
}
