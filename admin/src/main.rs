//! `accounts-admin`: the operator's tool, on the same store as the service
//! (the embedded store in `--data DIR`, or DynamoDB with `--dynamodb-table`).
//! Exit status 0 on success; otherwise non-zero with one line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use accounts::clock::{Clock, SystemClock};
use accounts::config::StoreConfig;
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
    /// The DynamoDB table.
    Table {
        #[command(subcommand)]
        command: TableCommand,
    },
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
    let client = accounts::app::dynamodb_client().await;
    accounts::store::dynamo::create_table(&client, table)
        .await
        .map_err(|e| e.to_string())?;
    println!("table {table} is ready");
    Ok(())
}

async fn run(args: Args) -> Result<(), String> {
    let now = SystemClock.now();
    if matches!(args.command, Command::Table { .. }) {
        return create_table(args.dynamodb_table.as_deref()).await;
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
        Command::Table { .. } => return create_table(args.dynamodb_table.as_deref()).await,
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
