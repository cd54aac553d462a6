//! accounts-local as a child process, and plain HTTP/1.1 exchanges with it;
//! `browser`: headless Chromium pages against it.

// Each test crate uses its own part of this module.
#![allow(dead_code)]

pub mod browser;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the built accounts-local with `args` on a free loopback port, and
/// waits until it listens.
pub fn start(args: &[&str]) -> Server {
    start_at(&format!("127.0.0.1:{}", free_port()), args)
}

/// Its address is its issuer (`http://ADDR`), so a restart that keeps
/// tokens valid keeps the address.
pub fn start_at(addr: &str, args: &[&str]) -> Server {
    start_at_with_env(addr, args, &[])
}

/// [`start`] with these environment variables set (after clearing the
/// service's own).
pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
    start_at_with_env(&format!("127.0.0.1:{}", free_port()), args, env)
}

fn start_at_with_env(addr: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    let addr = addr.to_owned();
    let child = Command::new(env!("CARGO_BIN_EXE_accounts-local"))
        .args(["--addr", &addr])
        .args(args)
        .env_remove("JWT_KEYS_FILE")
        .env_remove("JWT_PRIVATE_KEYS_SECRET")
        .env_remove("JWT_PUBLIC_KEYS_SECRET")
        .env_remove("JWT_ISSUER")
        .env_remove("TABLE_NAME")
        .env_remove("ACCOUNTS_DATA")
        .env_remove("CORS_ALLOWED_ORIGINS")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("accounts-local starts");
    // Dropped (killed and reaped) on every path from here.
    let mut server = Server { child, addr };
    // It says where it listens once it does.
    let mut stderr = BufReader::new(server.child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("accounts-local exited before listening");
        }
        if line.contains("listening on") {
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return server;
        }
    }
    panic!("accounts-local did not listen within 30 s");
}

/// An answer: status, headers (names in lowercase) and the JSON body
/// (`Null` when there is none).
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The names of the headers that start with `prefix`.
    pub fn header_names(&self, prefix: &str) -> Vec<&str> {
        self.headers
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| n.starts_with(prefix))
            .collect()
    }
}

/// One HTTP/1.1 request with `headers` (and a JSON body when given).
pub fn exchange(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
        server.addr
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str("content-type: application/json\r\n");
    }
    write!(stream, "{head}content-length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}
