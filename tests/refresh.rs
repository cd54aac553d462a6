//! POST /user/refresh, on both stores.

use accounts::auth::refresh::hash;
use accounts::model::UserStatus;
use accounts_tests::*;
use serde_json::json;

on_both_stores! {
    async fn rotates_the_token_and_issues_a_new_access_token(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        let first = signed_in.str("refreshToken");
        t.clock.advance(100);
        let reply = t.refresh(&first).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["success"], json!(true));
        assert_eq!(reply.body["expiresAt"], json!(T0 + 100 + 3600));
        let second = reply.str("refreshToken");
        assert_ne!(second, first);
        let claims = t.app.access_tokens.verify(&reply.str("accessToken"), t.clock_now()).await.unwrap();
        assert_eq!(reply.str("token"), reply.str("accessToken"));
        assert_eq!(json!(claims.sub), signed_in.body["user"]["id"]);
        assert_eq!(json!(claims.sid), signed_in.body["tokenId"]);

        let session = t.store.session(&signed_in.str("tokenId")).await.unwrap().unwrap();
        assert_eq!(session.token_hash, hash(&second));
        assert_eq!(session.generation, 1);
        assert_eq!(session.rotated_at, Some(T0 + 100));
        assert_eq!(session.token_expires_at, T0 + 100 + 30 * 86_400);
        assert!(!session.revoked);
    }

    async fn accepts_both_field_names(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        let snake = t.post("/user/refresh", json!({"refresh_token": signed_in.str("refreshToken")})).await;
        assert_eq!(snake.status, 200, "{}", snake.body);
        let camel = t.post("/user/refresh", json!({"refreshToken": snake.str("refreshToken")})).await;
        assert_eq!(camel.status, 200, "{}", camel.body);
        t.post("/user/refresh", json!({})).await.assert_error(400, "VALIDATION_ERROR");
        // An empty field does not hide the other one.
        let both = t.post("/user/refresh", json!({"refresh_token": "", "refreshToken": camel.str("refreshToken")})).await;
        assert_eq!(both.status, 200, "{}", both.body);
        t.post("/user/refresh", json!({"refresh_token": 42})).await.assert_error(400, "VALIDATION_ERROR");
    }

    async fn a_replay_within_the_grace_window_is_refused_and_harmless(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        let first = signed_in.str("refreshToken");
        let second = t.refresh(&first).await.str("refreshToken");
        t.clock.advance(10);
        t.refresh(&first).await.assert_error(401, "REFRESH_TOKEN_ALREADY_ROTATED");
        let session = t.store.session(&signed_in.str("tokenId")).await.unwrap().unwrap();
        assert!(!session.revoked, "the family is left alone");
        assert_eq!(t.refresh(&second).await.status, 200, "the successor still works");
    }

    async fn a_replay_after_the_grace_window_revokes_the_family(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        let first = signed_in.str("refreshToken");
        let second = t.refresh(&first).await.str("refreshToken");
        t.clock.advance(11);
        t.refresh(&first).await.assert_error(401, "REFRESH_TOKEN_REUSED");
        let session = t.store.session(&signed_in.str("tokenId")).await.unwrap().unwrap();
        assert!(session.revoked);
        t.refresh(&second).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        // Other sessions of the user are not part of the family.
        let other = t.login("ada@acme.com", PASSWORD).await;
        assert_eq!(t.refresh(&other.str("refreshToken")).await.status, 200);
    }

    async fn an_older_token_of_the_family_is_reuse_too(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        let first = signed_in.str("refreshToken");
        let second = t.refresh(&first).await.str("refreshToken");
        let _third = t.refresh(&second).await.str("refreshToken");
        t.refresh(&first).await.assert_error(401, "REFRESH_TOKEN_REUSED");
    }

    async fn expired_tokens_and_families_are_invalid(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        t.clock.advance(30 * 86_400);
        t.refresh(&signed_in.str("refreshToken")).await.assert_error(401, "INVALID_REFRESH_TOKEN");
    }

    async fn a_family_ends_at_its_absolute_limit_whatever_the_rotation(t: TestApp) {
        let t = t.sharing_store(test_config(&[
            ("SESSION_MAX_SECONDS", "100"),
            ("REFRESH_TOKEN_TTL_SECONDS", "60"),
        ]));
        let signed_in = t.register("ada@acme.com").await;
        let mut token = signed_in.str("refreshToken");
        for _ in 0..2 {
            t.clock.advance(45);
            let reply = t.refresh(&token).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            token = reply.str("refreshToken");
        }
        let session = t.store.session(&signed_in.str("tokenId")).await.unwrap().unwrap();
        assert_eq!(session.token_expires_at, T0 + 100, "never past the family's end");
        t.clock.advance(10);
        t.refresh(&token).await.assert_error(401, "INVALID_REFRESH_TOKEN");
    }

    async fn unknown_malformed_and_access_tokens_are_invalid(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        let real = signed_in.str("refreshToken");
        let parts: Vec<&str> = real.split('.').collect();
        let (sid, family) = (parts[0], parts[2]);
        let a43 = "A".repeat(43);
        for token in [
            "nonsense".to_string(),
            // The two-part form of earlier releases.
            format!("{sid}.{a43}"),
            // The right family secret, a guessed rotation secret.
            format!("{sid}.0.{family}.{a43}"),
            // A later generation than the family has reached.
            format!("{sid}.5.{family}.{a43}"),
            // Another family's secret for this id.
            format!("{sid}.0.{a43}.{a43}"),
            format!("{}.0.{a43}.{a43}", "0".repeat(32)),
            signed_in.str("accessToken"),
        ] {
            t.refresh(&token).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        }
        let session = t.store.session(sid).await.unwrap().unwrap();
        assert!(!session.revoked, "a forged secret for a known family revokes nothing");
        assert_eq!(t.refresh(&real).await.status, 200);
    }

    async fn reuse_is_detected_however_many_rotations_ago(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        let first = signed_in.str("refreshToken");
        let mut token = first.clone();
        for _ in 0..20 {
            let reply = t.refresh(&token).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            token = reply.str("refreshToken");
        }
        t.clock.advance(11);
        t.refresh(&first).await.assert_error(401, "REFRESH_TOKEN_REUSED");
        let session = t.store.session(&signed_in.str("tokenId")).await.unwrap().unwrap();
        assert!(session.revoked, "the family is revoked");
        assert_eq!(session.generation, 20);
        t.refresh(&token).await.assert_error(401, "INVALID_REFRESH_TOKEN");
    }

    async fn an_old_generation_without_the_family_secret_revokes_nothing(t: TestApp) {
        // The session id is no secret (every access token carries it as
        // `sid`): knowing it must not let anyone end the family.
        let signed_in = t.register("ada@acme.com").await;
        let second = t.refresh(&signed_in.str("refreshToken")).await.str("refreshToken");
        let sid = signed_in.str("tokenId");
        t.clock.advance(11);
        let forged = format!("{sid}.0.{}.{}", "B".repeat(43), "C".repeat(43));
        t.refresh(&forged).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        t.post("/user/logout", json!({"refresh_token": forged})).await;
        let session = t.store.session(&sid).await.unwrap().unwrap();
        assert!(!session.revoked);
        assert_eq!(t.refresh(&second).await.status, 200);
    }

    async fn a_deactivated_user_cannot_refresh(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        let mut user = t.store.user_by_email("ada@acme.com").await.unwrap().unwrap();
        user.status = UserStatus::Inactive;
        user.version += 1;
        t.store.update_user(&user).await.unwrap();
        t.refresh(&signed_in.str("refreshToken")).await.assert_error(401, "INVALID_REFRESH_TOKEN");
    }

    async fn ten_simultaneous_refreshes_of_one_token_have_one_winner(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        let token = signed_in.str("refreshToken");
        let racers: Vec<_> = (0..10)
            .map(|_| {
                let (t, token) = (t.clone(), token.clone());
                async move { t.refresh(&token).await }
            })
            .collect();
        let race = accounts_tests::race::race(racers).await;
        race.assert_overlapped_on(t.backend);
        let mut winners = Vec::new();
        for reply in race.answers {
            if reply.status == 200 {
                winners.push(reply);
            } else {
                reply.assert_error(401, "REFRESH_TOKEN_ALREADY_ROTATED");
            }
        }
        assert_eq!(winners.len(), 1, "exactly one refresh wins");
        let session = t.store.session(&signed_in.str("tokenId")).await.unwrap().unwrap();
        assert_eq!(session.token_hash, hash(&winners[0].str("refreshToken")));
        assert_eq!(session.generation, 1, "one rotation");
        assert!(!session.revoked);
        assert_eq!(t.refresh(&winners[0].str("refreshToken")).await.status, 200);
    }

    async fn a_refresh_token_is_not_an_access_token(t: TestApp) {
        let signed_in = t.register("ada@acme.com").await;
        let now = t.clock_now();
        assert!(matches!(
            t.app.access_tokens.verify(&signed_in.str("refreshToken"), now).await,
            Err(accounts::Error::InvalidToken)
        ));
        t.app.access_tokens.verify(&signed_in.str("accessToken"), now).await.unwrap();
    }
}
