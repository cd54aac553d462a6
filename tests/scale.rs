//! The per-key write rates of SCALE.md, computed rather than guessed.
//!
//! 1. Every step of the workload is done once through the HTTP entry point
//!    against DynamoDB (moto), with an SDK interceptor that records each item
//!    the store writes: its table partition (`pk`), its item (`pk`, `sk`) and
//!    the `gsi1` partition the write lands in. The keys are the store's own,
//!    made by its key builders; the test turns the ids in them into
//!    placeholders (`{user}`, `{org}`, `{email}`, another `{member}` of the
//!    organization, `{new}` for a key of its own).
//! 2. A synthetic peak of the workload model (the table `MODEL`: requests
//!    per active user per day, times `PEAK` over the daily mean) is replayed
//!    through those templates for 10k, 100k and 1M active users, each request
//!    by a user drawn at random, organizations sized as `org_of` says, and
//!    every concrete key's writes counted, as write units (a transaction's
//!    items count twice, as DynamoDB bills them).
//! 3. A flood of password-reset requests at API Gateway's default account
//!    limit (10,000 requests/s), every one for an address of its own.
//!
//! Printed with `--nocapture` (SCALE.md holds a copy). Asserted: no key above
//! DynamoDB's 1,000 write units per second per partition at 1M active users,
//! nor in the flood, which the outbox index's single partition (`OUTBOX`)
//! failed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use accounts::service::quota;
use accounts::store::dynamo::{DynamoStore, MAIL_INDEX_SHARDS, create_table, mail_index_partition};
use accounts_tests::requests::RequestLog;
use accounts_tests::*;
use serde_json::{Value, json};

/// DynamoDB's limit per partition (and so per partition key value), in
/// write units per second; the same for an index's partitions.
const PARTITION_WRITE_UNITS: f64 = 1_000.0;
/// The peak hour over the daily mean.
const PEAK: f64 = 3.0;
/// API Gateway's default account limit, requests per second: the most a
/// flood can put through.
const FLOOD_PER_SECOND: f64 = 10_000.0;
/// Simulated seconds of peak traffic per population.
const WINDOW_SECONDS: f64 = 20.0;

/// Requests per active user per day, by step (the model SCALE.md states).
const MODEL: &[(&str, f64)] = &[
    ("register", 0.01),
    ("verify-email", 0.01),
    ("login", 1.0),
    ("refresh", 8.0),
    ("profile", 20.0),
    ("quota", 2.0),
    ("list-members", 0.2),
    ("get-user", 0.5),
    ("update-user", 0.02),
    ("update-role", 0.001),
    ("create-member", 0.005),
    ("list-sessions", 0.1),
    ("revoke-session", 0.02),
    ("revoke-all", 0.005),
    ("logout", 0.3),
    ("deactivate", 0.0005),
    ("resend-verification", 0.002),
    ("reset-request", 0.005),
    ("reset-request-unknown", 0.002),
    ("reset-password", 0.004),
    // Other services metering storage and egress (quota::record_usage).
    ("record-usage", 10.0),
];

/// One write: where it lands and what it costs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Target {
    /// A table partition (`pk`) and the item in it (`sk`).
    Item(String, String),
    /// A `gsi1` partition.
    Index(String),
}

#[derive(Debug, Clone)]
struct Write {
    target: Target,
    units: u32,
}

/// The writes of the requests logged, each item with the index partition
/// it lands in.
#[derive(Debug, Clone, Default)]
struct Recorder {
    log: RequestLog,
    /// The index partition of every item put so far, by its table key: a
    /// later delete (or an update of what the index projects) writes there.
    indexed: Arc<Mutex<HashMap<(String, String), String>>>,
}

fn string(value: &Value, attribute: &str) -> Option<String> {
    value[attribute]["S"].as_str().map(str::to_owned)
}

fn item_key(value: &Value) -> (String, String) {
    let pk = string(value, "pk").unwrap_or_else(|| panic!("no pk in {value}"));
    (pk, string(value, "sk").unwrap_or_default())
}

