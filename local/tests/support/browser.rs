//! Headless Chromium against accounts-local (browser.rs, browser_mfa.rs):
//! a page served from a second loopback origin drives the API with `fetch`
//! and writes what it could see into the page; the DOM is dumped once the
//! page's script is done, and its report read back.
//!
//! Chromium is found through `ACCOUNTS_CHROMIUM` or on `PATH`
//! (`scripts/test.sh` installs it with `scripts/ensure-chromium.sh`); without
//! it these tests fail, they do not skip.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Server;

/// What every page loads first: `call`, `report` and `run` (browser/common.js).
const COMMON_JS: &str = include_str!("../browser/common.js");
/// Real time allowed to one browser run, start to DOM dump.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);
/// Shorter than the run's own limit, so that a page whose script never
/// finishes is still dumped and its report says how far it got.
const HOLD_TIMEOUT: Duration = Duration::from_secs(75);

pub fn chromium() -> PathBuf {
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

/// Which clock the page runs on, and so when its DOM is dumped.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// `--virtual-time-budget`: timers fire at once and the DOM is dumped
    /// when the script is idle, so no run waits on the wall clock. But the
    /// page's `Date.now()` is virtual too, and runs ahead of the server's.
    Virtual,
    /// The wall clock, which a TOTP code needs. `--dump-dom` then dumps at
    /// the load event, so the page holds it back with an `<iframe
    /// src="hold">` that `/hold` answers only once the script posts `/done`
    /// (`run` in common.js does).
    Wall,
}

/// Serves one page, on its own loopback port: a second origin,
/// `http://127.0.0.1:<port>`.
pub struct PageOrigin {
    pub origin: String,
}

/// Whether the page posted `/done` since `/hold` last answered.
type Done = Arc<(Mutex<bool>, Condvar)>;

impl PageOrigin {
    pub fn start(page: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let done = Done::default();
        // Lives as long as the test process. A thread per connection:
        // `/hold` waits while `/done` comes in on another connection.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let done = done.clone();
                std::thread::spawn(move || serve(&stream, page, &done));
            }
        });
        PageOrigin { origin }
    }
}

fn serve(stream: &TcpStream, page: &str, done: &Done) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    let _ = reader.read_line(&mut request_line);
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let target = request_line.split(' ').take(2).collect::<Vec<_>>();
    let path = target
        .get(1)
        .map_or("", |t| t.split('?').next().unwrap_or(""));
    let (status, content_type, body) = match (target.first().copied(), path) {
        (Some("GET"), "/") => ("200 OK", "text/html", page),
        (Some("GET"), "/common.js") => ("200 OK", "text/javascript", COMMON_JS),
        (Some("GET"), "/hold") => {
            let (flag, signal) = &**done;
            let guard = flag.lock().unwrap();
            let (mut posted, _) = signal
                .wait_timeout_while(guard, HOLD_TIMEOUT, |posted| !*posted)
                .unwrap();
            *posted = false;
            ("200 OK", "text/html", "")
        }
        (Some("POST"), "/done") => {
            *done.0.lock().unwrap() = true;
            done.1.notify_all();
            ("204 No Content", "text/plain", "")
        }
        _ => ("404 Not Found", "text/plain", ""),
    };
    let _ = write!(
        &*stream,
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}; charset=utf-8\r\n\
         cache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// What the page's script saw: a step per fetch, and `notes`, what it
/// observed besides.
pub struct Report {
    pub origin: String,
    pub steps: Vec<Value>,
    pub notes: Value,
}

impl Report {
    pub fn step(&self, name: &str) -> &Value {
        self.steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("the page reported no step {name:?}"))
    }

    /// Every step's fetch got a CORS answer the page could read: the
    /// exposed request id (a new one each time), not the unexposed `date`.
    pub fn assert_all_read_through_cors(&self) {
        let mut request_ids = BTreeSet::new();
        for step in &self.steps {
            let name = &step["step"];
            assert_eq!(step["error"], Value::Null, "{name}: fetch failed: {step}");
            assert_eq!(step["type"], "cors", "{name}: {step}");
            assert!(is_request_id(&step["requestId"]), "{name}: {step}");
            request_ids.insert(step["requestId"].as_str().unwrap().to_owned());
            assert_eq!(step["date"], Value::Null, "{name}: {step}");
        }
        assert_eq!(request_ids.len(), self.steps.len(), "request ids repeat");
    }
}

fn is_request_id(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|id| id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
}

/// Loads the page from `page` with `?api=<server>&scenario=<scenario>` in
/// headless Chromium and returns its report, once the page says it is done.
pub fn run_page(page: &PageOrigin, server: &Server, scenario: &str, clock: Clock) -> Report {
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
    let mut command = Command::new(chromium());
    command.args([
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
        "--dump-dom",
    ]);
    if clock == Clock::Virtual {
        // Virtual time stops while fetches are pending, so this is no
        // wall-clock wait: the dump comes once the script is idle.
        command.arg("--virtual-time-budget=60000");
    }
    let mut child = command
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
    println!("browser: {scenario}: notes {}", report["notes"]);
    Report {
        origin: report["origin"].as_str().unwrap_or_default().to_owned(),
        steps: report["steps"].as_array().unwrap().clone(),
        notes: report["notes"].clone(),
    }
}

/// The text of an element as the DOM dump escapes it.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}
