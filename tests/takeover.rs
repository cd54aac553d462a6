//! Who owns an address (API.md, "Who owns an address"): one test per
//! finding of the account-takeover review, and the Flashback shapes the
//! review found broken, on both stores.

use accounts::mail::render::RenderedMail;
use accounts_tests::mail::link_token;
use accounts_tests::*;
use serde_json::{Value, json};

const APP_URL: &str = "http://localhost:5173";
const NEW_PASSWORD: &str = "Another-pass-456";
const MALLORY_PASSWORD: &str = "Mallory-pass-666";

fn verify_token(mail: &RenderedMail) -> String {
    link_token(mail, APP_URL, "verify-email")
}

fn reset_token(mail: &RenderedMail) -> String {
    link_token(mail, APP_URL, "reset-password")
}

fn strict(t: &TestApp) -> TestApp {
    t.sharing_store(test_config(&[("REQUIRE_VERIFIED_EMAIL", "true")]))
}

async fn sessions_of(t: &TestApp, user_id: &str) -> usize {
    t.store.user_sessions(user_id).await.unwrap().len()
}

async fn invite(t: &TestApp, by: &str, email: &str, extra: Value) -> Reply {
    let mut body = json!({"email": email, "firstName": "Victor", "lastName": "Tim"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    t.call("POST", "/organization/users", Some(body), Some(by))
        .await
}

on_both_stores! {
    // Finding 1: a verification link minted before a reset signed in after it.
    async fn links_minted_before_a_reset_are_dead_after_it(t: TestApp) {
        let registered = t.register("ada@acme.com").await;
        let user_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
        let mailer = t.mailer();
        let first = verify_token(&mailer.deliver().await[0]);
        let resend = t.post(&format!("/user/resend-verification/{user_id}"), json!({})).await;
        assert_eq!(resend.status, 200, "{}", resend.body);
        let second = verify_token(&mailer.deliver().await[0]);

        // The owner resets the password (someone else had the links).
        t.post("/user/request-reset-password", json!({"email": "ada@acme.com"})).await;
        let reset = reset_token(&mailer.deliver().await[0]);
        let done = t.post("/user/reset-password", json!({"token": reset, "newPassword": NEW_PASSWORD})).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(t.store.user_tokens(&user_id).await.unwrap().tokens.is_empty(),
            "a reset spends every other mail token of the user");

        let sessions = sessions_of(&t, &user_id).await;
        for link in [&first, &second] {
            t.post("/user/pre-verify-email", json!({"token": link})).await
                .assert_error(400, "INVALID_VERIFICATION_TOKEN");
            t.post("/user/verify-email", json!({"token": link})).await
                .assert_error(400, "INVALID_VERIFICATION_TOKEN");
        }
        assert_eq!(sessions_of(&t, &user_id).await, sessions, "no session started");
    }

    async fn a_reset_link_dies_with_a_password_change_and_with_deactivation(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let mailer = t.mailer();
        mailer.deliver().await;
        t.post("/user/request-reset-password", json!({"email": "ada@acme.com"})).await;
        let before_change = reset_token(&mailer.deliver().await[0]);
        let changed = t.put(&format!("/user/{}", ada.id),
            json!({"password": NEW_PASSWORD, "currentPassword": PASSWORD}), &ada.access_token).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        t.post("/user/reset-password", json!({"token": before_change, "newPassword": "Third-pass-789"})).await
            .assert_error(400, "INVALID_RESET_TOKEN");
        assert_eq!(t.login("ada@acme.com", NEW_PASSWORD).await.status, 200, "the changed password stands");

        // Revoke-all moves the epoch on too.
        t.post("/user/request-reset-password", json!({"email": "ada@acme.com"})).await;
        let before_revoke = reset_token(&mailer.deliver().await[0]);
        let revoked = t.call("POST", "/sessions/revoke-all", None, Some(&ada.access_token)).await;
        assert_eq!(revoked.status, 200, "{}", revoked.body);
        t.post("/user/reset-password", json!({"token": before_revoke, "newPassword": "Third-pass-789"})).await
            .assert_error(400, "INVALID_RESET_TOKEN");

        // A deactivated account's links do nothing.
        let login = t.login("ada@acme.com", NEW_PASSWORD).await;
        t.post("/user/request-reset-password", json!({"email": "ada@acme.com"})).await;
        let before_leaving = reset_token(&mailer.deliver().await[0]);
        let left = t.call("POST", "/user/deactivate", None, Some(&login.str("accessToken"))).await;
        assert_eq!(left.status, 200, "{}", left.body);
        t.post("/user/reset-password", json!({"token": before_leaving, "newPassword": "Third-pass-789"})).await
            .assert_error(400, "INVALID_RESET_TOKEN");
        let user = t.store.user(&ada.id).await.unwrap().unwrap();
        assert!(!user.is_active());
    }

    // Finding 2, with REQUIRE_VERIFIED_EMAIL off: a session started before
    // the first verification does not outlive it.
    async fn the_first_verification_ends_earlier_sessions(t: TestApp) {
        let mallory = t.owner("ada@acme.com").await;
        let mailer = t.mailer();
        let first = verify_token(&mailer.deliver().await[0]);
        t.post(&format!("/user/resend-verification/{}", mallory.id), json!({})).await;
        let second = verify_token(&mailer.deliver().await[0]);
        assert_eq!(t.get("/user/profile", &mallory.access_token).await.status, 200);

        let verified = t.post("/user/verify-email", json!({"token": first})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        t.get("/user/profile", &mallory.access_token).await.assert_error(401, "SESSION_REVOKED");
        t.refresh(&mallory.refresh_token).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        assert_eq!(t.get("/user/profile", &verified.str("accessToken")).await.status, 200,
            "the verifier's own session is live");
        t.post("/user/verify-email", json!({"token": second})).await
            .assert_error(400, "INVALID_VERIFICATION_TOKEN");
        assert!(t.store.user_tokens(&mallory.id).await.unwrap().tokens.is_empty());
    }

    // Finding 2: pre-hijacking with REQUIRE_VERIFIED_EMAIL=true.
    async fn no_session_before_the_address_is_verified(t: TestApp) {
        let t = strict(&t);
        let mut body = registration("victim@acme.com");
        body["password"] = json!(MALLORY_PASSWORD);
        let registered = t.post("/user/register", body).await;
        assert_eq!(registered.status, 201, "{}", registered.body);
        for field in ["accessToken", "refreshToken", "tokenId", "expiresAt"] {
            assert!(registered.body.get(field).is_none(), "{field} in {}", registered.body);
        }
        let user_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
        assert_eq!(registered.body["verificationTokenId"], json!(user_id));
        assert_eq!(registered.body["user"]["email"], json!("victim@acme.com"));
        assert_eq!(sessions_of(&t, &user_id).await, 0, "no session stored");
        t.login("victim@acme.com", MALLORY_PASSWORD).await.assert_error(403, "EMAIL_NOT_VERIFIED");
        assert_eq!(sessions_of(&t, &user_id).await, 0);

        // The owner of the mailbox verifies: signed in, the only session.
        let link = verify_token(&t.mailer().deliver().await[0]);
        let verified = t.post("/user/verify-email", json!({"token": link})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(sessions_of(&t, &user_id).await, 1);
        assert_eq!(verified.headers["cache-control"], "no-store");
    }

    // Finding 3: squatting an address through member creation.
    async fn a_member_created_for_someone_elses_address_holds_nothing(t: TestApp) {
        let mallory = t.owner("mallory@evil.example").await;
        let mailer = t.mailer();
        mailer.deliver().await;
        let created = invite(&t, &mallory.access_token, "victim@acme.com",
            json!({"password": MALLORY_PASSWORD})).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["data"]["validated"], json!(false));
        assert_eq!(created.body["data"]["deletedAt"], Value::Null);
        assert!(created.body["data"].as_object().unwrap().contains_key("deletedAt"));
        assert_eq!(created.body["data"]["pendingInvitation"], json!(true));
        let squat_id = created.body["data"]["id"].as_str().unwrap().to_owned();
        // The admin's password signs nobody in; the invitation went out anyway.
        t.login("victim@acme.com", MALLORY_PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        let invitation = mailer.deliver().await;
        assert_eq!(invitation.len(), 1, "invited without sendInvite");
        assert_eq!(invitation[0].to, "victim@acme.com");
        let invitation = verify_token(&invitation[0]);
        let listed = t.get("/organization/users", &mallory.access_token).await;
        assert_eq!(listed.body["total"], json!(2), "{}", listed.body);

        // The owner of the address registers: it wins, in an organization of its own.
        let victim = t.post("/user/register", registration("victim@acme.com")).await;
        assert_eq!(victim.status, 201, "{}", victim.body);
        let victim_org = victim.body["user"]["orgId"].as_str().unwrap();
        assert_ne!(victim_org, mallory.org_id);
        assert_eq!(victim.body["user"]["orgRole"], json!(255));
        let listed = t.get("/organization/users", &mallory.access_token).await;
        assert_eq!(listed.body["total"], json!(1), "invitation withdrawn: {}", listed.body);
        assert!(t.store.user(&squat_id).await.unwrap().is_none());
        let stored = t.store.user_by_email("victim@acme.com").await.unwrap().unwrap();
        assert_eq!(stored.org_id, victim_org);
        // The withdrawn invitation does nothing.
        t.post("/user/verify-email", json!({"token": invitation, "password": MALLORY_PASSWORD})).await
            .assert_error(400, "INVALID_VERIFICATION_TOKEN");
        assert_eq!(t.login("victim@acme.com", PASSWORD).await.status, 200);
        t.login("victim@acme.com", MALLORY_PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        // An accepted invitation does hold its address.
        invite(&t, &mallory.access_token, "grace@acme.com", json!({})).await;
        let mails = mailer.deliver().await;
        let accept = verify_token(mails.iter().find(|m| m.to == "grace@acme.com").unwrap());
        let accepted = t.post("/user/verify-email", json!({"token": accept, "password": NEW_PASSWORD})).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        t.post("/user/register", registration("grace@acme.com")).await
            .assert_error(409, "EMAIL_ALREADY_REGISTERED");
    }

    // Finding 4: invitations as a mail cannon.
    async fn invitations_are_capped_and_name_no_organization_in_the_subject(t: TestApp) {
        let mut body = registration("mallory@evil.example");
        body["companyName"] = json!("Your account is locked: visit evil.example");
        let mallory = t.post("/user/register", body).await;
        assert_eq!(mallory.status, 201, "{}", mallory.body);
        let token = mallory.str("accessToken");
        let mailer = t.mailer();
        mailer.deliver().await;
        for i in 0..20 {
            let created = invite(&t, &token, &format!("target{i}@acme.com"), json!({})).await;
            assert_eq!(created.status, 201, "{i}: {}", created.body);
        }
        let over = invite(&t, &token, "target20@acme.com", json!({})).await;
        over.assert_error(429, "TOO_MANY_ATTEMPTS");
        assert!(t.store.user_by_email("target20@acme.com").await.unwrap().is_none());
        let mails = mailer.deliver().await;
        assert_eq!(mails.len(), 20);
        for mail in &mails {
            assert_eq!(mail.subject, "You have been invited to join an organization");
            assert!(!mail.subject.contains("evil"), "{}", mail.subject);
        }
        // An hour later the organization may invite again.
        t.clock.advance(3601);
        let login = t.login("mallory@evil.example", PASSWORD).await;
        let later = invite(&t, &login.str("accessToken"), "target20@acme.com", json!({})).await;
        assert_eq!(later.status, 201, "{}", later.body);
        mailer.deliver().await;

        // Per address: 3 invitation mails a day, resends included.
        let id = later.body["data"]["id"].as_str().unwrap().to_owned();
        for _ in 0..3 {
            let resent = t.post(&format!("/user/resend-verification/{id}"), json!({})).await;
            assert_eq!(resent.status, 200, "{}", resent.body);
            t.clock.advance(3601);
        }
        assert_eq!(mailer.deliver().await.len(), 2, "the third mail to the address is the last today");
    }
}

on_both_stores! {
    async fn flashback_clients_read_what_their_types_say(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let again = t.post("/user/register", registration("alan@acme.com")).await;
        assert_eq!(again.headers["cache-control"], "no-store");
        // getTokens() reads `tokens` from GET /token.
        let tokens = t.get("/token", &ada.access_token).await;
        assert_eq!(tokens.status, 200, "{}", tokens.body);
        let items = tokens.body["tokens"].as_array().expect("tokens");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["current"], json!(true));
        assert_eq!(items[0]["loginMethod"], json!("LOCAL"));
        let sessions = t.get("/sessions", &ada.access_token).await;
        assert_eq!(sessions.body["sessions"], tokens.body["tokens"]);

        // preVerifyEmail's authMethod is Flashback's word.
        let mails = t.mailer().deliver().await;
        let link = verify_token(mails.iter().find(|m| m.to == "ada@acme.com").unwrap());
        let pre = t.post("/user/pre-verify-email", json!({"token": link})).await;
        assert_eq!(pre.body["authMethod"], json!("LOCAL"), "{}", pre.body);

        // updateUser({password}) right after signing in: no currentPassword.
        let login = t.login("ada@acme.com", PASSWORD).await;
        assert_eq!(login.headers["cache-control"], "no-store");
        let path = format!("/user/{}", ada.id);
        let changed = t.put(&path, json!({"password": NEW_PASSWORD}), &login.str("accessToken")).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        assert_eq!(t.login("ada@acme.com", NEW_PASSWORD).await.status, 200);
        // Five minutes after the sign-in, the current password again.
        t.clock.advance(301);
        let refreshed = t.refresh(&login.str("refreshToken")).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        assert_eq!(refreshed.headers["cache-control"], "no-store");
        t.put(&path, json!({"password": "Third-pass-789"}), &refreshed.str("accessToken")).await
            .assert_error(400, "CURRENT_PASSWORD_REQUIRED");

        // Member items carry deletedAt (null while a member).
        let members = t.get("/organization/users", &refreshed.str("accessToken")).await;
        let item = &members.body["data"][0];
        assert!(item.as_object().unwrap().contains_key("deletedAt"), "{item}");
        assert_eq!(item["deletedAt"], Value::Null);
        assert_eq!(item["pendingInvitation"], json!(false));
    }
}