impl Recorder {
    fn take(&self) -> Vec<Write> {
        let mut writes = Vec::new();
        for (operation, body) in self.log.take() {
            match operation.as_str() {
                "PutItem" => self.record("Put", &body, 1, &mut writes),
                "UpdateItem" => self.record("Update", &body, 1, &mut writes),
                "DeleteItem" => self.record("Delete", &body, 1, &mut writes),
                "TransactWriteItems" => {
                    for item in body["TransactItems"].as_array().into_iter().flatten() {
                        if let Some((kind, write)) = item.as_object().and_then(|o| o.iter().next())
                        {
                            self.record(kind, write, 2, &mut writes);
                        }
                    }
                }
                "BatchWriteItem" => panic!("the store made a BatchWriteItem: count it here"),
                _ => {} // reads
            }
        }
        writes
    }

    fn record(&self, kind: &str, write: &Value, units: u32, writes: &mut Vec<Write>) {
        let mut indexed = self.indexed.lock().unwrap();
        let key = match kind {
            "Put" => item_key(&write["Item"]),
            "Update" | "Delete" => item_key(&write["Key"]),
            _ => return, // a ConditionCheck reads
        };
        let index = match kind {
            "Put" => string(&write["Item"], "gsi1pk").inspect(|partition| {
                indexed.insert(key.clone(), partition.clone());
            }),
            // An update writes the index only if it changes what it holds.
            "Update" => {
                let names = write["ExpressionAttributeNames"].to_string();
                let projected = ["gsi1pk", "gsi1sk"]
                    .iter()
                    .chain(accounts::store::dynamo::GSI1_PROJECTED)
                    .any(|a| names.contains(&format!("\"{a}\"")));
                indexed.get(&key).filter(|_| projected).cloned()
            }
            _ => indexed.get(&key).cloned(),
        };
        // An index write is a plain one even inside a transaction.
        if let Some(partition) = index {
            writes.push(Write {
                target: Target::Index(partition),
                units: 1,
            });
        }
        writes.push(Write {
            target: Target::Item(key.0, key.1),
            units,
        });
    }
}

/// The ids of one scenario's actor and its organization, to turn keys
/// into templates.
struct Actor {
    user: String,
    email: String,
    org: String,
    /// Other members' ids and emails.
    members: Vec<(String, String)>,
}

/// `USER#<the actor's id>` → `USER#{user}`, and so on; a mail record's
/// index partition → `{mail:<kind>}` (the simulation asks the store's own
/// function for a fresh record's); any other id → `{new}`.
fn template(target: &Target, actor: &Actor) -> Target {
    let part = |segment: &str| -> String {
        if segment == actor.user {
            "{user}".into()
        } else if segment == actor.email {
            "{email}".into()
        } else if segment == actor.org {
            "{org}".into()
        } else if actor.members.iter().any(|(id, _)| id == segment) {
            "{member}".into()
        } else if actor.members.iter().any(|(_, email)| email == segment) {
            "{member-email}".into()
        } else if segment.len() >= 16 {
            "{new}".into()
        } else {
            segment.into()
        }
    };
    let key = |value: &str| -> String {
        let mut segments = value.splitn(2, '#');
        let kind = segments.next().unwrap_or_default();
        match segments.next() {
            Some(rest) if kind == "USAGE" => format!("USAGE#{rest}"),
            Some(rest) => format!("{kind}#{}", part(rest)),
            None => kind.to_owned(),
        }
    };
    match target {
        Target::Item(pk, sk) => Target::Item(key(pk), key(sk)),
        Target::Index(partition) => {
            let kind = partition.split('#').next().unwrap_or_default();
            let mail_kind = ["OUTBOX", "MAILPAD"].into_iter().find(|k| *k == kind);
            match mail_kind {
                Some(kind) if partition.starts_with(&format!("{kind}#")) => {
                    Target::Index(format!("{{mail:{kind}}}"))
                }
                _ => Target::Index(key(partition)),
            }
        }
    }
}

