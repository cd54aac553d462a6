//! The session check on every route that takes a bearer token: a token
//! whose session has ended (logged out; every session ended at once) is
//! refused with 401 `SESSION_REVOKED` before the route reads or writes
//! anything of its own, on both stores. The routes come from `Route::ALL`
//! and their calls from the table in tests/support/routes.rs, so that a new
//! route is checked as soon as it has its line there.

use accounts::http::Route;
use accounts_tests::github::GithubUser;
use accounts_tests::oidc::{self, FakeProvider};
use accounts_tests::routes::{Bearer, Cast, NEW_ACCOUNT, NEW_MEMBER, RouteCall, call_of};
use accounts_tests::*;
use serde_json::json;

/// The provider identities the link calls would add.
const LINKED: [(&str, &str); 3] = [
    ("GOOGLE", "check-google"),
    ("MICROSOFT", "check-ms"),
    ("GITHUB", "5150"),
];

/// A link call's body with a proof the local provider vouches for (the
/// table's own has none), so that only the session check stands between
/// the call and a new link.
fn with_proof(route: Route, call: &mut RouteCall, p: &FakeProvider, now: i64) {
    let email = "ada@acme.com";
    call.body = Some(match route {
        Route::GoogleLink => json!({"token": p.google_token(now, LINKED[0].1, email, json!({}))}),
        Route::MicrosoftLink => {
            json!({"token": p.microsoft_token(now, LINKED[1].1, email, json!({}))})
        }
        Route::GithubLink => json!({"code": p.github_code(GithubUser::verified(5150, email))}),
        _ => return,
    });
}

/// What the calls could change, read from the store: the organization, its
/// members, their sessions and mail tokens, the outbox, the two addresses
/// the table would add and the identities the links would.
async fn snapshot(t: &TestApp, cast: &Cast) -> Vec<String> {
    let store = &t.store;
    let org = &cast.owner.org_id;
    let mut seen = vec![format!("{:?}", store.organization(org).await.unwrap())];
    for user in store.members(org).await.unwrap() {
        let mut sessions: Vec<String> = (store.user_sessions(&user.id).await.unwrap())
            .iter()
            .map(|s| format!("{s:?}"))
            .collect();
        sessions.sort();
        seen.push(format!("{user:?} {sessions:?}"));
        seen.push(format!("{:?}", store.user_tokens(&user.id).await.unwrap()));
    }
    seen.push(format!(
        "{} outbox mails",
        store.outbox().await.unwrap().len()
    ));
    for (provider, subject) in LINKED {
        seen.push(format!(
            "{provider} {subject}: {:?}",
            store.identity(provider, subject).await.unwrap()
        ));
    }
    for email in [NEW_ACCOUNT, NEW_MEMBER] {
        seen.push(format!(
            "{email}: {:?}",
            store.user_by_email(email).await.unwrap()
        ));
    }
    seen.sort();
    seen
}

/// Calls every bearer route with `token`; each must answer 401
/// `SESSION_REVOKED`. Returns the routes checked.
async fn every_bearer_route_refuses(
    t: &TestApp,
    cast: &Cast,
    p: &FakeProvider,
    token: &str,
    how: &str,
) -> Vec<Route> {
    let mut checked = Vec::new();
    for route in Route::ALL {
        let mut call = call_of(route, cast);
        with_proof(route, &mut call, p, t.clock_now());
        // A pending sign-in has no session yet (tests/mfa.rs).
        if matches!(call.bearer, Bearer::None | Bearer::Pending) {
            continue;
        }
        let reply = t.send_call(&call, Some(token)).await;
        assert_eq!(
            reply.status, 401,
            "{route:?} with a session {how}: {}",
            reply.body
        );
        assert_eq!(
            reply.code(),
            "SESSION_REVOKED",
            "{route:?} with a session {how}: {}",
            reply.body
        );
        checked.push(route);
    }
    checked
}

on_both_stores! {
    async fn every_route_with_a_bearer_token_refuses_an_ended_session_and_changes_nothing(t: TestApp) {
        // Every provider configured (the local one): the link routes exist.
        let p = FakeProvider::start().await;
        let t = oidc::app_with(&t, &p.settings());
        let cast = Cast::new(&t).await;
        let owner = &cast.owner;

        // Ended by logout.
        let ended = t.login(&owner.email, PASSWORD).await;
        let logout = t.post("/user/logout", json!({"refresh_token": ended.str("refreshToken")})).await;
        assert_eq!(logout.status, 200, "{}", logout.body);
        let before = snapshot(&t, &cast).await;
        let checked = every_bearer_route_refuses(&t, &cast, &p, &ended.str("accessToken"), "logged out").await;
        assert_eq!(snapshot(&t, &cast).await, before, "a refused call changed the store");

        // Every route whose function verifies access tokens is among them
        // (the JWKS route holds the public keys only to publish them).
        for route in Route::ALL {
            // A pending sign-in's route has no session to check (tests/mfa.rs).
            let pending = call_of(route, &cast).bearer == Bearer::Pending;
            if route.key_use().verify && route != Route::Jwks && !pending {
                assert!(checked.contains(&route), "{route:?} is not in the session check");
            }
        }
        println!("{} routes checked: {checked:?}", checked.len());

        // Ended by ending every session at once (a new session epoch): the
        // owner's first session, from another of its sessions.
        let other = t.login(&owner.email, PASSWORD).await;
        let all = t.call("POST", "/sessions/revoke-all", None, Some(&other.str("accessToken"))).await;
        assert_eq!(all.status, 200, "{}", all.body);
        let before = snapshot(&t, &cast).await;
        every_bearer_route_refuses(&t, &cast, &p, &owner.access_token, "ended by revoke-all").await;
        assert_eq!(snapshot(&t, &cast).await, before, "a refused call changed the store");
    }
}
