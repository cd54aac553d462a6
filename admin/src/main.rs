//! `accounts-admin`: the operator's tool, on the same store as the service
//! (the embedded store in `--data DIR`, or DynamoDB with `--dynamodb-table`).
//! Exit status 0 on success; otherwise non-zero with one line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use accounts::auth::key_ring::{KEYS_FILE, SecretsManagerKeys, read_key_file, write_key_file};
use accounts::auth::keys::{KeySet, SigningAlgorithm};
use accounts::clock::{Clock, SystemClock};
use accounts::config::StoreConfig;
use accounts::model::mail::MailKind;
use accounts::model::{Plan, UserStatus};
use accounts::service::{operator, plans, quota};
use accounts::store::Store;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "accounts-admin",
    version,
    about = "Operate the user account service's data"
)]
struct Args {
    /// Directory of the embedded store (the one accounts-local uses).
    #[arg(
        long,
        env = "ACCOUNTS_DATA",
        default_value = "./.accounts-data",
        global = true
    )]
    data: PathBuf,
    /// Work on this DynamoDB table instead (endpoint and credentials from the
    /// standard AWS configuration, e.g. AWS_ENDPOINT_URL_DYNAMODB).
    #[arg(long, env = "TABLE_NAME", global = true)]
    dynamodb_table: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plans and their capability limits.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// An organization's subscription.
    Subscription {
        #[command(subcommand)]
        command: SubscriptionCommand,
    },
    /// Usage counters.
    Usage {
        #[command(subcommand)]
        command: UsageCommand,
    },
    /// Accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Mail: the outbox, waiting and sent (tokens never shown).
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// The DynamoDB table.
    Table {
        #[command(subcommand)]
        command: TableCommand,
    },
    /// The keys that sign access tokens: the key file in the data directory,
    /// or the Secrets Manager secrets of a deployment.
    Key {
        /// Secrets Manager secret holding the private key set (created if missing).
        #[arg(long, env = "JWT_PRIVATE_KEYS_SECRET", requires = "public_secret")]
        private_secret: Option<String>,
        /// Secrets Manager secret holding the public key set (created if missing).
        #[arg(long, env = "JWT_PUBLIC_KEYS_SECRET", requires = "private_secret")]
        public_secret: Option<String>,
        /// A key file elsewhere than the data directory.
        #[arg(long, env = "JWT_KEYS_FILE", conflicts_with = "private_secret")]
        keys_file: Option<PathBuf>,
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make a new signing key; the old one is retired but stays published
    /// (its tokens stay valid) until `key prune`.
    Rotate {
        /// RS256 (what API Gateway's JWT authorizer accepts) or ES256.
        #[arg(long, env = "JWT_ALGORITHM", default_value = "RS256")]
        algorithm: String,
    },
    /// Remove retired keys whose every token has expired.
    Prune {
        /// The access-token lifetime the deployment uses.
        #[arg(long, env = "ACCESS_TOKEN_TTL_SECONDS", default_value_t = 3600)]
        access_token_ttl: i64,
    },
    /// Print the public key set (what /.well-known/jwks.json serves).
    Public,
}

