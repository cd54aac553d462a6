//! POST /user/login, on both stores.

use accounts::model::UserStatus;
use accounts_tests::*;
use serde_json::json;

async fn deactivate(t: &TestApp, email: &str) {
    let mut user = t.store.user_by_email(email).await.unwrap().unwrap();
    user.status = UserStatus::Inactive;
    user.version += 1;
    t.store.update_user(&user).await.unwrap();
}

fn retry_after(reply: &Reply) -> i64 {
    reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

on_both_stores! {
    async fn signs_in_with_any_case_of_the_email(t: TestApp) {
        let registered = t.register("ada@acme.com").await;
        let reply = t.post("/user/login", json!({
            "email": " ADA@acme.com ",
            "password": PASSWORD,
            "deviceInfo": {"userAgent": "curl/8", "deviceType": "desktop", "os": "linux"}
        })).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let b = &reply.body;
        assert_eq!(b["success"], json!(true));
        assert_eq!(b["user"], registered.body["user"]);
        assert_eq!(b["expiresAt"], json!(T0 + 3600));
        assert_ne!(b["tokenId"], registered.body["tokenId"], "a new session per login");
        let session = t.store.session(b["tokenId"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(session.device_info, Some(json!({"userAgent": "curl/8", "deviceType": "desktop", "os": "linux"})));
        assert_eq!(session.token_hash, accounts::auth::refresh::hash(b["refreshToken"].as_str().unwrap()));
    }

    async fn unknown_email_and_wrong_password_answer_alike(t: TestApp) {
        t.register("ada@acme.com").await;
        let wrong = t.login("ada@acme.com", "Wrong-pass-123").await;
        let unknown = t.login("nobody@acme.com", PASSWORD).await;
        wrong.assert_error(401, "INVALID_CREDENTIALS");
        assert_eq!(wrong.status, unknown.status);
        assert_eq!(wrong.body, unknown.body, "identical bodies reveal nothing");
        assert!(!wrong.body.to_string().contains("Wrong-pass-123"));
        let malformed = t.login("not-an-email", PASSWORD).await;
        assert_eq!(malformed.body, unknown.body);
    }

    async fn a_deactivated_account_is_refused_after_a_correct_password(t: TestApp) {
        t.register("ada@acme.com").await;
        deactivate(&t, "ada@acme.com").await;
        t.login("ada@acme.com", PASSWORD).await.assert_error(403, "USER_INACTIVE");
        t.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
    }

    async fn five_failures_lock_the_address_even_for_the_right_password(t: TestApp) {
        t.register("ada@acme.com").await;
        for _ in 0..5 {
            t.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        }
        let locked = t.login("ada@acme.com", PASSWORD).await;
        locked.assert_error(429, "TOO_MANY_ATTEMPTS");
        assert_eq!(retry_after(&locked), 60);
        // Another case of the same address is the same address.
        t.login("ADA@acme.com", PASSWORD).await.assert_error(429, "TOO_MANY_ATTEMPTS");

        t.clock.advance(61);
        t.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        let longer = t.login("ada@acme.com", PASSWORD).await;
        longer.assert_error(429, "TOO_MANY_ATTEMPTS");
        assert_eq!(retry_after(&longer), 120, "the wait doubles with a further failure");

        t.clock.advance(121);
        assert_eq!(t.login("ada@acme.com", PASSWORD).await.status, 200);
        assert!(t.store.login_throttle("ada@acme.com").await.unwrap().is_none(), "success resets the count");
        for _ in 0..4 {
            t.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        }
        assert_eq!(t.login("ada@acme.com", PASSWORD).await.status, 200, "four fresh failures do not lock");
    }

    async fn the_wait_is_capped_at_fifteen_minutes(t: TestApp) {
        t.register("ada@acme.com").await;
        for _ in 0..5 {
            t.login("ada@acme.com", "Wrong-pass-123").await;
        }
        let mut waits = Vec::new();
        for _ in 0..6 {
            let reply = t.login("ada@acme.com", PASSWORD).await;
            reply.assert_error(429, "TOO_MANY_ATTEMPTS");
            waits.push(retry_after(&reply));
            t.clock.advance(retry_after(&reply));
            t.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        }
        assert_eq!(waits, vec![60, 120, 240, 480, 900, 900]);
    }

    async fn unknown_addresses_are_throttled_the_same_way(t: TestApp) {
        for _ in 0..5 {
            t.login("ghost@acme.com", PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        }
        let locked = t.login("ghost@acme.com", PASSWORD).await;
        locked.assert_error(429, "TOO_MANY_ATTEMPTS");
        assert_eq!(retry_after(&locked), 60);
        let throttle = t.store.login_throttle("ghost@acme.com").await.unwrap().unwrap();
        assert_eq!(throttle.failures, 5);
    }

    async fn failures_spread_over_more_than_the_window_do_not_lock(t: TestApp) {
        t.register("ada@acme.com").await;
        for _ in 0..4 {
            t.login("ada@acme.com", "Wrong-pass-123").await;
        }
        t.clock.advance(901);
        t.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        assert_eq!(t.login("ada@acme.com", PASSWORD).await.status, 200);
    }

    async fn parallel_failures_are_all_counted(t: TestApp) {
        t.register("ada@acme.com").await;
        // Each on its own app (as on its own Lambda instance): one app's
        // one-hash-per-core limit would let the failures land one by one.
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let app = t.sharing_store(test_config(&[]));
                async move { app.login("ada@acme.com", "Wrong-pass-123").await }
            })
            .collect();
        let race = accounts_tests::race::race(racers).await;
        race.assert_overlapped();
        for reply in race.answers {
            reply.assert_error(401, "INVALID_CREDENTIALS");
        }
        let throttle = t.store.login_throttle("ada@acme.com").await.unwrap().unwrap();
        assert_eq!(throttle.failures, 4);
    }

    async fn a_burst_of_simultaneous_guesses_gets_at_most_five_passwords_checked(t: TestApp) {
        const RACERS: usize = 40;
        t.register("ada@acme.com").await;
        let checked_before = t.app.passwords.verifications();
        let racers: Vec<_> = (0..RACERS)
            .map(|_| {
                let t = t.clone();
                async move { t.login("ada@acme.com", "Wrong-pass-123").await }
            })
            .collect();
        let race = accounts_tests::race::race(racers).await;
        // Far more than five at once: what the limit must hold against.
        race.assert_in_flight_at_once(10);
        let (mut refused, mut wrong) = (0, 0);
        for reply in race.answers {
            match reply.status {
                401 => {
                    reply.assert_error(401, "INVALID_CREDENTIALS");
                    wrong += 1;
                }
                _ => {
                    reply.assert_error(429, "TOO_MANY_ATTEMPTS");
                    assert!(retry_after(&reply) >= 1);
                    refused += 1;
                }
            }
        }
        let checked = t.app.passwords.verifications() - checked_before;
        println!("{RACERS} simultaneous wrong passwords: {checked} checked, {wrong} answered 401, {refused} answered 429");
        assert!((1..=5).contains(&checked), "{checked} passwords checked");
        assert_eq!(wrong, checked as usize, "every checked guess answered 401");
        assert_eq!(refused, RACERS - wrong, "every other guess refused unchecked");
        let throttle = t.store.login_throttle("ada@acme.com").await.unwrap().unwrap();
        assert_eq!(throttle.failures as u64, checked, "every checked guess was counted");
        if checked == 5 {
            t.login("ada@acme.com", PASSWORD).await.assert_error(429, "TOO_MANY_ATTEMPTS");
            assert_eq!(t.app.passwords.verifications() - checked_before, 5, "a locked address checks nothing");
        }
    }

    async fn wrong_current_passwords_count_toward_the_login_throttle(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let path = format!("/user/{}", ada.id);
        let change = |current: &str| json!({"password": "New-pass-456", "currentPassword": current});
        for _ in 0..3 {
            t.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        }
        for _ in 0..2 {
            t.put(&path, change("Wrong-pass-1"), &ada.access_token).await
                .assert_error(401, "INVALID_CREDENTIALS");
        }
        let checked_before = t.app.passwords.verifications();
        // Five failures in all: the right current password is refused too,
        // unchecked, and so is a login.
        let locked = t.put(&path, change(PASSWORD), &ada.access_token).await;
        locked.assert_error(429, "TOO_MANY_ATTEMPTS");
        assert_eq!(retry_after(&locked), 60);
        t.login("ada@acme.com", PASSWORD).await.assert_error(429, "TOO_MANY_ATTEMPTS");
        assert_eq!(t.app.passwords.verifications(), checked_before);
        let user = t.store.user(&ada.id).await.unwrap().unwrap();
        assert_eq!(user.version, 1, "the password was not changed");

        // After the wait, a correct current password changes it and resets
        // the count.
        t.clock.advance(60);
        let reply = t.put(&path, change(PASSWORD), &ada.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(t.store.login_throttle("ada@acme.com").await.unwrap().is_none());
        assert_eq!(t.login("ada@acme.com", "New-pass-456").await.status, 200);
    }

    async fn a_hash_at_old_parameters_is_replaced_on_login(t: TestApp) {
        t.register("ada@acme.com").await;
        let stronger = test_config(&[("ARGON2_MEMORY_KIB", "24576")]);
        let upgraded = t.sharing_store(stronger);
        assert_eq!(upgraded.login("ada@acme.com", PASSWORD).await.status, 200);
        let user = t.store.user_by_email("ada@acme.com").await.unwrap().unwrap();
        assert!(user.password_hash.starts_with("$argon2id$v=19$m=24576,t=2,p=1$"), "{}", user.password_hash);
        assert_eq!(user.version, 2);
        assert_eq!(upgraded.login("ada@acme.com", PASSWORD).await.status, 200);
    }

    async fn failures_within_the_window_count_up_to_its_last_second(t: TestApp) {
        t.register("ada@acme.com").await;
        for _ in 0..4 {
            t.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        }
        // 899 s after the fourth: still inside the 900 s window.
        t.clock.advance(899);
        t.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        t.login("ada@acme.com", PASSWORD).await.assert_error(429, "TOO_MANY_ATTEMPTS");
        assert_eq!(t.store.login_throttle("ada@acme.com").await.unwrap().unwrap().failures, 5);
    }

    async fn the_failure_count_and_window_follow_their_settings(t: TestApp) {
        let strict = t.sharing_store(test_config(&[
            ("LOGIN_MAX_FAILURES", "2"),
            ("LOGIN_FAILURE_WINDOW_SECONDS", "60"),
        ]));
        strict.register("ada@acme.com").await;
        // Two failures 59 s apart lock (the default would allow five).
        strict.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        strict.clock.advance(59);
        strict.login("ada@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        strict.login("ada@acme.com", PASSWORD).await.assert_error(429, "TOO_MANY_ATTEMPTS");
        // Two failures 61 s apart do not (the default window is 900 s).
        strict.register("bob@acme.com").await;
        strict.login("bob@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        strict.clock.advance(61);
        strict.login("bob@acme.com", "Wrong-pass-123").await.assert_error(401, "INVALID_CREDENTIALS");
        assert_eq!(strict.login("bob@acme.com", PASSWORD).await.status, 200);
    }

}
