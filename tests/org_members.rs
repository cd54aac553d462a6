//! Organization management of members (API.md, "Organization management"):
//! a member read, edited, removed, reinvited and reactivated by another,
//! under the role change's ladder, on both stores.

use accounts::model::UserStatus;
use accounts_tests::mail::link_token;
use accounts_tests::race::race;
use accounts_tests::*;
use serde_json::json;

fn member_path(id: &str) -> String {
    format!("/organization/users/{id}")
}

async fn remove(t: &TestApp, by: &Member, target: &str) -> Reply {
    t.call("DELETE", &member_path(target), None, Some(&by.access_token))
        .await
}

async fn post(t: &TestApp, path: &str, by: &Member) -> Reply {
    t.call("POST", path, None, Some(&by.access_token)).await
}

fn resend_path(id: &str) -> String {
    format!("/organization/users/{id}/resend-invitation")
}

fn activate_path(id: &str) -> String {
    format!("/organization/users/{id}/activate")
}

on_both_stores! {
    async fn a_member_is_read_as_the_bare_item(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let grace = t.member(&ada, "grace@acme.com", 2).await;
        let reply = t.get(&member_path(&ada.id), &grace.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, json!({
            "success": true, "id": ada.id, "email": "ada@acme.com", "name": "Ada",
            "lastName": "Lovelace", "orgId": ada.org_id, "orgRole": 255, "validated": false,
            "pendingInvitation": false, "authMethod": "LOCAL",
            "deletedAt": null, "orgRoleDescription": "OWNER", "orgRoles": [0, 1, 2, 254, 255]
        }));
        let eve = t.owner("eve@evil.com").await;
        let foreign = t.get(&member_path(&grace.id), &eve.access_token).await;
        foreign.assert_error(404, "USER_NOT_FOUND");
        let missing = t.get(&member_path(&uuid::Uuid::new_v4().to_string()), &eve.access_token).await;
        assert_eq!(foreign.body, missing.body, "another organization's member looks like nobody");
        t.get(&member_path("not-a-uuid"), &ada.access_token).await.assert_error(404, "USER_NOT_FOUND");
    }

    async fn every_new_route_needs_a_token(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let routes = [
            ("GET", member_path(&ada.id)), ("PUT", member_path(&ada.id)), ("DELETE", member_path(&ada.id)),
            ("POST", resend_path(&ada.id)), ("POST", activate_path(&ada.id)),
            ("GET", format!("/organization/{}", ada.org_id)), ("PUT", format!("/organization/{}", ada.org_id)),
        ];
        for (method, path) in &routes {
            let body = (*method == "PUT").then(|| json!({"name": "X"}));
            t.call(method, path, body.clone(), None).await.assert_error(401, "NO_AUTH_USER");
            t.call(method, path, body, Some(&ada.refresh_token)).await.assert_error(401, "INVALID_TOKEN");
        }
        assert_eq!(t.store.user(&ada.id).await.unwrap().unwrap().version, 1, "nothing written");
    }

    async fn a_member_is_renamed_and_its_role_changed_in_one_write(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let ws = t.member(&ada, "ws@acme.com", 2).await;
        let user = t.member(&ada, "user@acme.com", 0).await;
        let reply = t.put(&member_path(&user.id), json!({"name": " Amazing ", "lastName": "Grace", "orgRole": 1}), &ws.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["message"], "User updated");
        assert_eq!(reply.body["data"]["name"], "Amazing");
        assert_eq!(reply.body["data"]["orgRole"], 1);
        assert_eq!(reply.body["data"]["orgRoles"], json!([0, 1]));
        let stored = t.store.user(&user.id).await.unwrap().unwrap();
        assert_eq!((stored.name.as_str(), stored.last_name.as_str(), stored.org_role.value(), stored.version), ("Amazing", "Grace", 1, 3));
        // Names alone, on oneself: anyone.
        assert_eq!(t.put(&member_path(&user.id), json!({"lastName": "Hopper"}), &user.access_token).await.status, 200);
        t.put(&member_path(&user.id), json!({}), &ws.access_token).await.assert_error(400, "VALIDATION_ERROR");
        t.put(&member_path(&user.id), json!({"name": "   "}), &ws.access_token).await.assert_error(400, "VALIDATION_ERROR");
        t.put(&member_path(&user.id), json!({"orgRole": 3}), &ws.access_token).await.assert_error(400, "INVALID_ROLE");
        assert_eq!(t.store.user(&user.id).await.unwrap().unwrap().version, 4);
    }

    async fn member_edits_follow_the_ladder(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let admin = t.member(&ada, "admin@acme.com", 254).await;
        let ws = t.member(&ada, "ws@acme.com", 2).await;
        let billing = t.member(&ada, "billing@acme.com", 1).await;
        let user = t.member(&ada, "user@acme.com", 0).await;
        let refused = [
            (&ws, &user, json!({"orgRole": 2})),        // WORKSPACES may not grant WORKSPACES
            (&ws, &admin, json!({"name": "X"})),        // nor rename a higher role
            (&billing, &user, json!({"name": "X"})),    // BILLING manages nobody
            (&admin, &user, json!({"orgRole": 255})),   // ADMINISTRATORS never grant OWNER
            (&admin, &ada, json!({"orgRole": 254})),    // nor take it away
            (&admin, &ada, json!({"name": "X"})),       // nor rename an OWNER
        ];
        for (caller, target, body) in refused {
            t.put(&member_path(&target.id), body.clone(), &caller.access_token).await
                .assert_error(403, "INSUFFICIENT_PERMISSIONS");
        }
        // As they were: the owner as registered, the members as they
        // accepted their invitations.
        assert_eq!(t.store.user(&ada.id).await.unwrap().unwrap().version, 1);
        for member in [&admin, &ws, &billing, &user] {
            assert_eq!(t.store.user(&member.id).await.unwrap().unwrap().version, 2);
        }
        t.put(&member_path(&ada.id), json!({"orgRole": 0}), &ada.access_token).await
            .assert_error(409, "LAST_OWNER");
        assert_eq!(t.role_of(&ada.id).await, 255);
        let eve = t.owner("eve@evil.com").await;
        t.put(&member_path(&user.id), json!({"name": "X"}), &eve.access_token).await
            .assert_error(404, "USER_NOT_FOUND");
    }

    async fn a_removed_member_is_gone_for_good(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let grace = t.member(&ada, "grace@acme.com", 0).await;
        let reply = remove(&t, &ada, &grace.id).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, json!({"success": true, "message": "User removed"}));
        let stored = t.store.user(&grace.id).await.unwrap().unwrap();
        assert_eq!((stored.status, stored.deleted_at), (UserStatus::Inactive, Some(t.clock_now())));
        // Accepting the invitation moved it once, the removal again.
        assert_eq!(stored.session_epoch, 2);
        // Every session ends at once; no sign-in.
        t.get("/user/profile", &grace.access_token).await.assert_error(401, "SESSION_REVOKED");
        t.refresh(&grace.refresh_token).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        t.login("grace@acme.com", PASSWORD).await.assert_error(401, "INVALID_CREDENTIALS");
        // Listed only when asked for.
        let list = t.get("/organization/users", &ada.access_token).await;
        assert_eq!(list.body["total"], 1, "{}", list.body);
        let all = t.get("/organization/users?includeDeleted=true", &ada.access_token).await;
        assert_eq!(all.body["total"], 2, "{}", all.body);
        assert_eq!(all.body["data"][1]["deletedAt"], json!(t.clock_now()));
        assert_eq!(t.get(&member_path(&grace.id), &ada.access_token).await.body["deletedAt"], json!(t.clock_now()));
        // Nothing more to do to it.
        remove(&t, &ada, &grace.id).await.assert_error(404, "USER_NOT_FOUND");
        post(&t, &activate_path(&grace.id), &ada).await.assert_error(404, "USER_NOT_FOUND");
        t.put(&member_path(&grace.id), json!({"name": "X"}), &ada.access_token).await.assert_error(404, "USER_NOT_FOUND");
        // The address is free: a new account, its own organization.
        let again = t.register("grace@acme.com").await;
        assert_eq!(again.status, 201, "{}", again.body);
        assert_ne!(again.body["user"]["id"], json!(grace.id));
        assert_eq!(t.store.user_by_email("grace@acme.com").await.unwrap().unwrap().id, again.body["user"]["id"].as_str().unwrap());
        assert_eq!(t.login("grace@acme.com", PASSWORD).await.status, 200);
        assert_eq!(t.store.user(&grace.id).await.unwrap().unwrap().deleted_at, Some(t.clock_now()), "the old one stays removed");
    }

    async fn removal_follows_the_ladder_and_spares_oneself(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let bob = t.member(&ada, "bob@acme.com", 255).await;
        let admin = t.member(&ada, "admin@acme.com", 254).await;
        let ws = t.member(&ada, "ws@acme.com", 2).await;
        let ws2 = t.member(&ada, "ws2@acme.com", 2).await;
        let user = t.member(&ada, "user@acme.com", 0).await;
        remove(&t, &ada, &ada.id).await.assert_error(400, "VALIDATION_ERROR");
        for (caller, target) in [(&user, &ws), (&ws, &ws2), (&ws, &admin), (&admin, &bob)] {
            remove(&t, caller, &target.id).await.assert_error(403, "INSUFFICIENT_PERMISSIONS");
            assert!(t.store.user(&target.id).await.unwrap().unwrap().deleted_at.is_none());
        }
        let eve = t.owner("eve@evil.com").await;
        remove(&t, &eve, &user.id).await.assert_error(404, "USER_NOT_FOUND");
        assert_eq!(remove(&t, &ws, &user.id).await.status, 200);
        assert_eq!(remove(&t, &admin, &ws2.id).await.status, 200);
        // An owner removes another owner; the count follows.
        assert_eq!(remove(&t, &ada, &bob.id).await.status, 200);
        assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 1);
    }

    async fn two_owners_removing_each_other_leave_one(t: TestApp) {
        for round in 0..10 {
            let a = t.owner(&format!("a{round}@acme.com")).await;
            let b = t.member(&a, &format!("b{round}@acme.com"), 255).await;
            let removal = |caller: &Member, target: &Member| {
                let (t, token, path) = (t.clone(), caller.access_token.clone(), member_path(&target.id));
                async move { t.call("DELETE", &path, None, Some(&token)).await }
            };
            let removals = race([removal(&a, &b), removal(&b, &a)]).await;
            removals.assert_overlapped_on(t.backend);
            let answers = removals.answers;
            let won: Vec<usize> = (0..2).filter(|&i| answers[i].status == 200).collect();
            assert_eq!(won.len(), 1, "round {round}: {} / {}", answers[0].body, answers[1].body);
            for reply in &answers {
                // The loser was removed first (401), or lost the count or the record.
                assert!([200, 401, 409].contains(&reply.status), "round {round}: {}", reply.body);
            }
            let (survivor, removed) = if won[0] == 0 { (&a, &b) } else { (&b, &a) };
            assert!(t.store.user(&removed.id).await.unwrap().unwrap().deleted_at.is_some());
            let kept = t.store.user(&survivor.id).await.unwrap().unwrap();
            assert!(kept.deleted_at.is_none() && kept.is_active(), "round {round}");
            assert_eq!(t.store.organization(&a.org_id).await.unwrap().unwrap().owner_count, 1, "round {round}");
        }
    }

    async fn an_invitation_is_resent_and_the_old_link_dies(t: TestApp) {
        let mailer = t.mailer();
        let ada = t.owner("ada@acme.com").await;
        let ws = t.member(&ada, "ws@acme.com", 2).await;
        let invite = json!({"email": "grace@acme.com", "firstName": "Grace", "lastName": "Hopper", "sendInvite": true});
        let created = t.call("POST", "/organization/users", Some(invite), Some(&ada.access_token)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let grace = created.body["data"]["id"].as_str().unwrap().to_owned();
        let app_url = t.app.config.mail.app_url.clone();
        let first = mailer.deliver().await.iter().filter(|m| m.to == "grace@acme.com")
            .map(|m| link_token(m, &app_url, "verify-email")).next().expect("the invitation");

        let reply = t.call("POST", &resend_path(&grace), None, Some(&ws.access_token)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, json!({"success": true, "message": "Invitation sent"}));
        let mails = mailer.deliver().await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, "grace@acme.com");
        let second = link_token(&mails[0], &app_url, "verify-email");
        t.post("/user/verify-email", json!({"token": first, "password": "New-pass-456"})).await
            .assert_error(400, "INVALID_VERIFICATION_TOKEN");
        let accepted = t.post("/user/verify-email", json!({"token": second, "password": "New-pass-456"})).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        // Accepted: nothing to resend.
        t.call("POST", &resend_path(&grace), None, Some(&ws.access_token)).await.assert_error(409, "CONFLICT");
        let user = t.member(&ada, "user@acme.com", 0).await;
        t.call("POST", &resend_path(&grace), None, Some(&user.access_token)).await
            .assert_error(403, "INSUFFICIENT_PERMISSIONS");
        let eve = t.owner("eve@evil.com").await;
        t.call("POST", &resend_path(&grace), None, Some(&eve.access_token)).await.assert_error(404, "USER_NOT_FOUND");
        assert!(mailer.deliver().await.iter().all(|m| m.to != "grace@acme.com"), "no more mail to grace");
    }

    async fn administrators_reactivate_members(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let bob = t.member(&ada, "bob@acme.com", 255).await;
        let admin = t.member(&ada, "admin@acme.com", 254).await;
        let ws = t.member(&ada, "ws@acme.com", 2).await;
        let grace = t.member(&ada, "grace@acme.com", 0).await;
        for leaving in [&grace, &bob] {
            assert_eq!(post(&t, "/user/deactivate", leaving).await.status, 200);
        }
        assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 1);
        post(&t, &activate_path(&grace.id), &ws).await.assert_error(403, "INSUFFICIENT_PERMISSIONS");
        post(&t, &activate_path(&bob.id), &admin).await.assert_error(403, "INSUFFICIENT_PERMISSIONS");
        t.login("grace@acme.com", PASSWORD).await.assert_error(403, "USER_INACTIVE");
        let reply = post(&t, &activate_path(&grace.id), &admin).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, json!({"success": true, "message": "User activated"}));
        assert_eq!(t.login("grace@acme.com", PASSWORD).await.status, 200);
        t.refresh(&grace.refresh_token).await.assert_error(401, "INVALID_REFRESH_TOKEN");
        assert_eq!(post(&t, &activate_path(&bob.id), &ada).await.status, 200);
        assert_eq!(t.store.organization(&ada.org_id).await.unwrap().unwrap().owner_count, 2);
        // Already active: nothing to do, nothing written.
        let version = t.store.user(&bob.id).await.unwrap().unwrap().version;
        assert_eq!(post(&t, &activate_path(&bob.id), &ada).await.status, 200);
        assert_eq!(t.store.user(&bob.id).await.unwrap().unwrap().version, version);
        let eve = t.owner("eve@evil.com").await;
        post(&t, &activate_path(&grace.id), &eve).await.assert_error(404, "USER_NOT_FOUND");
    }
}
