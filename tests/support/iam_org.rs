//! The organization-management and settings routes' part of
//! tests/iam_policies.rs (included there with `#[path]`).

use accounts::http::Route;
use accounts_tests::mail::link_token;
use accounts_tests::*;
use serde_json::json;

use super::Recorder;

/// Every organization-management and settings route, through its paths:
/// a member edited by name and by role (one to OWNER: the owner count
/// moves), reinvited (its older token spent), deactivated ones reactivated
/// (an owner and not), members removed (an owner and not), the organization
/// read and edited, and each settings route on both scopes.
pub(super) async fn organization_management(
    t: &TestApp,
    token: &str,
    org_id: &str,
    edsger: &str,
    recorder: &Recorder,
    record: &mut impl FnMut(Route, &Recorder),
) {
    let member = format!("/organization/users/{edsger}");
    assert_eq!(t.get(&member, token).await.status, 200);
    record(Route::GetMember, recorder);
    for body in [
        json!({"name": "E"}),
        json!({"orgRole": 1}),
        json!({"orgRole": 255}),
    ] {
        let reply = t.put(&member, body, token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    record(Route::UpdateMember, recorder);
    let resent = t
        .call(
            "POST",
            &format!("{member}/resend-invitation"),
            None,
            Some(token),
        )
        .await;
    assert_eq!(resent.status, 200, "{}", resent.body);
    record(Route::ResendInvitation, recorder);
    let mut leavers = Vec::new();
    for (email, role) in [("kay@acme.com", 0), ("lin@acme.com", 255)] {
        let body = json!({"email": email, "firstName": "K", "lastName": "L", "orgRole": role});
        let created = t
            .call("POST", "/organization/users", Some(body), Some(token))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        leavers.push(created.body["data"]["id"].as_str().unwrap().to_owned());
        record(Route::CreateMember, recorder);
        // Members sign in once they accept their invitation; the mailer's
        // own requests are no route's.
        let mails = t.mailer().deliver().await;
        recorder.take();
        let invitation = mails
            .iter()
            .rev()
            .find(|m| m.to == email)
            .expect("invitation");
        let token = link_token(invitation, &t.app.config.mail.app_url, "verify-email");
        let accepted = t
            .post(
                "/user/verify-email",
                json!({"token": token, "password": PASSWORD}),
            )
            .await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        record(Route::VerifyEmail, recorder);
        let signed_in = t.login(email, PASSWORD).await;
        record(Route::Login, recorder);
        let gone = t
            .call(
                "POST",
                "/user/deactivate",
                None,
                Some(&signed_in.str("accessToken")),
            )
            .await;
        assert_eq!(gone.status, 200, "{}", gone.body);
        record(Route::Deactivate, recorder);
    }
    for id in &leavers {
        let back = t
            .call(
                "POST",
                &format!("/organization/users/{id}/activate"),
                None,
                Some(token),
            )
            .await;
        assert_eq!(back.status, 200, "{}", back.body);
    }
    record(Route::ActivateMember, recorder);
    for id in [&leavers[0], &edsger.to_owned()] {
        let removed = t
            .call(
                "DELETE",
                &format!("/organization/users/{id}"),
                None,
                Some(token),
            )
            .await;
        assert_eq!(removed.status, 200, "{}", removed.body);
    }
    record(Route::RemoveMember, recorder);
    let org = format!("/organization/{org_id}");
    assert_eq!(t.get(&org, token).await.status, 200);
    record(Route::GetOrganization, recorder);
    let edited = t.put(&org, json!({"city": "London"}), token).await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    record(Route::UpdateOrganization, recorder);
    let scopes = [
        (
            "/settings/user",
            [
                Route::GetUserSettings,
                Route::ReplaceUserSettings,
                Route::MergeUserSettings,
                Route::DeleteUserSettings,
            ],
        ),
        (
            "/settings/organization",
            [
                Route::GetOrgSettings,
                Route::ReplaceOrgSettings,
                Route::MergeOrgSettings,
                Route::DeleteOrgSettings,
            ],
        ),
    ];
    for (path, [get, replace, merge, delete]) in scopes {
        for (route, method, body) in [
            (replace, "POST", Some(json!({"settings": {"a": 1}}))),
            (merge, "PUT", Some(json!({"settings": {"b": 2}}))),
            (delete, "DELETE", Some(json!({"keys": ["a"]}))),
            (get, "GET", None),
        ] {
            let reply = t.call(method, path, body, Some(token)).await;
            assert_eq!(reply.status, 200, "{route:?}: {}", reply.body);
            record(route, recorder);
        }
    }
}
