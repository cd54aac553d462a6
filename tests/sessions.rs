//! Sessions a user controls, on both stores: logout, the session list,
//! ending one or every session, deactivation, and the `sid` check that makes
//! each of them take effect on the very next request.

use std::future::Future;
use std::pin::Pin;

use accounts::model::UserStatus;
use accounts::service::{operator, sessions::MAX_LIVE_SESSIONS};
use accounts_tests::race::race;
use accounts_tests::*;
use serde_json::{Value, json};

async fn assert_session_ended(t: &TestApp, access_token: &str, refresh_token: &str) {
    t.get("/user/profile", access_token)
        .await
        .assert_error(401, "SESSION_REVOKED");
    t.refresh(refresh_token)
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

async fn assert_session_alive(t: &TestApp, access_token: &str) {
    let reply = t.get("/user/profile", access_token).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

fn sessions_of(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["success"], json!(true));
    reply.body["sessions"].as_array().expect("sessions").clone()
}

fn ids(sessions: &[Value]) -> Vec<String> {
    sessions
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn post_auth(t: &TestApp, path: &str, token: &str) -> Reply {
    t.call("POST", path, None, Some(token)).await
}

on_both_stores! {
    async fn logout_ends_the_session_and_its_access_tokens_at_once(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let other = t.login("ada@acme.com", PASSWORD).await;
        assert_session_alive(&t, &ada.access_token).await;
        let reply = t.post("/user/logout", json!({"refresh_token": ada.refresh_token})).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, json!({"success": true, "message": "Logged out"}));
        assert_session_ended(&t, &ada.access_token, &ada.refresh_token).await;
        let session = t.store.session(&ada.refresh_token[..32]).await.unwrap().unwrap();
        assert!(session.revoked);
        // Only that session: the other sign-in goes on.
        assert_session_alive(&t, &other.str("accessToken")).await;
        assert_eq!(t.refresh(&other.str("refreshToken")).await.status, 200);
    }

    async fn logout_reveals_nothing_and_takes_either_field_name(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let expected = json!({"success": true, "message": "Logged out"});
        let sid = &ada.refresh_token[..32];
        let a43 = "A".repeat(43);
        for unknown in [
            format!("{}.0.{a43}.{a43}", "0".repeat(32)),
            format!("{sid}.0.{a43}.{a43}"),
            "not a token".to_string(),
            "x".repeat(4000),
        ] {
            let reply = t.post("/user/logout", json!({"refreshToken": unknown})).await;
            assert_eq!((reply.status, &reply.body), (200, &expected));
        }
        assert_session_alive(&t, &ada.access_token).await;
        t.post("/user/logout", json!({})).await.assert_error(400, "VALIDATION_ERROR");
        t.post("/user/logout", json!({"refresh_token": 7})).await.assert_error(400, "VALIDATION_ERROR");
        // camelCase works too, and any token the family was given ends it.
        let second = t.refresh(&ada.refresh_token).await.str("refreshToken");
        let _third = t.refresh(&second).await;
        let reply = t.post("/user/logout", json!({"refreshToken": ada.refresh_token})).await;
        assert_eq!((reply.status, &reply.body), (200, &expected));
        assert!(t.store.session(sid).await.unwrap().unwrap().revoked);
    }

    async fn the_session_list_shows_live_sessions_newest_first(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        t.clock.advance(60);
        let phone = t.post("/user/login", json!({
            "email": "ada@acme.com", "password": PASSWORD,
            "deviceInfo": {"os": "ios", "deviceType": "phone"}
        })).await;
        assert_eq!(phone.status, 200, "{}", phone.body);
        t.clock.advance(60);
        let laptop = t.login("ada@acme.com", PASSWORD).await;
        t.clock.advance(60);
        // The phone refreshes: its last activity moves.
        assert_eq!(t.refresh(&phone.str("refreshToken")).await.status, 200);
        // Someone else's sessions and ended ones are not listed.
        let _eve = t.owner("eve@evil.com").await;
        let ended = t.login("ada@acme.com", PASSWORD).await;
        t.post("/user/logout", json!({"refresh_token": ended.str("refreshToken")})).await;

        let listed = sessions_of(&t.get("/sessions", &laptop.str("accessToken")).await);
        assert_eq!(
            ids(&listed),
            vec![laptop.str("tokenId"), phone.str("tokenId"), ada.refresh_token[..32].to_string()]
        );
        // 1_800_000_000 is 2027-01-15T08:00:00Z.
        assert_eq!(listed[1], json!({
            "id": phone.str("tokenId"),
            "ipAddress": null,
            "startedAt": "2027-01-15T08:01:00Z",
            "lastActivity": "2027-01-15T08:03:00Z",
            "expiresAt": "2027-04-15T08:01:00Z",
            "loginMethod": "LOCAL",
            "deviceInfo": {"os": "ios", "deviceType": "phone"},
            "current": false
        }));
        assert_eq!(listed[0]["current"], json!(true));
        assert_eq!(listed[0]["startedAt"], listed[0]["lastActivity"]);
        assert_eq!(listed[2]["current"], json!(false));
        // Flashback's older path is the same list.
        // Flashback's older path answers the same items under `tokens`.
        let older = t.get("/token", &laptop.str("accessToken")).await;
        let newer = t.get("/sessions", &laptop.str("accessToken")).await;
        assert_eq!(older.body["tokens"], newer.body["sessions"], "{}", older.body);
        assert_eq!(older.headers["cache-control"], "no-store");
        // From the phone, the phone is current.
        let from_phone = sessions_of(&t.get("/sessions", &phone.str("accessToken")).await);
        let current: Vec<_> = from_phone.iter().filter(|s| s["current"] == json!(true)).collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["id"], json!(phone.str("tokenId")));
    }

    async fn session_endpoints_need_a_live_session(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        for (method, path) in [
            ("GET", "/sessions"), ("GET", "/token"), ("POST", "/sessions/revoke-all"),
            ("POST", "/user/deactivate"),
        ] {
            t.call(method, path, None, None).await.assert_error(401, "NO_AUTH_USER");
            t.call(method, path, None, Some("forged")).await.assert_error(401, "INVALID_TOKEN");
        }
        t.post("/user/logout", json!({"refresh_token": ada.refresh_token})).await;
        for (method, path) in [("GET", "/sessions"), ("POST", "/sessions/revoke-all"), ("POST", "/user/deactivate")] {
            t.call(method, path, None, Some(&ada.access_token)).await.assert_error(401, "SESSION_REVOKED");
        }
        assert!(t.store.user(&ada.id).await.unwrap().unwrap().is_active(), "a dead session deactivates nothing");
    }

    async fn one_session_is_ended_by_id_and_only_the_callers(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let phone = t.login("ada@acme.com", PASSWORD).await;
        let eve = t.owner("eve@evil.com").await;
        let eve_sid = eve.refresh_token[..32].to_string();

        // Another user's session, an unknown id and a malformed one: one answer.
        let foreign = post_auth(&t, &format!("/sessions/{eve_sid}/revoke"), &ada.access_token).await;
        foreign.assert_error(404, "SESSION_NOT_FOUND");
        let unknown = post_auth(&t, &format!("/sessions/{}/revoke", "0".repeat(32)), &ada.access_token).await;
        assert_eq!(unknown.body, foreign.body);
        let malformed = post_auth(&t, "/sessions/not-an-id/revoke", &ada.access_token).await;
        assert_eq!((malformed.status, &malformed.body), (404, &foreign.body));
        assert_session_alive(&t, &eve.access_token).await;
        assert!(!t.store.session(&eve_sid).await.unwrap().unwrap().revoked);

        let reply = post_auth(&t, &format!("/sessions/{}/revoke", phone.str("tokenId")), &ada.access_token).await;
        assert_eq!(reply.body, json!({"success": true, "message": "Session revoked"}));
        assert_session_ended(&t, &phone.str("accessToken"), &phone.str("refreshToken")).await;
        assert_session_alive(&t, &ada.access_token).await;
        // It is gone from the list, and ending it again finds nothing.
        let listed = sessions_of(&t.get("/sessions", &ada.access_token).await);
        assert_eq!(ids(&listed), vec![ada.refresh_token[..32].to_string()]);
        post_auth(&t, &format!("/sessions/{}/revoke", phone.str("tokenId")), &ada.access_token).await
            .assert_error(404, "SESSION_NOT_FOUND");

        // DELETE /token/{tokenId}, Flashback's older path; the caller's own
        // session may be ended too.
        let own = ada.refresh_token[..32].to_string();
        let reply = t.call("DELETE", &format!("/token/{own}"), None, Some(&ada.access_token)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_session_ended(&t, &ada.access_token, &ada.refresh_token).await;
    }

    async fn revoke_all_ends_every_session_the_callers_included(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let phone = t.login("ada@acme.com", PASSWORD).await;
        let laptop = t.login("ada@acme.com", PASSWORD).await;
        let ended = t.login("ada@acme.com", PASSWORD).await;
        post_auth(&t, &format!("/sessions/{}/revoke", ended.str("tokenId")), &ada.access_token).await;
        let grace = t.member(&ada, "grace@acme.com", 0).await;

        let reply = post_auth(&t, "/sessions/revoke-all", &laptop.str("accessToken")).await;
        assert_eq!(reply.body, json!({"success": true, "message": "All sessions revoked", "revoked": 3}));
        assert_session_ended(&t, &ada.access_token, &ada.refresh_token).await;
        assert_session_ended(&t, &phone.str("accessToken"), &phone.str("refreshToken")).await;
        assert_session_ended(&t, &laptop.str("accessToken"), &laptop.str("refreshToken")).await;
        // Another user's sessions are untouched.
        assert_session_alive(&t, &grace.access_token).await;
        // Signing in again starts afresh.
        let again = t.login("ada@acme.com", PASSWORD).await;
        let listed = sessions_of(&t.get("/sessions", &again.str("accessToken")).await);
        assert_eq!(ids(&listed), vec![again.str("tokenId")]);
    }

    async fn a_password_change_ends_the_other_sessions_at_once(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let phone = t.login("ada@acme.com", PASSWORD).await;
        let reply = t.put(&format!("/user/{}", ada.id), json!({
            "password": "Another-pass-456", "currentPassword": PASSWORD
        }), &ada.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_session_ended(&t, &phone.str("accessToken"), &phone.str("refreshToken")).await;
        // The caller's own session stays, access and refresh.
        assert_session_alive(&t, &ada.access_token).await;
        let refreshed = t.refresh(&ada.refresh_token).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        assert_session_alive(&t, &refreshed.str("accessToken")).await;
        let listed = sessions_of(&t.get("/sessions", &ada.access_token).await);
        assert_eq!(ids(&listed), vec![ada.refresh_token[..32].to_string()]);
    }

    async fn refresh_token_reuse_ends_the_access_tokens_too(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let next = t.refresh(&ada.refresh_token).await;
        t.clock.advance(11);
        t.refresh(&ada.refresh_token).await.assert_error(401, "REFRESH_TOKEN_REUSED");
        for token in [&ada.access_token, &next.str("accessToken")] {
            t.get("/user/profile", token).await.assert_error(401, "SESSION_REVOKED");
        }
    }

    async fn deactivation_ends_every_session_and_reactivation_revives_none(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let grace = t.member(&ada, "grace@acme.com", 0).await;
        let phone = t.login("grace@acme.com", PASSWORD).await;
        let reply = post_auth(&t, "/user/deactivate", &grace.access_token).await;
        assert_eq!(reply.body, json!({"success": true, "message": "Account deactivated"}));
        let stored = t.store.user(&grace.id).await.unwrap().unwrap();
        assert_eq!(stored.status, UserStatus::Inactive);
        assert_session_ended(&t, &grace.access_token, &grace.refresh_token).await;
        assert_session_ended(&t, &phone.str("accessToken"), &phone.str("refreshToken")).await;
        t.login("grace@acme.com", PASSWORD).await.assert_error(403, "USER_INACTIVE");
        assert_session_alive(&t, &ada.access_token).await;

        operator::set_user_status(t.store.as_ref(), "grace@acme.com", UserStatus::Active, t.clock_now())
            .await
            .unwrap();
        assert_session_ended(&t, &grace.access_token, &grace.refresh_token).await;
        assert_session_ended(&t, &phone.str("accessToken"), &phone.str("refreshToken")).await;
        let back = t.login("grace@acme.com", PASSWORD).await;
        assert_session_alive(&t, &back.str("accessToken")).await;
    }

    async fn an_operator_deactivation_ends_every_session(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let phone = t.login("ada@acme.com", PASSWORD).await;
        operator::set_user_status(t.store.as_ref(), "ada@acme.com", UserStatus::Inactive, t.clock_now())
            .await
            .unwrap();
        assert_session_ended(&t, &ada.access_token, &ada.refresh_token).await;
        assert_session_ended(&t, &phone.str("accessToken"), &phone.str("refreshToken")).await;
        let org = t.store.organization(&ada.org_id).await.unwrap().unwrap();
        assert_eq!(org.owner_count, 0, "the owner count counts active owners");
        operator::set_user_status(t.store.as_ref(), "ada@acme.com", UserStatus::Active, t.clock_now())
            .await
            .unwrap();
        assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 1);
        assert_session_ended(&t, &ada.access_token, &ada.refresh_token).await;
    }

    async fn the_last_active_owner_of_an_organization_with_members_cannot_leave(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let grace = t.member(&ada, "grace@acme.com", 254).await;
        post_auth(&t, "/user/deactivate", &ada.access_token).await.assert_error(409, "LAST_OWNER");
        let stored = t.store.user(&ada.id).await.unwrap().unwrap();
        assert!(stored.is_active());
        assert_session_alive(&t, &ada.access_token).await;
        assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 1);
        // A second owner may leave; then the first may not.
        let bob = t.member(&ada, "bob@acme.com", 255).await;
        assert_eq!(post_auth(&t, "/user/deactivate", &bob.access_token).await.status, 200);
        post_auth(&t, "/user/deactivate", &ada.access_token).await.assert_error(409, "LAST_OWNER");
        // Once the others have left, the owner may too.
        assert_eq!(post_auth(&t, "/user/deactivate", &grace.access_token).await.status, 200);
        assert_eq!(post_auth(&t, "/user/deactivate", &ada.access_token).await.status, 200);
        assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 0);
    }

    async fn two_owners_leaving_at_once_leave_one(t: TestApp) {
        for round in 0..3 {
            let ada = t.owner(&format!("ada{round}@acme.com")).await;
            let bob = t.member(&ada, &format!("bob{round}@acme.com"), 255).await;
            let _grace = t.member(&ada, &format!("grace{round}@acme.com"), 0).await;
            let leaving = race([
                request_later(&t, "POST", "/user/deactivate", None, Some(&ada.access_token)),
                request_later(&t, "POST", "/user/deactivate", None, Some(&bob.access_token)),
            ])
            .await;
            leaving.assert_overlapped_on(t.backend);
            let mut statuses: Vec<u16> = leaving.answers.iter().map(|r| r.status).collect();
            statuses.sort_unstable();
            assert_eq!(statuses, vec![200, 409], "round {round}");
            let ada_active = t.store.user(&ada.id).await.unwrap().unwrap().is_active();
            let bob_active = t.store.user(&bob.id).await.unwrap().unwrap().is_active();
            assert!(ada_active ^ bob_active, "exactly one owner left, round {round}");
            assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 1);
        }
    }

    async fn a_sign_in_past_the_cap_ends_the_oldest_session(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let mut newest = Vec::new();
        for _ in 1..MAX_LIVE_SESSIONS {
            t.clock.advance(1);
            newest.push(t.login("ada@acme.com", PASSWORD).await);
        }
        // Exactly at the cap: everyone is still in.
        assert_session_alive(&t, &ada.access_token).await;
        t.clock.advance(1);
        let over = t.login("ada@acme.com", PASSWORD).await;
        assert_eq!(over.status, 200, "{}", over.body);
        // The oldest (register's) ended; the next oldest did not.
        assert_session_ended(&t, &ada.access_token, &ada.refresh_token).await;
        assert_session_alive(&t, &newest[0].str("accessToken")).await;
        let listed = sessions_of(&t.get("/sessions", &over.str("accessToken")).await);
        assert_eq!(listed.len(), MAX_LIVE_SESSIONS);
    }

    async fn logout_racing_a_refresh_never_leaves_a_live_successor(t: TestApp) {
        for round in 0..4 {
            let ada = t.owner(&format!("ada{round}@acme.com")).await;
            let body = json!({"refresh_token": ada.refresh_token});
            let (refreshed, logged_out) = race_pair(
                &t,
                request_later(&t, "POST", "/user/refresh", Some(body.clone()), None),
                request_later(&t, "POST", "/user/logout", Some(body), None),
            )
            .await;
            assert_eq!(logged_out.status, 200, "{}", logged_out.body);
            assert_no_live_successor(&t, &ada, &refreshed).await;
        }
    }

    async fn revoke_all_racing_a_refresh_never_leaves_a_live_successor(t: TestApp) {
        for round in 0..4 {
            let ada = t.owner(&format!("ada{round}@acme.com")).await;
            let body = json!({"refresh_token": ada.refresh_token});
            let (refreshed, revoked) = race_pair(
                &t,
                request_later(&t, "POST", "/user/refresh", Some(body), None),
                request_later(&t, "POST", "/sessions/revoke-all", None, Some(&ada.access_token)),
            )
            .await;
            assert_eq!(revoked.status, 200, "{}", revoked.body);
            assert_eq!(revoked.body["revoked"], json!(1));
            assert_no_live_successor(&t, &ada, &refreshed).await;
        }
    }
}

