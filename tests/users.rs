//! Profile, a user read and edited, a member's role read and changed, and
//! members created and listed, on both stores.

use accounts::model::UserStatus;
use accounts_tests::race::race;
use accounts_tests::*;
use serde_json::json;

fn role_path(id: &str) -> String {
    format!("/user/{id}/role")
}

on_both_stores! {
    async fn profile_shows_the_caller(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let reply = t.get("/user/profile", &ada.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, json!({
            "success": true,
            "data": {
                "id": ada.id, "name": "Ada", "lastName": "Lovelace", "email": "ada@acme.com",
                "orgId": ada.org_id, "orgRole": 255, "orgRoleDescription": "OWNER",
                "orgRoles": [0, 1, 2, 254, 255], "validated": false, "mfaRequired": false,
                "isBusiness": true
            }
        }));
    }

    async fn protected_routes_need_a_valid_token(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let member_path = format!("/user/{}", ada.id);
        let routes = [
            ("GET", "/user/profile".to_string()),
            ("GET", member_path.clone()),
            ("PUT", member_path.clone()),
            ("PUT", role_path(&ada.id)),
            ("GET", "/organization/users".to_string()),
            ("POST", "/organization/users".to_string()),
        ];
        for (method, path) in &routes {
            let body = (*method != "GET").then(|| json!({"name": "X"}));
            t.call(method, path, body.clone(), None).await.assert_error(401, "NO_AUTH_USER");
            t.call(method, path, body.clone(), Some("garbage")).await.assert_error(401, "INVALID_TOKEN");
            t.call(method, path, body, Some(&ada.refresh_token)).await.assert_error(401, "INVALID_TOKEN");
        }
        // Not a bearer scheme.
        let req = lambda_http::http::Request::builder()
            .method("GET").uri("/user/profile")
            .header("authorization", format!("Basic {}", ada.access_token))
            .body(lambda_http::Body::Empty).unwrap();
        t.send(req).await.assert_error(401, "INVALID_TOKEN");
        t.clock.advance(3600 + 31);
        t.get("/user/profile", &ada.access_token).await.assert_error(401, "TOKEN_EXPIRED");
    }

    async fn a_deactivated_or_vanished_caller_is_refused_at_once(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let mut user = t.store.user(&ada.id).await.unwrap().unwrap();
        user.status = UserStatus::Inactive;
        user.version += 1;
        t.store.update_user(&user).await.unwrap();
        t.get("/user/profile", &ada.access_token).await.assert_error(401, "INVALID_TOKEN");
    }

    async fn a_member_role_is_visible_inside_the_organization_only(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let grace = t.member(&ada, "grace@acme.com", 2).await;
        let reply = t.get(&format!("/user/{}", grace.id), &ada.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, json!({"success": true, "data": {
            "userId": grace.id, "orgRole": 2, "orgRoleDescription": "WORKSPACES", "orgRoles": [0, 1, 2]
        }}));
        // Any member may look.
        assert_eq!(t.get(&format!("/user/{}", ada.id), &grace.access_token).await.status, 200);

        let other = t.owner("eve@evil.com").await;
        let foreign = t.get(&format!("/user/{}", ada.id), &other.access_token).await;
        let missing = t.get(&format!("/user/{}", uuid::Uuid::new_v4()), &other.access_token).await;
        foreign.assert_error(404, "USER_NOT_FOUND");
        assert_eq!(foreign.body, missing.body, "another organization's user looks like no user");
        // A malformed id names no user either.
        let malformed = t.get("/user/not-a-uuid", &ada.access_token).await;
        malformed.assert_error(404, "USER_NOT_FOUND");
        assert_eq!(malformed.body, missing.body);
    }

    async fn anyone_may_rename_themself(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let grace = t.member(&ada, "grace@acme.com", 0).await;
        let reply = t.put(&format!("/user/{}", grace.id), json!({"name": "  Amazing ", "lastName": "Grace"}), &grace.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, json!({"success": true, "message": "User updated"}));
        let stored = t.store.user(&grace.id).await.unwrap().unwrap();
        assert_eq!((stored.name.as_str(), stored.last_name.as_str()), ("Amazing", "Grace"));
        assert_eq!(stored.version, 3, "created, accepted, renamed");
        let profile = t.get("/user/profile", &grace.access_token).await;
        assert_eq!(profile.body["data"]["name"], "Amazing");
    }

    async fn managers_may_rename_members_not_above_them(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let ws = t.member(&ada, "ws@acme.com", 2).await;
        let user = t.member(&ada, "user@acme.com", 0).await;
        let billing = t.member(&ada, "billing@acme.com", 1).await;
        let admin = t.member(&ada, "admin@acme.com", 254).await;

        assert_eq!(t.put(&format!("/user/{}", user.id), json!({"name": "Renamed"}), &ws.access_token).await.status, 200);
        assert_eq!(t.store.user(&user.id).await.unwrap().unwrap().name, "Renamed");
        t.put(&format!("/user/{}", admin.id), json!({"name": "X"}), &ws.access_token).await
            .assert_error(403, "INSUFFICIENT_PERMISSIONS");
        t.put(&format!("/user/{}", user.id), json!({"name": "X"}), &billing.access_token).await
            .assert_error(403, "INSUFFICIENT_PERMISSIONS");
        t.put(&format!("/user/{}", ada.id), json!({"lastName": "Byron"}), &admin.access_token).await
            .assert_error(403, "INSUFFICIENT_PERMISSIONS");
        assert_eq!(t.put(&format!("/user/{}", admin.id), json!({"lastName": "B"}), &ada.access_token).await.status, 200);
        assert_eq!(t.store.user(&ada.id).await.unwrap().unwrap().last_name, "Lovelace");

        let other = t.owner("eve@evil.com").await;
        t.put(&format!("/user/{}", user.id), json!({"name": "X"}), &other.access_token).await
            .assert_error(404, "USER_NOT_FOUND");
        // Nobody changes another's password, whatever their role.
        t.put(&format!("/user/{}", user.id), json!({"password": "New-pass-456", "currentPassword": PASSWORD}), &ada.access_token).await
            .assert_error(403, "INSUFFICIENT_PERMISSIONS");
    }

    async fn updates_are_validated(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let path = format!("/user/{}", ada.id);
        t.put(&path, json!({}), &ada.access_token).await.assert_error(400, "VALIDATION_ERROR");
        t.put(&path, json!({"unknown": "field"}), &ada.access_token).await.assert_error(400, "VALIDATION_ERROR");
        t.put(&path, json!({"name": "x".repeat(101)}), &ada.access_token).await.assert_error(400, "VALIDATION_ERROR");
        t.put(&path, json!({"name": "   "}), &ada.access_token).await.assert_error(400, "VALIDATION_ERROR");
        t.put(&path, json!({"lastName": "a\u{0001}b"}), &ada.access_token).await.assert_error(400, "VALIDATION_ERROR");
        t.put(&path, json!({"name": 5}), &ada.access_token).await.assert_error(400, "VALIDATION_ERROR");
        t.put("/user/12345", json!({"name": "X"}), &ada.access_token).await.assert_error(404, "USER_NOT_FOUND");
        let stored = t.store.user(&ada.id).await.unwrap().unwrap();
        assert_eq!((stored.name.as_str(), stored.version), ("Ada", 1));
    }

    async fn a_password_change_needs_the_current_one_and_ends_other_sessions(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let other_session = t.login("ada@acme.com", PASSWORD).await;
        let path = format!("/user/{}", ada.id);
        // Signed in more than five minutes ago: the current password, please.
        t.clock.advance(301);
        t.put(&path, json!({"password": "New-pass-456"}), &ada.access_token).await
            .assert_error(400, "CURRENT_PASSWORD_REQUIRED");
        t.put(&path, json!({"password": "New-pass-456", "currentPassword": "Wrong-pass-1"}), &ada.access_token).await
            .assert_error(401, "INVALID_CREDENTIALS");
        t.put(&path, json!({"password": "weak", "currentPassword": PASSWORD}), &ada.access_token).await
            .assert_error(400, "WEAK_PASSWORD");
        assert_eq!(t.login("ada@acme.com", PASSWORD).await.status, 200, "nothing changed yet");

        let reply = t.put(&path, json!({"password": "New-pass-456", "currentPassword": PASSWORD}), &ada.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        t.login("ada@acme.com", PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        assert_eq!(t.login("ada@acme.com", "New-pass-456").await.status, 200);
        t.refresh(&other_session.str("refreshToken")).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        assert_eq!(t.refresh(&ada.refresh_token).await.status, 200, "the caller's own session stays");
    }

    async fn role_changes_follow_the_ladder(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let ws = t.member(&ada, "ws@acme.com", 2).await;
        let admin = t.member(&ada, "admin@acme.com", 254).await;
        let user = t.member(&ada, "user@acme.com", 0).await;
        let billing = t.member(&ada, "billing@acme.com", 1).await;

        let reply = t.put(&role_path(&user.id), json!({"orgRole": 1}), &ws.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, json!({"success": true, "data": {
            "userId": user.id, "previousRole": 0, "newRole": 1, "message": "Role updated"
        }}));
        assert_eq!(t.role_of(&user.id).await, 1);

        let refused = [
            (&ws, &user, 2),          // WORKSPACES may not grant WORKSPACES
            (&ws, &admin, 0),         // nor touch a higher role
            (&billing, &user, 0),     // BILLING manages nobody
            (&admin, &user, 255),     // ADMINISTRATORS never grant OWNER
            (&admin, &ada, 254),      // nor remove it
        ];
        for (caller, target, role) in refused {
            t.put(&role_path(&target.id), json!({"orgRole": role}), &caller.access_token).await
                .assert_error(403, "INSUFFICIENT_PERMISSIONS");
        }
        assert_eq!(t.role_of(&ada.id).await, 255);
        assert_eq!(t.role_of(&admin.id).await, 254);
        assert_eq!(t.put(&role_path(&user.id), json!({"orgRole": 254}), &admin.access_token).await.status, 200);
        assert_eq!(t.put(&role_path(&admin.id), json!({"orgRole": 255}), &ada.access_token).await.status, 200);
        assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 2);
    }

    async fn a_role_change_applies_on_the_next_request(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let grace = t.member(&ada, "grace@acme.com", 2).await;
        let user = t.member(&ada, "user@acme.com", 0).await;
        assert_eq!(t.put(&role_path(&user.id), json!({"orgRole": 1}), &grace.access_token).await.status, 200);
        assert_eq!(t.put(&role_path(&grace.id), json!({"orgRole": 0}), &ada.access_token).await.status, 200);
        // Same token, no new login: the store's role decides.
        t.put(&role_path(&user.id), json!({"orgRole": 0}), &grace.access_token).await
            .assert_error(403, "INSUFFICIENT_PERMISSIONS");
        let profile = t.get("/user/profile", &grace.access_token).await;
        assert_eq!(profile.body["data"]["orgRole"], 0);
        assert_eq!(profile.body["data"]["orgRoles"], json!([0]));
    }

    async fn the_last_owner_is_kept(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        t.put(&role_path(&ada.id), json!({"orgRole": 254}), &ada.access_token).await
            .assert_error(409, "LAST_OWNER");
        assert_eq!(t.role_of(&ada.id).await, 255);
        let bob = t.member(&ada, "bob@acme.com", 255).await;
        assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 2);
        assert_eq!(t.put(&role_path(&ada.id), json!({"orgRole": 0}), &ada.access_token).await.status, 200);
        t.put(&role_path(&bob.id), json!({"orgRole": 0}), &bob.access_token).await
            .assert_error(409, "LAST_OWNER");
        assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 1);
    }

    async fn two_owners_demoting_each_other_leave_an_owner(t: TestApp) {
        for round in 0..20 {
            let a = t.owner(&format!("a{round}@acme.com")).await;
            let b = t.member(&a, &format!("b{round}@acme.com"), 255).await;
            let demote = |caller: &Member, target: &Member| {
                let (t, token, path) = (t.clone(), caller.access_token.clone(), role_path(&target.id));
                async move { t.put(&path, json!({"orgRole": 0}), &token).await }
            };
            let demotions = race([demote(&a, &b), demote(&b, &a)]).await;
            demotions.assert_overlapped_on(t.backend);
            let [first, second] = <[Reply; 2]>::try_from(demotions.answers).unwrap();
            // Exactly one wins. The loser either saw itself already demoted
            // (403), lost the owner count (409 LAST_OWNER) or lost the race
            // on a record (409 CONFLICT).
            let winners: Vec<(&Reply, &Member)> = [(&first, &b), (&second, &a)]
                .into_iter().filter(|(r, _)| r.status == 200).collect();
            assert_eq!(winners.len(), 1, "round {round}: {} / {}", first.body, second.body);
            for reply in [&first, &second] {
                match reply.status {
                    200 => {}
                    403 => reply.assert_error(403, "INSUFFICIENT_PERMISSIONS"),
                    _ => {
                        assert_eq!(reply.status, 409, "{}", reply.body);
                        assert!(["LAST_OWNER", "CONFLICT"].contains(&reply.code()), "{}", reply.body);
                    }
                }
            }
            // The winner's target is a USER, the winner still the one owner.
            let demoted = winners[0].1;
            let survivor = if demoted.id == a.id { &b } else { &a };
            assert_eq!(t.role_of(&demoted.id).await, 0, "round {round}");
            assert_eq!(t.role_of(&survivor.id).await, 255, "round {round}");
            let org = t.store.organization(&a.org_id).await.unwrap().unwrap();
            assert_eq!(org.owner_count, 1, "round {round}: owner count agrees");
        }
    }

    async fn simultaneous_creations_of_one_member_make_one_user(t: TestApp) {
        const RACERS: usize = 10;
        let ada = t.owner("ada@acme.com").await;
        let ws = t.member(&ada, "ws@acme.com", 2).await;
        // Two managers, each request on its own app (its own hashing limit).
        let racers: Vec<_> = (0..RACERS)
            .map(|i| {
                let app = t.sharing_store(test_config(&[]));
                let token = if i % 2 == 0 { ada.access_token.clone() } else { ws.access_token.clone() };
                let email = if i % 2 == 0 { "grace@acme.com" } else { "GRACE@acme.com" };
                let body = json!({"email": email, "password": PASSWORD, "firstName": "Grace", "lastName": "Hopper"});
                async move { app.call("POST", "/organization/users", Some(body), Some(&token)).await }
            })
            .collect();
        let creations = race(racers).await;
        // Without a password to hash, a creation on SQLite may end before
        // the last racer starts; DynamoDB's round trips overlap.
        creations.assert_overlapped_on(t.backend);
        let mut winners = Vec::new();
        for reply in creations.answers {
            match reply.status {
                201 => winners.push(reply),
                _ => reply.assert_error(409, "EMAIL_ALREADY_REGISTERED"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one creation wins");
        let stored = t.store.user_by_email("grace@acme.com").await.unwrap().expect("grace");
        assert_eq!(json!(stored.id), winners[0].body["data"]["id"]);
        let members = t.store.members(&ada.org_id).await.unwrap();
        assert_eq!(members.len(), 3, "ada, ws and one grace");
        assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 1);
        let accepted = t.accept_invitation("grace@acme.com", PASSWORD).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        assert_eq!(t.login("grace@acme.com", PASSWORD).await.status, 200);
    }

    async fn members_are_created_and_listed(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let body = json!({"email": " Grace@ACME.com", "password": PASSWORD, "firstName": "Grace", "lastName": "Hopper"});
        let reply = t.call("POST", "/organization/users", Some(body.clone()), Some(&ada.access_token)).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let id = reply.body["data"]["id"].as_str().unwrap().to_owned();
        assert_eq!(reply.body, json!({"success": true, "message": "User created", "data": {
            "id": id, "email": "grace@acme.com", "name": "Grace", "lastName": "Hopper",
            "orgId": ada.org_id, "orgRole": 0, "validated": false, "deletedAt": null,
            "pendingInvitation": true, "authMethod": "LOCAL", "orgRoleDescription": "USER", "orgRoles": [0]
        }}));
        t.call("POST", "/organization/users", Some(body), Some(&ada.access_token)).await
            .assert_error(409, "EMAIL_ALREADY_REGISTERED");
        let grace_login = t.accept_invitation("grace@acme.com", PASSWORD).await;
        assert_eq!(grace_login.status, 200, "{}", grace_login.body);
        assert_eq!(grace_login.body["user"]["orgId"], json!(ada.org_id));

        let list = t.get("/organization/users", &grace_login.str("accessToken")).await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert_eq!(list.body["total"], 2);
        let emails: Vec<&str> = list.body["data"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
        assert_eq!(emails, vec!["ada@acme.com", "grace@acme.com"]);
        let other = t.owner("eve@evil.com").await;
        let theirs = t.get("/organization/users", &other.access_token).await;
        assert_eq!(theirs.body["total"], 1, "other organizations are invisible");
    }

    async fn member_creation_follows_the_role_rules(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let ws = t.member(&ada, "ws@acme.com", 2).await;
        let user = t.member(&ada, "user@acme.com", 0).await;
        let new = |email: &str, role: serde_json::Value| json!({
            "email": email, "password": PASSWORD, "firstName": "N", "lastName": "M", "orgRole": role
        });
        t.call("POST", "/organization/users", Some(new("a@acme.com", json!(0))), Some(&user.access_token)).await
            .assert_error(403, "INSUFFICIENT_PERMISSIONS");
        t.call("POST", "/organization/users", Some(new("b@acme.com", json!(2))), Some(&ws.access_token)).await
            .assert_error(403, "INSUFFICIENT_PERMISSIONS");
        assert_eq!(t.call("POST", "/organization/users", Some(new("c@acme.com", json!(1))), Some(&ws.access_token)).await.status, 201);
        t.call("POST", "/organization/users", Some(new("d@acme.com", json!(7))), Some(&ada.access_token)).await
            .assert_error(400, "INVALID_ROLE");
        // A password, weak or not, is the admin's and is ignored.
        let mut weak = new("e@acme.com", json!(0));
        weak["password"] = json!("password");
        let ignored = t.call("POST", "/organization/users", Some(weak), Some(&ada.access_token)).await;
        assert_eq!(ignored.status, 201, "{}", ignored.body);
        t.login("e@acme.com", "password").await.assert_error(401, "INVALID_CREDENTIALS");
        for email in ["a@acme.com", "b@acme.com", "d@acme.com"] {
            assert!(t.store.user_by_email(email).await.unwrap().is_none(), "{email}");
        }
    }

    async fn bad_roles_are_invalid_role(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let grace = t.member(&ada, "grace@acme.com", 0).await;
        for role in [json!(3), json!(253), json!(256), json!(-1), json!("1"), json!(1.5), json!(null), json!([1])] {
            t.put(&role_path(&grace.id), json!({"orgRole": role}), &ada.access_token).await
                .assert_error(400, "INVALID_ROLE");
        }
        t.put(&role_path(&grace.id), json!({}), &ada.access_token).await.assert_error(400, "VALIDATION_ERROR");
        t.put(&role_path("nope"), json!({"orgRole": 1}), &ada.access_token).await.assert_error(404, "USER_NOT_FOUND");
        let other = t.owner("eve@evil.com").await;
        t.put(&role_path(&grace.id), json!({"orgRole": 1}), &other.access_token).await.assert_error(404, "USER_NOT_FOUND");
        assert_eq!(t.role_of(&grace.id).await, 0);
    }
}