/// What each step of the model writes, as templates.
async fn record_steps() -> BTreeMap<&'static str, Vec<(Target, u32)>> {
    let recorder = Recorder::default();
    let client = dynamodb_client(&dynamodb_endpoint());
    let table = format!("accounts-scale-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.unwrap();
    let config = client
        .config()
        .to_builder()
        .interceptor(recorder.log.clone())
        .build();
    let recording = aws_sdk_dynamodb::Client::from_conf(config);
    let t = TestApp::on_store(
        Arc::new(DynamoStore::new(recording, table)),
        Backend::Dynamo,
    );
    let mailer = t.mailer();
    let mut steps = BTreeMap::new();
    let mut done = |step: &'static str, actor: &Actor| {
        let writes = recorder.take();
        assert!(
            !writes.is_empty()
                || step.starts_with("list")
                || step.ends_with("user")
                || matches!(step, "profile" | "quota"),
            "{step} wrote nothing"
        );
        let templates = writes
            .iter()
            .map(|w| (template(&w.target, actor), w.units))
            .collect();
        steps.insert(step, templates);
    };
    let ok = |reply: &Reply, status: u16| assert_eq!(reply.status, status, "{}", reply.body);

    let ada = t.owner("ada@acme.com").await;
    let mut actor = Actor {
        user: ada.id.clone(),
        email: ada.email.clone(),
        org: ada.org_id.clone(),
        members: Vec::new(),
    };
    done("register", &actor);
    let mails = mailer.deliver().await;
    done("deliver-mail", &actor);
    let token =
        accounts_tests::mail::link_token(&mails[0], &t.app.config.mail.app_url, "verify-email");
    ok(
        &t.post("/user/verify-email", json!({"token": token})).await,
        200,
    );
    done("verify-email", &actor);
    let login = t.login("ada@acme.com", PASSWORD).await;
    ok(&login, 200);
    done("login", &actor);
    let access = login.str("accessToken");
    ok(&t.refresh(&login.str("refreshToken")).await, 200);
    done("refresh", &actor);
    ok(&t.get("/user/profile", &access).await, 200);
    done("profile", &actor);
    // The first quota read of a table writes the default plans: once.
    ok(&t.get("/user/quota", &access).await, 200);
    recorder.take();
    ok(&t.get("/user/quota", &access).await, 200);
    done("quota", &actor);
    let owner = Member {
        access_token: access.clone(),
        ..ada.clone()
    };
    let grace = t.member(&owner, "grace@acme.com", 0).await;
    actor.members.push((grace.id.clone(), grace.email.clone()));
    recorder.take(); // grace's own login
    let body = json!({"email": "alan@acme.com", "firstName": "Alan", "lastName": "Turing",
                      "sendInvite": true});
    let alan = t
        .call("POST", "/organization/users", Some(body), Some(&access))
        .await;
    ok(&alan, 201);
    actor.members.push((
        alan.body["data"]["id"].as_str().unwrap().into(),
        "alan@acme.com".into(),
    ));
    done("create-member", &actor);
    ok(&t.get("/organization/users", &access).await, 200);
    done("list-members", &actor);
    ok(&t.get(&format!("/user/{}", grace.id), &access).await, 200);
    done("get-user", &actor);
    ok(
        &t.put(
            &format!("/user/{}", ada.id),
            json!({"name": "Augusta"}),
            &access,
        )
        .await,
        200,
    );
    done("update-user", &actor);
    ok(
        &t.put(
            &format!("/user/{}/role", grace.id),
            json!({"orgRole": 255}),
            &access,
        )
        .await,
        200,
    );
    done("update-role", &actor);
    ok(&t.get("/sessions", &access).await, 200);
    done("list-sessions", &actor);
    let second = t.login("ada@acme.com", PASSWORD).await;
    recorder.take();
    let path = format!("/sessions/{}/revoke", second.str("tokenId"));
    ok(&t.call("POST", &path, None, Some(&access)).await, 200);
    done("revoke-session", &actor);
    let out = json!({"refresh_token": t.login("ada@acme.com", PASSWORD).await.str("refreshToken")});
    recorder.take();
    ok(&t.post("/user/logout", out).await, 200);
    done("logout", &actor);
    let alan_id = actor.members[1].0.clone();
    ok(
        &t.post(&format!("/user/resend-verification/{alan_id}"), json!({}))
            .await,
        200,
    );
    done("resend-verification", &actor);
    ok(
        &t.post(
            "/user/request-reset-password",
            json!({"email": "ada@acme.com"}),
        )
        .await,
        200,
    );
    done("reset-request", &actor);
    let nobody = json!({"email": "nobody-at-all@acme.com"});
    ok(&t.post("/user/request-reset-password", nobody).await, 200);
    done("reset-request-unknown", &actor);
    let reset = mailer.deliver().await;
    recorder.take();
    let mail = reset
        .iter()
        .find(|m| m.kind == accounts::model::mail::MailKind::Reset)
        .unwrap();
    let token =
        accounts_tests::mail::link_token(mail, &t.app.config.mail.app_url, "reset-password");
    let body = json!({"token": token, "newPassword": "Reset-pass-246"});
    ok(&t.post("/user/reset-password", body).await, 200);
    done("reset-password", &actor);
    quota::record_usage(
        &*t.store,
        &ada.org_id,
        "STORAGE_TOTAL_BYTES",
        1,
        t.clock_now(),
    )
    .await
    .unwrap();
    done("record-usage", &actor);
    let fresh = t.login("ada@acme.com", "Reset-pass-246").await;
    recorder.take();
    ok(
        &t.call(
            "POST",
            "/sessions/revoke-all",
            None,
            Some(&fresh.str("accessToken")),
        )
        .await,
        200,
    );
    done("revoke-all", &actor);
    let leaving = t.login("grace@acme.com", PASSWORD).await.str("accessToken");
    recorder.take();
    actor.user = grace.id.clone();
    actor.email = grace.email.clone();
    actor.members = vec![(ada.id.clone(), ada.email.clone())];
    ok(
        &t.call("POST", "/user/deactivate", None, Some(&leaving))
            .await,
        200,
    );
    done("deactivate", &actor);
    steps
}