/// A request to send later (from a race), owning all it needs.
fn request_later(
    t: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> Pin<Box<dyn Future<Output = Reply> + Send>> {
    let mut builder = lambda_http::http::Request::builder()
        .method(method)
        .uri(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(lambda_http::Body::Text(body.to_string())),
        None => builder.body(lambda_http::Body::Empty),
    }
    .unwrap();
    let t = t.clone();
    Box::pin(async move { t.send(request).await })
}

/// After a refresh raced something that ends the session: whatever the
/// refresh got, nothing of the session still works.
async fn assert_no_live_successor(t: &TestApp, signed_in: &Member, refreshed: &Reply) {
    if refreshed.status == 200 {
        assert_session_ended(
            t,
            &refreshed.str("accessToken"),
            &refreshed.str("refreshToken"),
        )
        .await;
    } else {
        refreshed.assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    assert_session_ended(t, &signed_in.access_token, &signed_in.refresh_token).await;
}

/// Two different requests released together from one barrier; their answers.
async fn race_pair(
    t: &TestApp,
    first: Pin<Box<dyn Future<Output = Reply> + Send>>,
    second: Pin<Box<dyn Future<Output = Reply> + Send>>,
) -> (Reply, Reply) {
    let raced = race([first, second]).await;
    raced.assert_overlapped_on(t.backend);
    let [a, b] = <[Reply; 2]>::try_from(raced.answers).unwrap();
    (a, b)
}
