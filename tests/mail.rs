//! Email verification and password reset through the outbox, on both
//! stores: what the endpoints write, the mail the mailer renders from it,
//! the links' tokens spent through the endpoints, and every refusal.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;

use accounts::mail::deliver::Delivery;
use accounts::model::mail::TokenPurpose;
use accounts_tests::mail::link_token;
use accounts_tests::race::race;
use accounts_tests::*;
use serde_json::{Value, json};

const APP_URL: &str = "http://localhost:5173";
const NEW_PASSWORD: &str = "Another-pass-456";

fn verify_token(mail: &accounts::mail::render::RenderedMail) -> String {
    link_token(mail, APP_URL, "verify-email")
}

fn reset_token(mail: &accounts::mail::render::RenderedMail) -> String {
    link_token(mail, APP_URL, "reset-password")
}

async fn user_version(t: &TestApp, email: &str) -> u64 {
    t.store
        .user_by_email(email)
        .await
        .unwrap()
        .expect("user")
        .version
}

async fn request_reset(t: &TestApp, email: &str) -> Reply {
    let reply = t
        .post("/user/request-reset-password", json!({"email": email}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"success": true, "message": "If the address has an account, a reset link has been sent"})
    );
    reply
}

/// Registers `email` and returns the token of its verification mail.
async fn registered_with_token(t: &TestApp, email: &str) -> (Reply, String) {
    let registered = t.register(email).await;
    let mails = t.mailer().deliver().await;
    assert_eq!(mails.len(), 1, "one verification mail");
    (registered, verify_token(&mails[0]))
}

/// Registers `email`, asks for a reset and returns the reset mail's token.
async fn reset_link(t: &TestApp, email: &str) -> String {
    t.register(email).await;
    let mailer = t.mailer();
    mailer.deliver().await;
    request_reset(t, email).await;
    let mails = mailer.deliver().await;
    assert_eq!(mails.len(), 1, "one reset mail");
    reset_token(&mails[0])
}

