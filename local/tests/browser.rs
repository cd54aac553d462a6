//! A real browser calls accounts-local across origins: headless Chromium
//! loads `browser/page.html` from a second loopback origin, whose script
//! drives the API with `fetch` (preflights included) and writes what it
//! could see into the page (support/browser.rs).

mod support;

use serde_json::{Value, json};
use support::browser::{Clock, PageOrigin, run_page};
use support::{exchange, start};

const PAGE: &str = include_str!("browser/page.html");

#[test]
fn a_page_on_an_allowed_origin_uses_the_api() {
    let page = PageOrigin::start(PAGE);
    let server = start(&["--memory", "--cors-allowed-origins", &page.origin]);
    let report = run_page(&page, &server, "allowed", Clock::Virtual);
    assert_eq!(report.origin, page.origin);

    report.assert_all_read_through_cors();

    let register = report.step("register");
    assert_eq!(register["status"], 201, "{register}");
    assert_eq!(register["fields"]["accessToken"], true, "{register}");
    let user_id = register["fields"]["userId"].as_str().unwrap();

    let login = report.step("login");
    assert_eq!(login["status"], 200, "{login}");
    assert_eq!(login["fields"]["userId"], user_id, "{login}");
    assert_eq!(login["fields"]["refreshToken"], true, "{login}");

    let profile = report.step("profile");
    assert_eq!(profile["status"], 200, "{profile}");
    assert_eq!(profile["fields"]["email"], "ada@acme.com", "{profile}");
    assert_eq!(profile["fields"]["id"], user_id, "{profile}");

    let refresh = report.step("refresh");
    assert_eq!(refresh["status"], 200, "{refresh}");
    assert_eq!(refresh["fields"]["rotated"], true, "{refresh}");

    let update = report.step("update");
    assert_eq!(
        (
            &update["method"],
            &update["status"],
            &update["fields"]["success"]
        ),
        (&json!("PUT"), &json!(200), &json!(true)),
        "{update}"
    );
    let updated = report.step("profile after update");
    assert_eq!(updated["status"], 200, "{updated}");
    assert_eq!(
        (&updated["fields"]["name"], &updated["fields"]["lastName"]),
        (&json!("Augusta"), &json!("King")),
        "{updated}"
    );

    // Register's session and the login's; the current one came from this
    // browser, through the local server's peer address.
    let sessions = report.step("sessions");
    assert_eq!(
        (&sessions["status"], &sessions["fields"]["count"]),
        (&json!(200), &json!(2)),
        "{sessions}"
    );
    assert_eq!(sessions["fields"]["current"], "127.0.0.1", "{sessions}");
    assert_eq!(
        sessions["fields"]["device"], "headless chromium",
        "{sessions}"
    );
    let revoke = report.step("revoke");
    assert_eq!(
        (
            &revoke["method"],
            &revoke["status"],
            &revoke["fields"]["message"]
        ),
        (&json!("DELETE"), &json!(200), &json!("Session revoked")),
        "{revoke}"
    );
    let logout = report.step("logout");
    assert_eq!(
        (&logout["status"], &logout["fields"]["message"]),
        (&json!(200), &json!("Logged out")),
        "{logout}"
    );
    let after = report.step("profile after logout");
    assert_eq!(
        (&after["status"], &after["fields"]["errorCode"]),
        (&json!(401), &json!("SESSION_REVOKED")),
        "{after}"
    );

    for attempt in 1..=5 {
        let wrong = report.step(&format!("wrong login {attempt}"));
        assert_eq!(
            (&wrong["status"], &wrong["fields"]["errorCode"]),
            (&json!(401), &json!("INVALID_CREDENTIALS")),
            "{wrong}"
        );
        assert_eq!(wrong["retryAfter"], Value::Null, "{wrong}");
    }
    let locked = report.step("wrong login 6");
    assert_eq!(
        (&locked["status"], &locked["fields"]["errorCode"]),
        (&json!(429), &json!("TOO_MANY_ATTEMPTS")),
        "{locked}"
    );
    let retry_after: u64 = locked["retryAfter"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After not readable from the script: {locked}"));
    assert!((1..=900).contains(&retry_after), "{locked}");

    // What the browser did is in the store.
    let body = json!({"email": "ada@acme.com", "password": "Secure-pass-123"});
    let login = exchange(&server, "POST", "/user/login", &[], Some(&body));
    assert_eq!(login.status, 200, "{}", login.body);
    let bearer = format!("Bearer {}", login.body["accessToken"].as_str().unwrap());
    let profile = exchange(
        &server,
        "GET",
        "/user/profile",
        &[("authorization", &bearer)],
        None,
    );
    assert_eq!(
        (
            &profile.body["data"]["name"],
            &profile.body["data"]["lastName"]
        ),
        (&json!("Augusta"), &json!("King"))
    );
}

#[test]
fn a_page_on_another_origin_is_blocked() {
    let allowed = PageOrigin::start(PAGE);
    let other = PageOrigin::start(PAGE);
    let server = start(&["--memory", "--cors-allowed-origins", &allowed.origin]);
    let report = run_page(&other, &server, "blocked", Clock::Virtual);
    assert_eq!(report.origin, other.origin);
    assert_eq!(report.steps.len(), 3, "{:?}", report.steps);
    let reachable = report.step("reachable");
    assert_eq!(
        (
            &reachable["type"],
            &reachable["status"],
            &reachable["error"]
        ),
        (&json!("opaque"), &json!(0), &Value::Null),
        "the API must be reachable from the page for the refusals to mean anything: {reachable}"
    );
    for step in [report.step("register"), report.step("profile")] {
        // fetch rejects with a TypeError; the script learns nothing else.
        assert!(
            step["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("TypeError")),
            "{step}"
        );
        assert_eq!(step["status"], Value::Null, "{step}");
    }
    // The preflight was refused, so the registration never reached the
    // server: the address is still free.
    let body = json!({"email": "blocked@acme.com", "password": "Secure-pass-123",
                      "firstName": "Eve", "lastName": "Dropper", "companyName": "Evil",
                      "isBusiness": false});
    let register = exchange(&server, "POST", "/user/register", &[], Some(&body));
    assert_eq!(register.status, 201, "{}", register.body);
}