#[derive(Subcommand)]
enum PlanCommand {
    /// Print every plan as a JSON array, each in the shape `plan put` takes.
    List,
    /// Create or replace a plan from a JSON file.
    Put {
        #[arg(long)]
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum SubscriptionCommand {
    /// Put an organization on a plan from now, until a time (RFC 3339) or open-ended.
    Set {
        #[arg(long)]
        org: String,
        #[arg(long)]
        plan: String,
        #[arg(long)]
        until: Option<String>,
    },
    /// Cancel an organization's subscription.
    Cancel {
        #[arg(long)]
        org: String,
    },
}

#[derive(Subcommand)]
enum UsageCommand {
    /// Add to (or, negative, take from) a capability's counter in its current period.
    Add {
        #[arg(long)]
        org: String,
        #[arg(long)]
        capability: String,
        #[arg(long, allow_negative_numbers = true)]
        amount: i64,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Refuse the account's sign-ins, refreshes and access tokens.
    Deactivate {
        #[arg(long)]
        email: String,
    },
    /// Let the account in again.
    Activate {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Every mail kept, oldest first, as a JSON array: id, kind, to,
    /// createdAt, sentAt and status (pending or sent).
    List,
}

/// An outbox record as the operator sees it: no token.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ListedMail<'a> {
    id: &'a str,
    kind: MailKind,
    to: &'a str,
    created_at: i64,
    sent_at: Option<i64>,
    status: &'static str,
}

#[derive(Subcommand)]
enum TableCommand {
    /// Create the table, its keys, index and TTL (for a local DynamoDB-compatible server).
    Create,
}

fn parse_time(text: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("--until {text:?} is not an RFC 3339 time: {e}"))
}

async fn open(args: &Args) -> Result<Arc<dyn Store>, String> {
    let config = match &args.dynamodb_table {
        Some(table) => StoreConfig::Dynamo {
            table: table.clone(),
        },
        None => StoreConfig::Embedded {
            dir: args.data.clone(),
        },
    };
    accounts::app::open_store(&config)
        .await
        .map_err(|e| e.to_string())
}

async fn create_table(table: Option<&str>) -> Result<(), String> {
    let table =
        table.ok_or("table create works on DynamoDB only: give --dynamodb-table or TABLE_NAME")?;
    let client = accounts::aws::dynamodb_client().await;
    accounts::store::dynamo::create_table(&client, table)
        .await
        .map_err(|e| e.to_string())?;
    println!("table {table} is ready");
    Ok(())
}

/// Where a deployment's key sets are kept.
enum KeyLocation {
    File(PathBuf),
    Secrets {
        keys: SecretsManagerKeys,
        private: String,
        public: String,
    },
}

impl KeyLocation {
    async fn read(&self) -> Result<KeySet, String> {
        match self {
            KeyLocation::File(path) if !path.exists() => Ok(KeySet::default()),
            KeyLocation::File(path) => read_key_file(path).map_err(|e| e.to_string()),
            KeyLocation::Secrets { keys, private, .. } => Ok(keys
                .read(private)
                .await
                .map_err(|e| e.to_string())?
                .unwrap_or_default()),
        }
    }

    /// The private set, then its public half: a verifier that sees a new
    /// `kid` re-reads the public set, which by then holds it.
    async fn write(&self, set: &KeySet) -> Result<(), String> {
        match self {
            KeyLocation::File(path) => write_key_file(path, set)
                .map_err(|e| format!("cannot write {}: {e}", path.display())),
            KeyLocation::Secrets {
                keys,
                private,
                public,
            } => {
                keys.write(private, set).await.map_err(|e| e.to_string())?;
                keys.write(public, &set.public())
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }
}

async fn run_key(location: KeyLocation, command: KeyCommand, now: i64) -> Result<(), String> {
    let mut set = location.read().await?;
    match command {
        KeyCommand::Rotate { algorithm } => {
            let algorithm = SigningAlgorithm::parse(&algorithm)
                .ok_or_else(|| format!("--algorithm {algorithm:?}: expected RS256 or ES256"))?;
            let kid = set.rotate(algorithm, now).map_err(|e| e.to_string())?;
            location.write(&set).await?;
            println!("new signing key {kid}; {} key(s) published", set.keys.len());
        }
        KeyCommand::Prune { access_token_ttl } => {
            // A token lives its TTL plus the verifiers' clock leeway.
            let pruned = set.prune(now, access_token_ttl + 60);
            if !pruned.is_empty() {
                location.write(&set).await?;
            }
            println!(
                "pruned {} key(s){}{}; {} key(s) published",
                pruned.len(),
                if pruned.is_empty() { "" } else { ": " },
                pruned.join(", "),
                set.keys.len()
            );
        }
        KeyCommand::Public => println!("{}", set.public().to_json()),
    }
    Ok(())
}

async fn run(args: Args) -> Result<(), String> {
    let now = SystemClock.now();
    if matches!(args.command, Command::Table { .. }) {
        return create_table(args.dynamodb_table.as_deref()).await;
    }
    if let Command::Key {
        private_secret,
        public_secret,
        keys_file,
        command,
    } = args.command
    {
        let location = match (private_secret, public_secret, keys_file) {
            (Some(private), Some(public), _) => KeyLocation::Secrets {
                keys: SecretsManagerKeys::from_env().await,
                private,
                public,
            },
            (_, _, Some(file)) => KeyLocation::File(file),
            _ => KeyLocation::File(args.data.join(KEYS_FILE)),
        };
        return run_key(location, command, now).await;
    }
    let store = open(&args).await?;
    let store = store.as_ref();
    let message = |e: accounts::Error| e.to_string();
    match args.command {
        Command::Plan {
            command: PlanCommand::List,
        } => {
            let plans = plans::all(store).await.map_err(message)?;
            let text = serde_json::to_string_pretty(&plans).map_err(|e| e.to_string())?;
            println!("{text}");
        }
        Command::Plan {
            command: PlanCommand::Put { file },
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let plan: Plan = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a plan: {e}", file.display()))?;
            operator::put_plan(store, &plan).await.map_err(message)?;
            println!("plan {} saved", plan.id);
        }
        Command::Subscription {
            command: SubscriptionCommand::Set { org, plan, until },
        } => {
            let until = until.as_deref().map(parse_time).transpose()?;
            operator::set_subscription(store, &org, &plan, until, now)
                .await
                .map_err(message)?;
            println!("organization {org} is on plan {plan}");
        }
        Command::Subscription {
            command: SubscriptionCommand::Cancel { org },
        } => {
            operator::cancel_subscription(store, &org)
                .await
                .map_err(message)?;
            println!("subscription of organization {org} cancelled");
        }
        Command::Usage {
            command:
                UsageCommand::Add {
                    org,
                    capability,
                    amount,
                },
        } => {
            let total = quota::record_usage(store, &org, &capability, amount, now)
                .await
                .map_err(message)?;
            println!("{capability} of organization {org}: {total}");
        }
        Command::User { command } => {
            let (email, status) = match command {
                UserCommand::Deactivate { email } => (email, UserStatus::Inactive),
                UserCommand::Activate { email } => (email, UserStatus::Active),
            };
            operator::set_user_status(store, &email, status, now)
                .await
                .map_err(message)?;
            println!(
                "{email} is {}",
                if status == UserStatus::Active {
                    "active"
                } else {
                    "inactive"
                }
            );
        }
        Command::Outbox {
            command: OutboxCommand::List,
        } => {
            let mails = store.outbox().await.map_err(|e| e.to_string())?;
            let listed: Vec<ListedMail> = mails
                .iter()
                .map(|m| ListedMail {
                    id: &m.id,
                    kind: m.kind,
                    to: &m.to,
                    created_at: m.created_at,
                    sent_at: m.sent_at,
                    status: if m.sent_at.is_some() {
                        "sent"
                    } else {
                        "pending"
                    },
                })
                .collect();
            let text = serde_json::to_string_pretty(&listed).map_err(|e| e.to_string())?;
            println!("{text}");
        }
        Command::Table { .. } | Command::Key { .. } => unreachable!("handled above"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("accounts-admin: {reason}");
            ExitCode::FAILURE
        }
    }
}
