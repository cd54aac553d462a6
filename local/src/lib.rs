//! `accounts-local`: every route in one process, served over HTTP/1.1 like
//! API Gateway would, through the very handlers the Lambda functions use.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use accounts::App;
use accounts::config::{Config, Settings, StoreConfig};
use accounts::error::Error;
use accounts::http::{response, serve_any};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use tokio::net::TcpListener;

pub const SIGNING_KEY_FILE: &str = "signing-key";

/// The signing key kept in the data directory, made on first start, so that
/// tokens survive a restart. Readable by its owner only.
pub fn persistent_signing_key(dir: &Path) -> std::io::Result<String> {
    let path = dir.join(SIGNING_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(key) if key.trim().len() >= accounts::config::MIN_SIGNING_KEY_BYTES => {
            return Ok(key.trim().to_owned());
        }
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "{} is too short; delete it to make a new one",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(dir)?;
    let key = random_key()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(key.as_bytes())?;
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().to_owned())
        }
        Err(e) => Err(e),
    }
}

pub fn random_key() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| std::io::Error::other("random source failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The configuration for `store`, from the environment, with a signing key
/// made (and, for a data directory, kept) when none is configured.
pub fn local_config(store: StoreConfig) -> Result<Config, String> {
    let mut env: HashMap<String, String> =
        std::env::vars().filter(|(_, v)| !v.is_empty()).collect();
    if !env.contains_key("JWT_SIGNING_KEY") {
        let key = match &store {
            StoreConfig::Embedded { dir } => persistent_signing_key(dir),
            _ => random_key(),
        }
        .map_err(|e| format!("signing key: {e}"))?;
        env.insert("JWT_SIGNING_KEY".into(), key);
    }
    Config::load_with_store(&Settings::from_map(&env), store).map_err(|e| e.to_string())
}

async fn handle(
    app: Arc<App>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    // Read one byte past the limit, so that an oversized body is told from
    // one exactly at the limit without buffering all of it.
    let limit = app.config.max_body_bytes + 1;
    let response = match Limited::new(body, limit).collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let body = if bytes.is_empty() {
                Body::Empty
            } else {
                Body::Binary(bytes.to_vec())
            };
            let request = lambda_http::Request::from_parts(parts, body);
            serve_any(&app, request).await
        }
        Err(_) => response::failure(&Error::PayloadTooLarge),
    };
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    Ok(hyper::Response::from_parts(parts, Full::new(bytes)))
}

/// Serves until the listener fails; each connection on its own task.
pub async fn serve(listener: TcpListener, app: Arc<App>) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(Arc::clone(&app), req));
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

/// Binds `addr` and serves in the background; returns the bound address.
pub async fn spawn(addr: SocketAddr, app: Arc<App>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(serve(listener, app));
    Ok(bound)
}