/// A small, seeded generator: the runs are repeatable.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Users `0..users/100` form the largest organization (1% of everyone);
/// the rest are in organizations of four.
fn org_of(user: u64, users: u64) -> (u64, u64, u64) {
    let big = users / 100;
    if user < big {
        (0, 0, big)
    } else {
        let org = 1 + (user - big) / 4;
        let first = big + (org - 1) * 4;
        (org, first, (first + 4).min(users))
    }
}

/// Write units per second on the busiest concrete key of each template.
type Rates = BTreeMap<Target, f64>;

fn simulate(
    steps: &BTreeMap<&'static str, Vec<(Target, u32)>>,
    users: u64,
    per_second: &[(&str, f64)],
) -> Rates {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ users);
    let mut counts: HashMap<(Target, String), f64> = HashMap::new();
    let mut fresh = 0u64;
    for (step, rate) in per_second {
        // Whole requests in the window; a rate below one per window still
        // happens once (never less than the truth).
        let requests = (rate * WINDOW_SECONDS).ceil() as u64;
        for _ in 0..requests {
            let user = rng.below(users);
            let (org, first, end) = org_of(user, users);
            let member = first + rng.below(end - first);
            fresh += 1;
            let new_id = format!("{fresh:032x}");
            let fill = |s: &str| {
                s.replace("{user}", &format!("u{user}"))
                    .replace("{email}", &format!("e{user}"))
                    .replace("{org}", &format!("o{org}"))
                    .replace("{member}", &format!("u{member}"))
                    .replace("{member-email}", &format!("e{member}"))
                    .replace("{new}", &new_id)
            };
            for (target, units) in &steps[step] {
                // Table rows are counted per partition key value: every
                // item of one pk shares its partition's limit.
                let (class, concrete, units) = match target {
                    Target::Item(pk, _) => (
                        Target::Item(pk.clone(), String::new()),
                        fill(pk),
                        f64::from(*units),
                    ),
                    // A mail record's index entry is written twice: when
                    // put, and when TTL deletes it (at the same rate, in a
                    // steady state).
                    Target::Index(partition) => match partition.strip_prefix("{mail:") {
                        Some(kind) => {
                            let kind = kind.trim_end_matches('}');
                            (target.clone(), mail_index_partition(kind, &new_id), 2.0)
                        }
                        None => (target.clone(), fill(partition), f64::from(*units)),
                    },
                };
                *counts.entry((class, concrete)).or_default() += units;
            }
        }
    }
    let mut busiest = Rates::new();
    for ((class, _), count) in counts {
        let rate = busiest.entry(class).or_default();
        *rate = rate.max(count / WINDOW_SECONDS);
    }
    busiest
}

