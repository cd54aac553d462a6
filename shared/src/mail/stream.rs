//! The mailer function's handler: the records of the table's stream (the
//! event source mapping passes only new `OUTBOX#` items, keys only) each
//! delivered by [`Mailer::deliver`]. A record whose delivery failed is
//! reported back (partial batch response), so that Lambda retries from it
//! (bisecting the batch, a bounded number of times, then handing it to the
//! on-failure queue) while the delivered ones are not sent again.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use super::deliver::Mailer;

const OUTBOX_PREFIX: &str = "OUTBOX#";

/// The outbox id of a record: the new item's `pk` is `OUTBOX#<id>`.
fn outbox_id(keys: &serde_json::Value) -> Option<&str> {
    keys.get("pk")?
        .get("S")?
        .as_str()?
        .strip_prefix(OUTBOX_PREFIX)
}

pub async fn deliver_batch(mailer: &Mailer, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in event.records {
        let keys = serde_json::to_value(&record.change.keys).unwrap_or_default();
        // The mapping's filter passes only these; anything else is not mail.
        let Some(id) = outbox_id(&keys).filter(|_| record.event_name == "INSERT") else {
            continue;
        };
        if let Err(error) = mailer.deliver(id).await {
            tracing::warn!(mail_id = %id, %error, "delivery failed; reported for a retry");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
        }
    }
    response
}
