//! The smallest `lambda_http` function that must call DynamoDB once per
//! request, built with the functions' profile: its client is built at init
//! as AWS advises, each request is one consistent `GetItem` of the item
//! named by `FLOOR_PK` / `FLOOR_SK` in `TABLE_NAME`. The floor a function
//! that reads the store once is compared with (scripts/bench-cold-start.py).

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Request, Response, run, service_fn};

struct Floor {
    client: aws_sdk_dynamodb::Client,
    table: String,
    pk: String,
    sk: String,
}

async fn get_item(floor: &Floor, _req: Request) -> Result<Response<Body>, Error> {
    let item = floor
        .client
        .get_item()
        .table_name(&floor.table)
        .key("pk", AttributeValue::S(floor.pk.clone()))
        .key("sk", AttributeValue::S(floor.sk.clone()))
        .consistent_read(true)
        .send()
        .await?
        .item;
    let found = if item.is_some() { "found" } else { "missing" };
    Ok(Response::new(Body::Text(found.into())))
}

/// The SDK's default HTTPS client (rustls on aws-lc-rs), trusting only the
/// bundled roots. The SDK takes extra roots as PEM only.
fn bundled_roots_client() -> Result<SharedHttpClient, Error> {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
    use base64::Engine;
    let mut roots = TrustStore::empty().with_native_roots(false);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let encoded = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in encoded.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line)?);
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        roots.add_pem_certificate(pem);
    }
    let context = TlsContext::builder().with_trust_store(roots).build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let mut aws = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if std::env::var("FLOOR_TRUST").as_deref() == Ok("webpki") {
        aws = aws.http_client(bundled_roots_client()?);
    }
    let aws = aws.load().await;
    let floor = Floor {
        client: aws_sdk_dynamodb::Client::new(&aws),
        table: env("TABLE_NAME")?,
        pk: env("FLOOR_PK")?,
        sk: env("FLOOR_SK")?,
    };
    let floor = &floor;
    run(service_fn(move |req| get_item(floor, req))).await
}