fn peak_rates(active_users: u64) -> Vec<(&'static str, f64)> {
    let mut rates: Vec<(&str, f64)> = MODEL
        .iter()
        .map(|(step, per_day)| (*step, per_day * active_users as f64 * PEAK / 86_400.0))
        .collect();
    // One delivery per mail: the steps that put an outbox record.
    let mails = [
        "register",
        "resend-verification",
        "reset-request",
        "create-member",
    ];
    let deliveries = rates
        .iter()
        .filter(|(s, _)| mails.contains(s))
        .map(|(_, r)| r)
        .sum();
    rates.push(("deliver-mail", deliveries));
    rates
}

fn label(target: &Target) -> String {
    match target {
        Target::Item(pk, _) => format!("table `{pk}`"),
        Target::Index(partition) => format!("gsi1 `{partition}`"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_key_is_written_above_the_partition_limit_at_a_million_active_users() {
    let steps = record_steps().await;
    for (step, _) in MODEL {
        assert!(steps.contains_key(step), "step {step} was not recorded");
    }
    let populations = [10_000u64, 100_000, 1_000_000];
    let runs: Vec<Rates> = populations
        .iter()
        .map(|&users| simulate(&steps, users, &peak_rates(users)))
        .collect();
    let flood_steps = [
        ("reset-request", FLOOD_PER_SECOND / 2.0),
        ("reset-request-unknown", FLOOD_PER_SECOND / 2.0),
    ];
    let flood = simulate(&steps, 1_000_000, &flood_steps);

    println!("| key | 10k | 100k | 1M | reset flood, 10,000/s |");
    println!("|---|---:|---:|---:|---:|");
    let mut classes: Vec<&Target> = runs
        .iter()
        .flat_map(|r| r.keys())
        .chain(flood.keys())
        .collect();
    classes.sort();
    classes.dedup();
    for class in &classes {
        let cell = |rates: &Rates| rates.get(*class).map_or("".into(), |r| format!("{r:.2}"));
        println!(
            "| {} | {} | {} | {} | {} |",
            label(class),
            cell(&runs[0]),
            cell(&runs[1]),
            cell(&runs[2]),
            cell(&flood)
        );
    }
    println!(
        "\n(write units per second on the busiest key of each kind, at the peak hour: \
              {PEAK} × the daily mean; {MAIL_INDEX_SHARDS} mail index partitions)"
    );

    for (rates, what) in [
        (&runs[2], "at 1M active users"),
        (&flood, "in the reset flood"),
    ] {
        for (class, rate) in rates {
            assert!(
                *rate < PARTITION_WRITE_UNITS,
                "{} takes {rate:.0} write units/s {what}: above DynamoDB's limit",
                label(class)
            );
        }
    }
    // The outbox's index writes are spread: no partition takes more than
    // twice its share of them.
    let outbox = flood
        .get(&Target::Index("{mail:OUTBOX}".into()))
        .copied()
        .unwrap_or_default();
    let share = FLOOD_PER_SECOND / 2.0 * 2.0 / f64::from(MAIL_INDEX_SHARDS);
    assert!(
        outbox > 0.0 && outbox < 2.0 * share,
        "outbox index partition at {outbox:.0}/s"
    );
}
