//! A TCP proxy between a store client and its server, which a test switches
//! between working and failing while the server (and its data) stays up.
//!
//! - `up`: bytes pass both ways untouched.
//! - `down`: new connections are reset as soon as they are accepted, and
//!   every open one is reset (both sides): the store is out of reach.
//! - `slow(d)`: requests reach the server, each chunk of its answer is held
//!   for `d` first: a store that does the work but answers too late.
//! - `throttle`: every HTTP request is answered by the proxy itself with
//!   DynamoDB's `ProvisionedThroughputExceededException` (400), and counted;
//!   nothing reaches the server.
//! - `lose_answer_to(op)` (while up): the next request of DynamoDB operation
//!   `op` reaches the server, which does it and answers; the answer is
//!   dropped and the connection reset, as when a network fails at just the
//!   wrong moment. The client sees a broken connection and (its SDK)
//!   retries a request the store has already applied.
//! - `fake_answers(op, body, times)` (while up): the next `times` requests
//!   of DynamoDB operation `op` are answered by the proxy itself with `body`
//!   (HTTP 400, as DynamoDB sends its errors) and never reach the server;
//!   other requests pass. A store answering, say, `TransactionConflict` on
//!   every attempt, which moto (serialized) never does.
//!
//! Included with `#[path]` by the tests that use it (it needs tokio's `net`
//! and `io-util`, dev-dependencies of this package).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    Down,
    Slow(Duration),
    Throttle,
}

pub struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    throttled: Arc<AtomicUsize>,
    losses: Arc<Losses>,
    fakes: Arc<Fakes>,
    accept: JoinHandle<()>,
}

/// Answers to fake: the operation armed, its body, how many more to fake,
/// and how many were faked so far.
#[derive(Default)]
struct Fakes {
    /// The `x-amz-target` line, the body and the requests left to answer.
    armed: std::sync::Mutex<Option<(String, String, usize)>>,
    faked: AtomicUsize,
}

impl Fakes {
    /// The body to answer with, when this chunk of a client's request starts
    /// the armed operation (counting it down).
    fn take_if_armed(&self, chunk: &[u8]) -> Option<String> {
        let mut armed = self.armed.lock().unwrap();
        let (target, body, left) = armed.as_mut()?;
        if *left == 0 || find(&chunk.to_ascii_lowercase(), target.as_bytes()).is_none() {
            return None;
        }
        *left -= 1;
        Some(body.clone())
    }
}

/// Answers to lose: the operation armed, and how many were lost so far.
#[derive(Default)]
struct Losses {
    /// The `x-amz-target` line of the next request whose answer is lost.
    armed: std::sync::Mutex<Option<String>>,
    lost: AtomicUsize,
}

impl Losses {
    /// Whether this chunk of a client's request starts the armed operation
    /// (disarming it).
    fn take_if_armed(&self, chunk: &[u8]) -> bool {
        let mut armed = self.armed.lock().unwrap();
        let Some(target) = armed.as_deref() else {
            return false;
        };
        let chunk = chunk.to_ascii_lowercase();
        if find(&chunk, target.as_bytes()).is_some() {
            *armed = None;
            true
        } else {
            false
        }
    }
}

/// DynamoDB's answer to a request over the table's throughput.
const THROTTLED_BODY: &str = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\",\
\"message\":\"The level of configured provisioned throughput for the table was exceeded.\"}";

impl Proxy {
    /// A proxy (up) on a free loopback port, forwarding to `upstream`, a
    /// `http://host:port` endpoint.
    pub async fn start(upstream: &str) -> Proxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("proxy upstream {upstream}: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Up);
        let throttled = Arc::new(AtomicUsize::new(0));
        let losses = Arc::new(Losses::default());
        let fakes = Arc::new(Fakes::default());
        let accept = {
            let mode = mode.clone();
            let throttled = Arc::clone(&throttled);
            let losses = Arc::clone(&losses);
            let fakes = Arc::clone(&fakes);
            tokio::spawn(async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    let rx = mode.subscribe();
                    let throttled = Arc::clone(&throttled);
                    let losses = Arc::clone(&losses);
                    let fakes = Arc::clone(&fakes);
                    tokio::spawn(serve(client, upstream, rx, throttled, losses, fakes));
                }
            })
        };
        Proxy {
            addr,
            mode,
            throttled,
            losses,
            fakes,
            accept,
        }
    }

    /// The endpoint a client uses to go through the proxy.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn up(&self) {
        self.mode.send_replace(Mode::Up);
    }

    pub fn down(&self) {
        self.mode.send_replace(Mode::Down);
    }

    pub fn slow(&self, delay: Duration) {
        self.mode.send_replace(Mode::Slow(delay));
    }

    pub fn throttle(&self) {
        self.mode.send_replace(Mode::Throttle);
    }

    /// Loses the answer to the next request of DynamoDB operation
    /// `operation` (`"TransactWriteItems"`, `"PutItem"`, …): the store
    /// does the request, its answer never arrives.
    pub fn lose_answer_to(&self, operation: &str) {
        let target = format!(
            "x-amz-target: dynamodb_20120810.{}\r\n",
            operation.to_ascii_lowercase()
        );
        *self.losses.armed.lock().unwrap() = Some(target);
    }

    /// How many answers were lost so far.
    pub fn lost_answers(&self) -> usize {
        self.losses.lost.load(Ordering::SeqCst)
    }

    /// Answers the next `times` requests of DynamoDB operation `operation`
    /// with `body` (an error in DynamoDB's JSON shape, status 400) in the
    /// store's stead: they never reach it.
    pub fn fake_answers(&self, operation: &str, body: String, times: usize) {
        let target = format!(
            "x-amz-target: dynamodb_20120810.{}\r\n",
            operation.to_ascii_lowercase()
        );
        *self.fakes.armed.lock().unwrap() = Some((target, body, times));
    }

    /// How many requests were answered with a faked answer so far.
    pub fn faked_answers(&self) -> usize {
        self.fakes.faked.load(Ordering::SeqCst)
    }

    /// How many requests were answered with a throttling error so far.
    pub fn throttled_requests(&self) -> usize {
        self.throttled.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Open connections end when they see the sender gone.
    }
}