on_both_stores! {
    async fn register_mails_a_verification_link_that_signs_in_once(t: TestApp) {
        let registered = t.register("ada@acme.com").await;
        let user_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
        assert_eq!(registered.body["verificationTokenId"], json!(user_id));
        // Written with the account: the token's hash and its mail.
        let stored = t.store.user_tokens(&user_id).await.unwrap();
        assert_eq!(stored.tokens.len(), 1);
        assert_eq!(stored.tokens[0].purpose, TokenPurpose::Verify);
        let outbox = t.store.outbox().await.unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].sent_at, None);

        let mails = t.mailer().deliver().await;
        assert_eq!(mails.len(), 1);
        let mail = &mails[0];
        assert_eq!(mail.to, "ada@acme.com");
        assert_eq!(mail.subject, "Confirm your email address");
        assert!(mail.text.contains("Hello Ada,"), "{}", mail.text);
        let token = verify_token(mail);
        assert!(token.len() >= 43, "at least 256 bits in all");
        assert!(mail.html.contains(&format!("{APP_URL}/verify-email?token={token}")));
        assert_ne!(stored.tokens[0].hash, token, "only a hash is stored");
        assert_eq!(stored.tokens[0].hash, accounts::auth::mail_token::hash(&token));
        // Sent: the record keeps no token.
        let outbox = t.store.outbox().await.unwrap();
        assert!(outbox[0].sent_at.is_some());
        assert_eq!(outbox[0].token, None);

        // pre-verify looks without spending, as often as asked.
        for _ in 0..2 {
            let pre = t.post("/user/pre-verify-email", json!({"token": token})).await;
            assert_eq!(pre.status, 200, "{}", pre.body);
            assert_eq!(pre.body["success"], json!(true));
            assert_eq!(pre.body["authMethod"], json!("LOCAL"));
            assert_eq!(pre.body["hasPassword"], json!(true));
        }
        assert!(!t.store.user(&user_id).await.unwrap().unwrap().validated);

        let verified = t.post("/user/verify-email", json!({"token": token})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(verified.body["user"]["id"], json!(user_id));
        let session_id = verified.str("tokenId");
        assert!(t.store.session(&session_id).await.unwrap().is_some(), "signed in");
        let profile = t.get("/user/profile", &verified.str("accessToken")).await;
        assert_eq!(profile.status, 200, "{}", profile.body);
        assert_eq!(profile.body["data"]["validated"], json!(true));
        assert!(t.store.user_tokens(&user_id).await.unwrap().tokens.is_empty(), "spent");

        let again = t.post("/user/verify-email", json!({"token": token})).await;
        again.assert_error(400, "INVALID_VERIFICATION_TOKEN");
        t.post("/user/pre-verify-email", json!({"token": token})).await
            .assert_error(400, "INVALID_VERIFICATION_TOKEN");
        assert_eq!(t.mailer().deliver().await.len(), 0, "nothing more to send");
    }

    async fn verification_tokens_expire_after_a_day(t: TestApp) {
        let (registered, token) = registered_with_token(&t, "ada@acme.com").await;
        let version = user_version(&t, "ada@acme.com").await;
        t.clock.advance(24 * 3600);
        t.post("/user/verify-email", json!({"token": token})).await
            .assert_error(400, "INVALID_VERIFICATION_TOKEN");
        assert_eq!(user_version(&t, "ada@acme.com").await, version, "nothing written");
        let user_id = registered.body["user"]["id"].as_str().unwrap();
        assert!(!t.store.user(user_id).await.unwrap().unwrap().validated);
    }

    async fn mailed_tokens_work_up_to_their_last_second(t: TestApp) {
        // A verification token lives a day.
        let (_, token) = registered_with_token(&t, "ada@acme.com").await;
        t.clock.advance(24 * 3600 - 1);
        let verified = t.post("/user/verify-email", json!({"token": token})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        // A reset token 30 minutes.
        let reset = reset_link(&t, "bob@acme.com").await;
        t.clock.advance(30 * 60 - 1);
        let done = t.post("/user/reset-password", json!({"token": reset, "newPassword": NEW_PASSWORD})).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(t.login("bob@acme.com", NEW_PASSWORD).await.status, 200);
    }

    async fn mail_links_go_to_the_configured_app_url(t: TestApp) {
        let app_url = "https://app.acme.test/accounts";
        let other = t.sharing_store(test_config(&[("APP_URL", app_url)]));
        other.register("ada@acme.com").await;
        let mails = other.mailer().deliver().await;
        assert_eq!(mails.len(), 1);
        assert!(!mails[0].text.contains(APP_URL) && !mails[0].html.contains(APP_URL), "{}", mails[0].text);
        let token = link_token(&mails[0], app_url, "verify-email");
        assert!(mails[0].html.contains(&format!("{app_url}/verify-email?token={token}")));
        let verified = other.post("/user/verify-email", json!({"token": token})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
    }

    async fn a_reset_sets_the_password_and_ends_every_session(t: TestApp) {
        let registered = t.register("ada@acme.com").await;
        let user_id = registered.body["user"]["id"].as_str().unwrap().to_owned();
        let mailer = t.mailer();
        mailer.deliver().await;
        let second_login = t.login("ada@acme.com", PASSWORD).await;
        for _ in 0..3 {
            t.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        }
        assert!(t.store.login_throttle("ada@acme.com").await.unwrap().is_some());

        request_reset(&t, " ADA@acme.com ").await;
        request_reset(&t, "ada@acme.com").await;
        let mails = mailer.deliver().await;
        assert_eq!(mails.len(), 2);
        assert_eq!(mails[0].to, "ada@acme.com");
        assert_eq!(mails[0].subject, "Reset your password");
        let (first, second) = (reset_token(&mails[0]), reset_token(&mails[1]));
        assert_ne!(first, second);

        // A weak password spends nothing.
        let version = user_version(&t, "ada@acme.com").await;
        t.post("/user/reset-password", json!({"token": first, "newPassword": "short"})).await
            .assert_error(400, "WEAK_PASSWORD");
        assert_eq!(user_version(&t, "ada@acme.com").await, version);

        let reset = t.post("/user/reset-password", json!({"token": first, "newPassword": NEW_PASSWORD})).await;
        assert_eq!(reset.status, 200, "{}", reset.body);
        assert_eq!(reset.body, json!({"success": true, "message": "Password reset"}));

        let user = t.store.user(&user_id).await.unwrap().unwrap();
        assert!(user.validated, "a reset verifies the address");
        assert!(t.store.login_throttle("ada@acme.com").await.unwrap().is_none(), "throttle cleared");
        // Every session ended: their access tokens at once, their refresh tokens too.
        for signed_in in [&registered, &second_login] {
            let session = t.store.session(&signed_in.str("tokenId")).await.unwrap().unwrap();
            assert!(!session.is_live_for(&user, t.clock_now()));
            t.get("/user/profile", &signed_in.str("accessToken")).await
                .assert_error(401, "SESSION_REVOKED");
            assert_eq!(t.refresh(&signed_in.str("refreshToken")).await.status, 401);
        }
        // Every outstanding reset token went with it.
        let left = t.store.user_tokens(&user_id).await.unwrap().tokens;
        assert!(left.iter().all(|t| t.purpose == TokenPurpose::Verify), "{left:?}");
        t.post("/user/reset-password", json!({"token": second, "newPassword": NEW_PASSWORD})).await
            .assert_error(400, "INVALID_RESET_TOKEN");
        t.post("/user/reset-password", json!({"token": first, "newPassword": NEW_PASSWORD})).await
            .assert_error(400, "INVALID_RESET_TOKEN");

        t.login("ada@acme.com", PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        let login = t.login("ada@acme.com", NEW_PASSWORD).await;
        assert_eq!(login.status, 200, "{}", login.body);
    }

    async fn an_unknown_address_is_answered_alike_and_mailed_nothing(t: TestApp) {
        t.register("ada@acme.com").await;
        let mailer = t.mailer();
        mailer.deliver().await;
        let known = request_reset(&t, "ada@acme.com").await;
        let unknown = request_reset(&t, "nobody@acme.com").await;
        assert_eq!(known.body, unknown.body);
        let mails = mailer.deliver().await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, "ada@acme.com");
        // Malformed addresses are input errors, like register's.
        t.post("/user/request-reset-password", json!({"email": "not-an-email"})).await
            .assert_error(400, "VALIDATION_ERROR");
    }

    async fn three_reset_mails_per_address_per_hour(t: TestApp) {
        t.register("ada@acme.com").await;
        let mailer = t.mailer();
        mailer.deliver().await;
        for _ in 0..5 {
            request_reset(&t, "ada@acme.com").await;
        }
        assert_eq!(mailer.deliver().await.len(), 3);
        t.clock.advance(3600);
        request_reset(&t, "ada@acme.com").await;
        assert_eq!(mailer.deliver().await.len(), 1, "a new hour, a new mail");
    }

    async fn bad_tokens_are_refused_with_their_codes_and_write_nothing(t: TestApp) {
        let (_, verify) = registered_with_token(&t, "ada@acme.com").await;
        request_reset(&t, "ada@acme.com").await;
        let reset = reset_token(&t.mailer().deliver().await[0]);
        let version = user_version(&t, "ada@acme.com").await;
        let sixty_four_a = "A".repeat(64);
        let malformed: [Value; 5] = [
            json!("nope"), json!(""), json!(sixty_four_a), json!("x".repeat(5000)),
            json!(format!("{}", &verify[..verify.len() - 1])),
        ];
        for token in &malformed {
            t.post("/user/verify-email", json!({"token": token})).await
                .assert_error(400, "INVALID_VERIFICATION_TOKEN");
            t.post("/user/pre-verify-email", json!({"token": token})).await
                .assert_error(400, "INVALID_VERIFICATION_TOKEN");
            t.post("/user/reset-password", json!({"token": token, "newPassword": NEW_PASSWORD})).await
                .assert_error(400, "INVALID_RESET_TOKEN");
        }
        // Another kind's token.
        t.post("/user/verify-email", json!({"token": reset})).await
            .assert_error(400, "INVALID_VERIFICATION_TOKEN");
        t.post("/user/pre-verify-email", json!({"token": reset})).await
            .assert_error(400, "INVALID_VERIFICATION_TOKEN");
        t.post("/user/reset-password", json!({"token": verify, "newPassword": NEW_PASSWORD})).await
            .assert_error(400, "INVALID_RESET_TOKEN");
        // Missing or mistyped fields.
        t.post("/user/reset-password", json!({"token": reset})).await
            .assert_error(400, "VALIDATION_ERROR");
        t.post("/user/verify-email", json!({"token": 5})).await
            .assert_error(400, "VALIDATION_ERROR");
        // Expired: reset tokens live 30 minutes.
        t.clock.advance(30 * 60);
        t.post("/user/reset-password", json!({"token": reset, "newPassword": NEW_PASSWORD})).await
            .assert_error(400, "INVALID_RESET_TOKEN");
        assert_eq!(user_version(&t, "ada@acme.com").await, version, "nothing written");
        let user = t.store.user_by_email("ada@acme.com").await.unwrap().unwrap();
        assert_eq!(t.store.user_tokens(&user.id).await.unwrap().tokens.len(), 2);
        assert!(!user.validated);
        // The still valid verification token works after all that.
        let verified = t.post("/user/verify-email", json!({"token": verify})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
    }

    async fn login_waits_for_verification_when_required(t: TestApp) {
        let strict = t.sharing_store(test_config(&[("REQUIRE_VERIFIED_EMAIL", "true")]));
        let (_, token) = registered_with_token(&strict, "ada@acme.com").await;
        strict.login("ada@acme.com", PASSWORD).await.assert_error(403, "EMAIL_NOT_VERIFIED");
        strict.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        let verified = strict.post("/user/verify-email", json!({"token": token})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(strict.login("ada@acme.com", PASSWORD).await.status, 200);
        // The default: unverified accounts sign in.
        t.register("grace@acme.com").await;
        assert_eq!(t.login("grace@acme.com", PASSWORD).await.status, 200);
    }

    async fn a_mail_delivered_twice_is_sent_once_and_an_outage_loses_none(t: TestApp) {
        t.register("ada@acme.com").await;
        let mailer = t.mailer();
        let id = t.store.outbox().await.unwrap()[0].id.clone();
        mailer.inbox.down.store(true, Ordering::SeqCst);
        assert!(mailer.mailer.deliver(&id).await.is_err(), "the provider is down");
        assert!(mailer.mailer.deliver(&id).await.is_err(), "still down, still claimable");
        assert!(mailer.inbox.mails().is_empty());
        mailer.inbox.down.store(false, Ordering::SeqCst);
        assert_eq!(mailer.mailer.deliver(&id).await.unwrap(), Delivery::Sent);
        assert_eq!(mailer.mailer.deliver(&id).await.unwrap(), Delivery::Skipped);
        assert_eq!(mailer.inbox.mails().len(), 1);
        // Two mailers on one record at once: one mail.
        request_reset(&t, "ada@acme.com").await;
        let pending = t.store.outbox().await.unwrap().into_iter().find(|m| m.sent_at.is_none()).unwrap();
        let racers = [t.mailer(), t.mailer()].map(|m| {
            let id = pending.id.clone();
            async move { (m.mailer.deliver(&id).await.unwrap(), m.inbox.mails().len()) }
        });
        // Each claims the record in the store first.
        let raced = race(racers).await;
        raced.assert_overlapped_on(t.backend);
        let mut outcomes = raced.answers;
        outcomes.sort_by_key(|(d, _)| *d == Delivery::Sent);
        assert_eq!(outcomes, [(Delivery::Skipped, 0), (Delivery::Sent, 1)]);
    }

    async fn two_resets_with_two_tokens_at_once_one_wins(t: TestApp) {
        t.register("ada@acme.com").await;
        let mailer = t.mailer();
        mailer.deliver().await;
        request_reset(&t, "ada@acme.com").await;
        request_reset(&t, "ada@acme.com").await;
        let tokens: Vec<String> = mailer.deliver().await.iter().map(reset_token).collect();
        let passwords = ["First-pass-111", "Second-pass-222"];
        let racers = tokens.iter().zip(passwords).map(|(token, password)| {
            let (t, body) = (t.clone(), json!({"token": token, "newPassword": password}));
            async move { t.post("/user/reset-password", body).await }
        });
        let race = race(racers).await;
        race.assert_overlapped_on(t.backend);
        let winners: Vec<usize> = (0..2).filter(|i| race.answers[*i].status == 200).collect();
        assert_eq!(winners.len(), 1, "{:?}", race.answers);
        let loser = 1 - winners[0];
        race.answers[loser].assert_error(400, "INVALID_RESET_TOKEN");
        assert_eq!(t.login("ada@acme.com", passwords[winners[0]]).await.status, 200);
        t.login("ada@acme.com", passwords[loser]).await.assert_error(401, "INVALID_CREDENTIALS");
    }

    async fn verify_email_twice_at_once_signs_in_once(t: TestApp) {
        let (registered, token) = registered_with_token(&t, "ada@acme.com").await;
        let racers = (0..2).map(|_| {
            let (t, body) = (t.clone(), json!({"token": token}));
            async move { t.post("/user/verify-email", body).await }
        });
        let race = race(racers).await;
        race.assert_overlapped_on(t.backend);
        let ok = race.answers.iter().filter(|r| r.status == 200).count();
        assert_eq!(ok, 1, "{:?}", race.answers);
        for loser in race.answers.iter().filter(|r| r.status != 200) {
            loser.assert_error(400, "INVALID_VERIFICATION_TOKEN");
        }
        let user_id = registered.body["user"]["id"].as_str().unwrap();
        let user = t.store.user(user_id).await.unwrap().unwrap();
        assert!(user.validated);
        assert_eq!(user.version, 2, "one write");
    }

    async fn a_reset_racing_a_login_leaves_no_session_of_the_old_password(t: TestApp) {
        let reset = reset_link(&t, "ada@acme.com").await;
        let (login_t, reset_t) = (t.clone(), t.clone());
        let login: Pin<Box<dyn Future<Output = Reply> + Send>> =
            Box::pin(async move { login_t.login("ada@acme.com", PASSWORD).await });
        let reset = Box::pin(async move {
            reset_t.post("/user/reset-password", json!({"token": reset, "newPassword": NEW_PASSWORD})).await
        });
        // Both hash a password (off the async threads), on either store:
        // both are in flight before either answers.
        let raced = race([login, reset]).await;
        raced.assert_overlapped();
        let [login, reset] = <[Reply; 2]>::try_from(raced.answers).unwrap();
        assert_eq!(reset.status, 200, "{}", reset.body);
        match login.status {
            // The login came first: the reset ended its session.
            200 => {
                let session = t.store.session(&login.str("tokenId")).await.unwrap().unwrap();
                let user = t.store.user_by_email("ada@acme.com").await.unwrap().unwrap();
                assert!(
                    !session.is_live_for(&user, t.clock_now()),
                    "a session of the old password outlived the reset"
                );
                t.get("/user/profile", &login.str("accessToken")).await
                    .assert_error(401, "SESSION_REVOKED");
            }
            _ => login.assert_error(401, "INVALID_CREDENTIALS"),
        }
        assert_eq!(t.login("ada@acme.com", NEW_PASSWORD).await.status, 200);
    }
}

on_both_stores! {
    async fn an_invited_member_sets_its_password_through_the_invitation(t: TestApp) {
        let mut registration = registration("ada@acme.com");
        registration["companyName"] = json!("Acme & <Sons>");
        let owner = t.post("/user/register", registration).await;
        assert_eq!(owner.status, 201, "{}", owner.body);
        let token = owner.str("accessToken");
        let mailer = t.mailer();
        mailer.deliver().await;

        // Invited whether or not sendInvite says so.
        let invite = json!({"email": "grace@acme.com", "firstName": "Grace", "lastName": "Hopper"});
        let created = t.call("POST", "/organization/users", Some(invite), Some(&token)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["data"]["validated"], json!(false));
        let member_id = created.body["data"]["id"].as_str().unwrap().to_owned();
        // No password yet: no password signs in, the right one least of all.
        t.login("grace@acme.com", PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        t.login("grace@acme.com", "").await.assert_error(400, "VALIDATION_ERROR");

        let mails = mailer.deliver().await;
        assert_eq!(mails.len(), 1);
        let mail = &mails[0];
        assert_eq!(mail.to, "grace@acme.com");
        assert_eq!(mail.subject, "You have been invited to join an organization");
        assert!(mail.text.contains("Hello Grace,") && mail.text.contains("\"Acme & <Sons>\""), "{}", mail.text);
        assert!(mail.html.contains("Acme &amp; &lt;Sons&gt;"), "{}", mail.html);
        assert!(!mail.html.contains("<Sons>"), "{}", mail.html);
        let invitation = verify_token(mail);

        let pre = t.post("/user/pre-verify-email", json!({"token": invitation})).await;
        assert_eq!(pre.status, 200, "{}", pre.body);
        assert_eq!(pre.body["hasPassword"], json!(false));
        let version = user_version(&t, "grace@acme.com").await;
        t.post("/user/verify-email", json!({"token": invitation})).await
            .assert_error(400, "VALIDATION_ERROR");
        t.post("/user/verify-email", json!({"token": invitation, "password": "weak"})).await
            .assert_error(400, "WEAK_PASSWORD");
        assert_eq!(user_version(&t, "grace@acme.com").await, version, "nothing written");

        let accepted = t.post("/user/verify-email", json!({"token": invitation, "password": NEW_PASSWORD})).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        assert_eq!(accepted.body["user"]["id"], json!(member_id));
        assert_eq!(accepted.body["user"]["orgRole"], json!(0));
        let member = t.store.user(&member_id).await.unwrap().unwrap();
        assert!(member.validated);
        assert_eq!(t.login("grace@acme.com", NEW_PASSWORD).await.status, 200);

        // A password given by the admin is ignored: the member chooses its own.
        let both = json!({"email": "alan@acme.com", "password": PASSWORD, "firstName": "Alan",
                          "lastName": "Turing", "sendInvite": false});
        let created = t.call("POST", "/organization/users", Some(both), Some(&token)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        t.login("alan@acme.com", PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        let invitation = verify_token(&mailer.deliver().await[0]);
        let pre = t.post("/user/pre-verify-email", json!({"token": invitation})).await;
        assert_eq!(pre.body["hasPassword"], json!(false));
        let accepted = t.post("/user/verify-email", json!({"token": invitation, "password": NEW_PASSWORD})).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        t.login("alan@acme.com", PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        assert_eq!(t.login("alan@acme.com", NEW_PASSWORD).await.status, 200, "the member's own");
    }
}

on_both_stores! {
    async fn resend_verification_mails_again_three_times_an_hour_and_reveals_nothing(t: TestApp) {
        let registered = t.register("ada@acme.com").await;
        let id = registered.str("verificationTokenId");
        let mailer = t.mailer();
        assert_eq!(mailer.deliver().await.len(), 1, "register's own");
        let resend = |id: String| {
            let t = t.clone();
            async move {
                let reply = t.post(&format!("/user/resend-verification/{id}"), json!({})).await;
                assert_eq!(reply.status, 200, "{}", reply.body);
                reply
            }
        };
        let answer = resend(id.clone()).await.body;
        for _ in 0..4 {
            assert_eq!(resend(id.clone()).await.body, answer);
        }
        let mails = mailer.deliver().await;
        assert_eq!(mails.len(), 3, "three an hour");
        assert!(mails.iter().all(|m| m.to == "ada@acme.com" && m.subject == "Confirm your email address"));
        // Unknown and malformed ids: the same answer, no mail.
        for other in ["00000000-0000-0000-0000-000000000000".to_owned(), "nope".to_owned()] {
            assert_eq!(resend(other).await.body, answer);
        }
        assert!(mailer.deliver().await.is_empty());
        // Each link works; the first one spent verifies the account, and a
        // verified account is mailed nothing more.
        let verified = t.post("/user/verify-email", json!({"token": verify_token(&mails[2])})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        t.clock.advance(3600);
        assert_eq!(resend(id.clone()).await.body, answer);
        assert!(mailer.deliver().await.is_empty(), "already verified");
    }
}
