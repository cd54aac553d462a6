//! Creating the table, for a local DynamoDB-compatible server and the tests.

use super::*;

/// Creates the table (on-demand capacity, `pk`/`sk` keys, index `gsi1` on
/// `gsi1pk`/`gsi1sk` projecting the keys and [`GSI1_PROJECTED`]), waits until it and its index are
/// ACTIVE, and turns on TTL on `ttl`. A table that already exists is fine:
/// calling this again is harmless.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let invalid = |what: &str| StoreError::Internal(format!("CreateTable: invalid {what}"));
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|_| invalid("attribute definition"))
    };
    let key_element = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(|_| invalid("key schema"))
    };
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(GSI1)
        .key_schema(key_element(GSI1PK, KeyType::Hash)?)
        .key_schema(key_element(GSI1SK, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(
                    GSI1_PROJECTED.iter().map(|a| a.to_string()).collect(),
                ))
                .build(),
        )
        .build()
        .map_err(|_| invalid("index"))?;

    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(PK)?)
        .attribute_definitions(attribute(SK)?)
        .attribute_definitions(attribute(GSI1PK)?)
        .attribute_definitions(attribute(GSI1SK)?)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(SK, KeyType::Range)?)
        .global_secondary_indexes(gsi)
        // The mailer's trigger: keys only, so that no record (no token)
        // travels in the stream; the mailer reads the outbox item itself.
        .stream_specification(
            aws_sdk_dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::KeysOnly)
                .build()
                .map_err(|_| invalid("stream specification"))?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        // The table exists already (or is being created): wait for it below.
        Err(SdkError::ServiceError(e)) if e.err().is_resource_in_use_exception() => {}
        Err(e) => return Err(store_error("CreateTable", e)),
    }

    wait_until_active(client, table).await?;

    let ttl = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| store_error("DescribeTimeToLive", e))?;
    let ttl_on = ttl.time_to_live_description().is_some_and(|d| {
        d.attribute_name() == Some(TTL)
            && matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
    });
    if !ttl_on {
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL)
                    .enabled(true)
                    .build()
                    .map_err(|_| invalid("TTL specification"))?,
            )
            .send()
            .await
            .map_err(|e| store_error("UpdateTimeToLive", e))?;
    }
    Ok(())
}

async fn wait_until_active(client: &Client, table: &str) -> Result<(), StoreError> {
    for poll in 0..TABLE_POLLS {
        if poll > 0 {
            tokio::time::sleep(TABLE_POLL_INTERVAL).await;
        }
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| store_error("DescribeTable", e))?;
        let Some(description) = described.table() else {
            continue;
        };
        let table_active = description.table_status() == Some(&TableStatus::Active);
        let indexes_active = description
            .global_secondary_indexes()
            .iter()
            .all(|i| i.index_status().is_none_or(|s| *s == IndexStatus::Active));
        if table_active && indexes_active {
            return Ok(());
        }
    }
    Err(StoreError::Unavailable(format!(
        "DescribeTable: table not ACTIVE after {TABLE_POLLS} polls"
    )))
}
