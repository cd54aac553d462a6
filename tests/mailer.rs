//! The AWS mail path on moto: records written by the endpoints, read from
//! the table's DynamoDB Stream as Lambda would hand them to the mailer,
//! delivered by the mailer function's handler through SES v2 (the sent
//! messages read back from moto), and an SES failure retried without loss
//! or duplicates.

use std::sync::Arc;

use accounts::mail::deliver::Mailer;
use accounts::mail::render::Renderer;
use accounts::mail::ses::SesSender;
use accounts::mail::stream::deliver_batch;
use accounts::store::dynamo::{DynamoStore, create_table};
use accounts_tests::*;
use aws_lambda_events::event::dynamodb::Event;
use serde_json::{Value, json};

fn sesv2() -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
        .endpoint_url(dynamodb_endpoint())
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

fn streams() -> aws_sdk_dynamodbstreams::Client {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
        .endpoint_url(dynamodb_endpoint())
        .credentials_provider(aws_sdk_dynamodbstreams::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

/// Every record of the table's stream so far, as the Lambda event the
/// mailer receives (DynamoDB JSON keys, sequence numbers).
async fn stream_event(table: &str) -> Event {
    let dynamodb = dynamodb_client(&dynamodb_endpoint());
    let described = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let arn = described
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("the table has a stream")
        .to_owned();
    let streams = streams();
    let stream = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap();
    let mut records = Vec::new();
    for shard in stream.stream_description().unwrap().shards() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        loop {
            let page = streams
                .get_records()
                .shard_iterator(&iterator)
                .send()
                .await
                .unwrap();
            for record in page.records() {
                let change = record.dynamodb().unwrap();
                let keys: serde_json::Map<String, Value> = change
                    .keys()
                    .unwrap()
                    .iter()
                    .map(|(name, value)| (name.clone(), json!({"S": value.as_s().unwrap()})))
                    .collect();
                records.push(json!({
                    "eventID": record.event_id(),
                    "eventName": record.event_name().unwrap().as_str(),
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "eventSourceARN": arn,
                    "dynamodb": {
                        "Keys": keys,
                        "SequenceNumber": change.sequence_number(),
                        "SizeBytes": change.size_bytes(),
                        "StreamViewType": "KEYS_ONLY",
                    },
                }));
            }
            match page.next_shard_iterator {
                Some(next) if !page.records.unwrap_or_default().is_empty() => iterator = next,
                _ => break,
            }
        }
    }
    serde_json::from_value(json!({"Records": records})).expect("a DynamoDB stream event")
}

/// The mails moto's SES has sent from `from`: (to, subject, body). (moto's
/// data dump is slow on a busy server: called once.)
async fn sent_mails(from: &str) -> Vec<(Vec<String>, String, String)> {
    let url = format!("{}/moto-api/data.json", dynamodb_endpoint());
    let data = reqwest_get(&url).await;
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|m| m["source"] == json!(from))
        .map(|m| {
            let to = m["destinations"]["ToAddresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            (
                to,
                m["subject"].as_str().unwrap().to_owned(),
                m["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A plain HTTP/1.1 GET (moto's own API), without another HTTP client.
async fn reqwest_get(url: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET /{path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    serde_json::from_str(&body).expect("moto's data.json")
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outbox_records_reach_ses_through_the_stream_once_even_after_an_outage() {
    let table = format!("accounts-mailer-{}", uuid::Uuid::new_v4().simple());
    let client = dynamodb_client(&dynamodb_endpoint());
    create_table(&client, &table).await.unwrap();
    let t = TestApp::on_store(
        Arc::new(DynamoStore::new(client, table.clone())),
        Backend::Dynamo,
    );
    let registered = t.register("ada@acme.com").await;
    let asked = t
        .post(
            "/user/request-reset-password",
            json!({"email": "ada@acme.com"}),
        )
        .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    // An unknown address: its stand-ins are no outbox records.
    t.post(
        "/user/request-reset-password",
        json!({"email": "nobody@acme.com"}),
    )
    .await;

    let event = stream_event(&table).await;
    let outbox_records = event
        .records
        .iter()
        .filter(|r| {
            serde_json::to_value(&r.change.keys).unwrap()["pk"]["S"]
                .as_str()
                .unwrap()
                .starts_with("OUTBOX#")
        })
        .count();
    assert_eq!(
        outbox_records, 2,
        "the verification mail and the reset mail"
    );

    // A sender of this test's own: its mails are told from other runs'.
    let from = format!("accounts-{}@mail.acme.test", uuid::Uuid::new_v4().simple());
    let ses = sesv2();
    let mailer = Mailer::new(
        Arc::clone(&t.store),
        Arc::new(SesSender::new(ses.clone(), &from)),
        Renderer::new(&t.app.config.mail.app_url).unwrap(),
        t.clock.clone(),
    );
    // SES refuses (the sender is not verified yet): both records reported
    // back for a retry, nothing lost, nothing sent.
    let failed = deliver_batch(&mailer, event.clone()).await;
    assert_eq!(failed.batch_item_failures.len(), 2, "{failed:?}");
    assert!(
        t.store
            .outbox()
            .await
            .unwrap()
            .iter()
            .all(|m| m.sent_at.is_none() && m.token.is_some())
    );

    // SES is back; Lambda retries the batch: each mail goes out once.
    ses.create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    let delivered = deliver_batch(&mailer, event.clone()).await;
    assert!(delivered.batch_item_failures.is_empty(), "{delivered:?}");
    let again = deliver_batch(&mailer, event).await;
    assert!(again.batch_item_failures.is_empty());

    // Two mails in all: none while SES refused, one per record after.
    let sent = sent_mails(&from).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    let subjects: Vec<&str> = sent.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(
        subjects,
        ["Confirm your email address", "Reset your password"]
    );
    for (to, _, body) in &sent {
        assert_eq!(to, &["ada@acme.com".to_owned()]);
        assert!(
            body.contains(&format!("{}/", t.app.config.mail.app_url)),
            "{body}"
        );
    }
    // The link in the verification mail works.
    let (_, _, body) = &sent[0];
    let start = body.find("token=").unwrap() + "token=".len();
    let token: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let verified = t.post("/user/verify-email", json!({"token": token})).await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.body["user"]["id"], registered.body["user"]["id"]);
    // Sent records keep no token.
    let outbox = t.store.outbox().await.unwrap();
    assert!(
        outbox
            .iter()
            .all(|m| m.sent_at.is_some() && m.token.is_none())
    );
}
