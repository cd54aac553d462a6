//! Outbound HTTPS to identity providers, through the rustls/aws-lc-rs
//! connector the AWS SDK already links (no second TLS or crypto stack).
//! Every request has one deadline for connecting, sending and reading the
//! whole body, so a slow provider becomes an error, never a hang.

use std::sync::OnceLock;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Discovery documents and key sets are a few KiB; nothing honest is bigger.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// Refused, reset, timed out or a 5xx: worth retrying later.
    #[error("{0}")]
    Unreachable(String),
    /// A 4xx or a body that is not what was asked for.
    #[error("{0}")]
    Refused(String),
}

type HttpsClient<B> = Client<HttpsConnector<HttpConnector>, B>;

/// The client, built on first use: reading the system's root certificates
/// costs a few milliseconds that functions which never call out should not pay.
pub struct Outbound {
    timeout: Duration,
    client: OnceLock<Result<HttpsClient<Full<Bytes>>, String>>,
}

impl Outbound {
    pub fn new(timeout: Duration) -> Outbound {
        Outbound {
            timeout,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&HttpsClient<Full<Bytes>>, OutboundError> {
        let timeout = self.timeout;
        self.client
            .get_or_init(|| {
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                http.set_connect_timeout(Some(timeout));
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_native_roots()
                    .map_err(|e| format!("no root certificates: {e}"))?
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(http);
                Ok(Client::builder(TokioExecutor::new()).build(https))
            })
            .as_ref()
            .map_err(|e| OutboundError::Unreachable(e.clone()))
    }

    /// GET `url`, JSON in answer.
    pub async fn get_json(&self, url: &str) -> Result<serde_json::Value, OutboundError> {
        self.send(url, Method::GET, None, Bytes::new(), None).await
    }

    /// GET `url` with `Authorization: Bearer <token>`, JSON in answer.
    pub async fn get_json_bearer(
        &self,
        url: &str,
        token: &str,
    ) -> Result<serde_json::Value, OutboundError> {
        self.send(url, Method::GET, Some(token), Bytes::new(), None)
            .await
    }

    /// POST `fields` form-encoded to `url` (an OAuth token endpoint), JSON
    /// in answer.
    pub async fn post_form(
        &self,
        url: &str,
        fields: &[(&str, &str)],
    ) -> Result<serde_json::Value, OutboundError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let form = "application/x-www-form-urlencoded";
        self.send(url, Method::POST, None, Bytes::from(body), Some(form))
            .await
    }

    async fn send(
        &self,
        url: &str,
        method: Method,
        bearer: Option<&str>,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<serde_json::Value, OutboundError> {
        let client = self.client()?;
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header("accept", "application/json")
            .header("user-agent", "accounts");
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| OutboundError::Refused(format!("bad request to {url}: {e}")))?;
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| OutboundError::Unreachable(format!("{url}: {e}")))?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| OutboundError::Unreachable(format!("{url}: reading the body: {e}")))?
                .to_bytes();
            Ok::<_, OutboundError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                OutboundError::Unreachable(format!("{url}: no answer in {:?}", self.timeout))
            })??;
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(OutboundError::Unreachable(format!("{url}: {status}")));
        }
        if !status.is_success() {
            return Err(OutboundError::Refused(format!("{url}: {status}")));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| OutboundError::Refused(format!("{url}: not JSON: {e}")))
    }
}
