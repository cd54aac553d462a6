//! `accounts-local`: the whole API on one port, on the embedded store by
//! default (`--data DIR`), in memory (`--memory`), or on DynamoDB
//! (`--dynamodb-table NAME`, endpoint from the AWS configuration).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use accounts::App;
use accounts::auth::key_ring::{KeyRing, KeyUse};
use accounts::clock::SystemClock;
use accounts::config::StoreConfig;
use accounts_local::cors::{AllowedOrigins, Cors, DEFAULT_ALLOWED_ORIGINS};
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "accounts-local",
    version,
    about = "The user account API in one process"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "ACCOUNTS_ADDR", default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Directory of the embedded store, of the generated key file, and of
    /// `outbox/`, where mail is written as `.eml` files.
    #[arg(long, env = "ACCOUNTS_DATA", default_value = "./.accounts-data")]
    data: PathBuf,
    /// Keep nothing: an in-memory store and a throwaway key set.
    #[arg(long, conflicts_with = "dynamodb_table")]
    memory: bool,
    /// Serve from this DynamoDB table instead (set AWS_ENDPOINT_URL_DYNAMODB
    /// for a local DynamoDB-compatible server).
    #[arg(long, env = "TABLE_NAME")]
    dynamodb_table: Option<String>,
    /// Origins whose pages may call the API from a browser, comma-separated
    /// `scheme://host[:port]` (template.yaml's `CorsAllowedOrigins`); empty:
    /// no CORS.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", default_value = DEFAULT_ALLOWED_ORIGINS)]
    cors_allowed_origins: AllowedOrigins,
}

fn fail(message: String) -> ! {
    tracing::error!(error = %message, "accounts-local cannot start");
    eprintln!("accounts-local: {message}");
    std::process::exit(1);
}

#[tokio::main]
async fn main() {
    accounts::telemetry::init();
    let args = Args::parse();
    // Mail is written where the embedded store keeps its data; with
    // --memory or DynamoDB (no data directory in use) into a directory of
    // this process under the system's temporary directory.
    let outbox_dir = if args.memory || args.dynamodb_table.is_some() {
        std::env::temp_dir().join(format!("accounts-local-{}-outbox", std::process::id()))
    } else {
        args.data.join("outbox")
    };
    let store_config = match (args.memory, args.dynamodb_table) {
        (true, _) => StoreConfig::Memory,
        (false, Some(table)) => StoreConfig::Dynamo { table },
        (false, None) => StoreConfig::Embedded { dir: args.data },
    };
    let mut config =
        accounts_local::local_config(store_config, args.addr).unwrap_or_else(|e| fail(e));
    // A provider's client secret named in Secrets Manager, as on AWS.
    accounts::auth::providers::resolve_client_secrets(&mut config.providers)
        .await
        .unwrap_or_else(|e| fail(e));
    let store = accounts::app::open_store(&config.store)
        .await
        .unwrap_or_else(|e| fail(e.to_string()));
    let described = format!("{:?}", config.store);
    let refresh = Duration::from_secs(config.tokens.key_refresh_seconds);
    let keys = KeyRing::open(
        &config.tokens.keys,
        config.tokens.algorithm,
        KeyUse::BOTH,
        refresh,
    )
    .await
    .unwrap_or_else(|e| fail(format!("signing keys: {e}")));
    let mut app = App::with_keys(config, store, Arc::new(SystemClock), keys)
        .unwrap_or_else(|e| fail(e.to_string()));
    app.load_mfa_key()
        .await
        .unwrap_or_else(|e| fail(e.to_string()));
    accounts_local::outbox::spawn_mailer(&app, outbox_dir.clone())
        .unwrap_or_else(|e| fail(format!("mail templates: {e}")));
    let origins = args.cors_allowed_origins;
    let cors_origins = if origins.is_empty() {
        "none (CORS off)".to_owned()
    } else {
        origins.to_string()
    };
    let addr = accounts_local::spawn(args.addr, Arc::new(app), Cors::new(origins))
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {}: {e}", args.addr)));
    tracing::info!(%addr, store = %described, %cors_origins, outbox = %outbox_dir.display(), "accounts-local listening");
    eprintln!(
        "accounts-local listening on http://{addr} ({described}); browser origins allowed: {cors_origins}; mail written to {}",
        outbox_dir.display()
    );
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("accounts-local stopping");
}
