//! `accounts-local`: every route in one process, served over HTTP/1.1 like
//! API Gateway would, through the very handlers the Lambda functions use,
//! answering CORS as API Gateway does for template.yaml ([`cors`]).

pub mod cors;
pub mod outbox;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use accounts::App;
use accounts::auth::key_ring::{KEYS_FILE, KeySource, ensure_key_file};
use accounts::auth::keys::KeySet;
use accounts::auth::mfa_key::{MFA_KEY_FILE, MfaKey, ensure_key_file as ensure_mfa_key_file};
use accounts::config::{Config, MfaKeySource, Settings, StoreConfig};
use accounts::error::Error;
use accounts::http::{response, serve_any};
use cors::Cors;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use tokio::net::TcpListener;

/// The configuration for `store`, from the environment. Where no keys are
/// configured, the embedded store's data directory keeps a key file and
/// the other stores get a throwaway key set; where no issuer is, the
/// server's own URL is the issuer.
pub fn local_config(store: StoreConfig, addr: SocketAddr) -> Result<Config, String> {
    let mut env: HashMap<String, String> =
        std::env::vars().filter(|(_, v)| !v.is_empty()).collect();
    env.entry("JWT_ISSUER".into())
        .or_insert_with(|| format!("http://{addr}"));
    let keys_configured = [
        "JWT_KEYS_FILE",
        "JWT_PRIVATE_KEYS_SECRET",
        "JWT_PUBLIC_KEYS_SECRET",
    ]
    .iter()
    .any(|name| env.contains_key(*name));
    let mut config =
        Config::load_with_store(&Settings::from_map(&env), store).map_err(|e| e.to_string())?;
    if !keys_configured {
        let algorithm = config.tokens.algorithm;
        let now = accounts::clock::Clock::now(&accounts::clock::SystemClock);
        config.tokens.keys = match &config.store {
            StoreConfig::Embedded { dir } => {
                let path = dir.join(KEYS_FILE);
                ensure_key_file(&path, algorithm, now).map_err(|e| e.to_string())?;
                KeySource::File(path)
            }
            _ => {
                let mut set = KeySet::default();
                set.rotate(algorithm, now).map_err(|e| e.to_string())?;
                KeySource::Fixed(set)
            }
        };
    }
    if config.mfa_key == MfaKeySource::None {
        // Like the signing key: one the data directory keeps (TOTP secrets
        // sealed under it must open after a restart), else a throwaway one.
        config.mfa_key = match &config.store {
            StoreConfig::Embedded { dir } => {
                let path = dir.join(MFA_KEY_FILE);
                ensure_mfa_key_file(&path)?;
                MfaKeySource::File(path)
            }
            _ => MfaKeySource::Inline(MfaKey::generate_base64().map_err(|e| e.to_string())?),
        };
    }
    Ok(config)
}

async fn handle(
    app: Arc<App>,
    cors: Arc<Cors>,
    peer: SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    // API Gateway answers a preflight itself: no handler sees it.
    if cors.is_preflight(&parts.method, &parts.headers) {
        let mut response = hyper::Response::new(Full::new(Bytes::new()));
        *response.status_mut() = hyper::StatusCode::NO_CONTENT;
        *response.headers_mut() = cors.preflight_headers(&parts.headers);
        return Ok(response);
    }
    let origin = parts.headers.get(hyper::header::ORIGIN).cloned();
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
            let request = lambda_http::Request::from_parts(parts, body)
                .with_request_context(gateway_context(peer));
            serve_any(&app, request).await
        }
        Err(_) => response::failure(&Error::PayloadTooLarge),
    };
    let (mut parts, body) = response.into_parts();
    cors.add_response_headers(origin.as_ref(), &mut parts.headers);
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    Ok(hyper::Response::from_parts(parts, Full::new(bytes)))
}

/// What API Gateway tells a function about the connection: here, the
/// peer's address as `requestContext.http.sourceIp`.
fn gateway_context(peer: SocketAddr) -> RequestContext {
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.source_ip = Some(peer.ip().to_string());
    RequestContext::ApiGatewayV2(context)
}

/// Serves until the listener fails; each connection on its own task.
pub async fn serve(listener: TcpListener, app: Arc<App>, cors: Arc<Cors>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let app = Arc::clone(&app);
        let cors = Arc::clone(&cors);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                handle(Arc::clone(&app), Arc::clone(&cors), peer, req)
            });
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
pub async fn spawn(addr: SocketAddr, app: Arc<App>, cors: Cors) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(serve(listener, app, Arc::new(cors)));
    Ok(bound)
}