/// Ends a connection with a reset rather than an orderly close.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    throttled: Arc<AtomicUsize>,
    losses: Arc<Losses>,
    fakes: Arc<Fakes>,
) {
    let current = *mode.borrow_and_update();
    match current {
        Mode::Down => return reset(client),
        Mode::Throttle => return answer_throttled(client, mode, throttled).await,
        Mode::Up | Mode::Slow(_) => {}
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return reset(client);
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    pump(client, server, mode, losses, fakes).await;
}

/// Forwards both ways until either side closes or the proxy goes down.
async fn pump(
    mut client: TcpStream,
    mut server: TcpStream,
    mut mode: watch::Receiver<Mode>,
    losses: Arc<Losses>,
    fakes: Arc<Fakes>,
) {
    let mut from_client = vec![0u8; 64 * 1024];
    let mut from_server = vec![0u8; 64 * 1024];
    // The request in flight on this connection is one whose answer is lost.
    let mut losing = false;
    // A request being answered by the proxy: the bytes of it still to come
    // from the client (swallowed), and the answer to give once they have.
    let mut faking: Option<(usize, String)> = None;
    loop {
        tokio::select! {
            changed = mode.changed() => {
                let now = *mode.borrow_and_update();
                if changed.is_err() || matches!(now, Mode::Down | Mode::Throttle) {
                    reset(client);
                    reset(server);
                    return;
                }
            }
            read = client.read(&mut from_client) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) if faking.is_some() => {
                    let (left, _) = faking.as_mut().expect("faking");
                    *left = left.saturating_sub(n);
                    if *left == 0 {
                        let (_, body) = faking.take().expect("faking");
                        if answer_faked(&mut client, &body, &fakes).await.is_err() {
                            return;
                        }
                    }
                }
                Ok(n) => {
                    if let Some(body) = fakes.take_if_armed(&from_client[..n]) {
                        let left = request_len(&from_client[..n]).saturating_sub(n);
                        if left == 0 {
                            if answer_faked(&mut client, &body, &fakes).await.is_err() {
                                return;
                            }
                        } else {
                            faking = Some((left, body));
                        }
                        continue;
                    }
                    losing |= losses.take_if_armed(&from_client[..n]);
                    if server.write_all(&from_client[..n]).await.is_err() {
                        return;
                    }
                }
            },
            read = server.read(&mut from_server) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) if losing => {
                    // The server has done the request: its answer goes nowhere.
                    losses.lost.fetch_add(1, Ordering::SeqCst);
                    reset(client);
                    reset(server);
                    return;
                }
                Ok(n) => {
                    let now = *mode.borrow();
                    if let Mode::Slow(delay) = now {
                        // Held back; going down meanwhile still drops it.
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = mode.wait_for(|m| *m == Mode::Down) => {
                                reset(client);
                                reset(server);
                                return;
                            }
                        }
                    }
                    if client.write_all(&from_server[..n]).await.is_err() {
                        return;
                    }
                }
            },
        }
    }
}

/// Reads HTTP/1.1 requests (with `Content-Length` bodies, as the SDK sends
/// them) and answers each with a throttling error, keeping the connection.
async fn answer_throttled(
    mut client: TcpStream,
    mut mode: watch::Receiver<Mode>,
    throttled: Arc<AtomicUsize>,
) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // One whole request in `pending`?
        if let Some(head_end) = find(&pending, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..head_end]).to_ascii_lowercase();
            let body_len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let total = head_end + 4 + body_len;
            if pending.len() >= total {
                pending.drain(..total);
                throttled.fetch_add(1, Ordering::SeqCst);
                let response = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
                     x-amzn-requestid: proxy-throttle\r\ncontent-length: {}\r\n\r\n{}",
                    THROTTLED_BODY.len(),
                    THROTTLED_BODY
                );
                if client.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
        }
        tokio::select! {
            changed = mode.changed() => {
                if changed.is_err() || *mode.borrow_and_update() != Mode::Throttle {
                    return reset(client);
                }
            }
            read = client.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            },
        }
    }
}

/// The length of the HTTP request (head and `Content-Length` body) whose
/// head starts `chunk`. The SDK writes a request's head in one piece.
fn request_len(chunk: &[u8]) -> usize {
    let head_end = find(chunk, b"\r\n\r\n").expect("a request head in one chunk");
    let head = String::from_utf8_lossy(&chunk[..head_end]).to_ascii_lowercase();
    let body_len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    head_end + 4 + body_len
}

/// Answers a request in the store's stead with `body`, DynamoDB-style.
async fn answer_faked(client: &mut TcpStream, body: &str, fakes: &Fakes) -> std::io::Result<()> {
    fakes.faked.fetch_add(1, Ordering::SeqCst);
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amzn-requestid: proxy-fake\r\ncontent-length: {}\r\n\r\n{}",
        body.len(),
        body
    );
    client.write_all(response.as_bytes()).await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
