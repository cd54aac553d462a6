//! A real browser calls accounts-local across origins: headless Chromium
//! loads `browser/page.html` from a second loopback origin, whose script
//! drives the API with `fetch` (preflights included) and writes what it
//! could see into the page; the DOM is dumped once the script is done.
//!
//! Chromium is found through `ACCOUNTS_CHROMIUM` or on `PATH`
//! (`scripts/test.sh` installs it with `scripts/ensure-chromium.sh`); without
//! it these tests fail, they do not skip.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, exchange, start};

const PAGE: &str = include_str!("browser/page.html");
/// Real time allowed to one browser run, start to DOM dump.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("ACCOUNTS_CHROMIUM").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "headless Chromium not found (ACCOUNTS_CHROMIUM unset, no chromium on PATH): \
                 run scripts/ensure-chromium.sh, as scripts/test.sh does"
            )
        })
}

/// Serves the test page, for any path, on its own loopback port: a second
/// origin, `http://127.0.0.1:<port>`.
struct PageOrigin {
    origin: String,
}

impl PageOrigin {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        // Lives as long as the test process; it only ever serves the page.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let (status, body) =
                    if request_line.starts_with("GET /?") || request_line.starts_with("GET / ") {
                        ("200 OK", PAGE)
                    } else {
                        ("404 Not Found", "")
                    };
                let _ = write!(
                    &stream,
                    "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\n\
                     cache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        PageOrigin { origin }
    }
}

/// What the page's script saw, step by step.
struct Report {
    origin: String,
    steps: Vec<Value>,
}

impl Report {
    fn step(&self, name: &str) -> &Value {
        self.steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("the page reported no step {name:?}"))
    }
}

/// Loads the page from `page` with `?api=<server>&scenario=<scenario>` in
/// headless Chromium and returns its report, once the page says it is done.
fn run_page(page: &PageOrigin, server: &Server, scenario: &str) -> Report {
    let profile = std::env::temp_dir().join(format!(
        "accounts-browser-{}-{scenario}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let url = format!(
        "{}/?api=http://{}&scenario={scenario}",
        page.origin, server.addr
    );
    let started = Instant::now();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            // Root in CI: Chromium's sandbox refuses to run as root.
            "--no-sandbox",
            "--disable-gpu",
            // Containers often have a small /dev/shm; Chromium then crashes.
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Virtual time stops while fetches are pending, so this is no
            // wall-clock wait: the dump comes once the script is idle.
            "--virtual-time-budget=60000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium().display()));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let dom = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish {url} within {BROWSER_TIMEOUT:?}:\n{}",
                log.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = dom.join().unwrap();
    let log = log.join().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        status.success(),
        "chromium failed ({status}) on {url}:\n{log}"
    );
    println!(
        "browser: {scenario} page from {} ran in {:.1} s",
        page.origin,
        started.elapsed().as_secs_f64()
    );

    let report = dom
        .split_once("<pre id=\"report\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(report, _)| unescape(report))
        .unwrap_or_else(|| panic!("no report in the page's DOM:\n{dom}\n{log}"));
    let report: Value = serde_json::from_str(&report)
        .unwrap_or_else(|e| panic!("the page's report is not JSON ({e}):\n{report}\n{log}"));
    assert_eq!(
        report["done"], true,
        "the page did not finish its script: {report:#}\n{log}"
    );
    for step in report["steps"].as_array().unwrap() {
        println!("browser: {scenario}: {step}");
    }
    Report {
        origin: report["origin"].as_str().unwrap_or_default().to_owned(),
        steps: report["steps"].as_array().unwrap().clone(),
    }
}

/// The text of an element as the DOM dump escapes it.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

fn is_request_id(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|id| id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
}

#[test]
fn a_page_on_an_allowed_origin_uses_the_api() {
    let page = PageOrigin::start();
    let server = start(&["--memory", "--cors-allowed-origins", &page.origin]);
    let report = run_page(&page, &server, "allowed");
    assert_eq!(report.origin, page.origin);

    let mut request_ids = BTreeSet::new();
    for step in &report.steps {
        let name = &step["step"];
        assert_eq!(step["error"], Value::Null, "{name}: fetch failed: {step}");
        assert_eq!(step["type"], "cors", "{name}: {step}");
        // Exposed: the script reads it on every answer.
        assert!(is_request_id(&step["requestId"]), "{name}: {step}");
        request_ids.insert(step["requestId"].as_str().unwrap().to_owned());
        // Sent by the server but not exposed: hidden from the script.
        assert_eq!(step["date"], Value::Null, "{name}: {step}");
    }
    assert_eq!(request_ids.len(), report.steps.len(), "request ids repeat");

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
    let allowed = PageOrigin::start();
    let other = PageOrigin::start();
    let server = start(&["--memory", "--cors-allowed-origins", &allowed.origin]);
    let report = run_page(&other, &server, "blocked");
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
