//! Plans, subscriptions and usage counters.

use super::*;
use crate::store::PlanStore;

#[async_trait]
impl PlanStore for DynamoStore {
    async fn subscription(&self, org_id: &str) -> StoreResult<Option<Subscription>> {
        self.get(subscription_key(org_id)).await
    }

    async fn plan(&self, plan_id: &str) -> StoreResult<Option<Plan>> {
        self.get(plan_key(plan_id)).await
    }

    async fn plans(&self) -> StoreResult<Vec<Plan>> {
        // The index names the plans; their records come from the table.
        let listed = self.query_index(PLANS_PARTITION.into(), "PLAN#").await?;
        self.batch_get(table_keys(listed)?)
            .await?
            .into_iter()
            .map(|item| decode("BatchGetItem", item))
            .collect()
    }

    async fn put_plan(&self, plan: &Plan) -> StoreResult<()> {
        self.put(plan_item(plan)?, Condition::new(ANY)).await
    }

    async fn seed_plan(&self, plan: &Plan) -> StoreResult<()> {
        match self.put(plan_item(plan)?, Condition::new(NOT_EXISTS)).await {
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn put_subscription(&self, subscription: &Subscription) -> StoreResult<()> {
        self.put(subscription_item(subscription)?, Condition::new(ANY))
            .await
    }

    async fn add_usage(&self, key: &UsageKey, amount: i64) -> StoreResult<u64> {
        const OP: &str = "UpdateItem";
        let (pk, sk) = usage_key(key);
        let client = self.client().await;
        // Every step also (re)writes the counter's own attributes.
        let update = |expression: &str, condition: Option<&str>, values: Vec<(&str, i64)>| {
            let mut request = client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_owned(pk.clone(), sk.clone())))
                .update_expression(format!("SET #o = :o, #c = :c, #p = :p{expression}"))
                .set_condition_expression(condition.map(str::to_owned))
                .expression_attribute_names("#a", "amount")
                .expression_attribute_names("#o", "orgId")
                .expression_attribute_names("#c", "capability")
                .expression_attribute_names("#p", "period")
                .expression_attribute_values(":o", s(&key.org_id))
                .expression_attribute_values(":c", s(&key.capability))
                .expression_attribute_values(":p", s(&key.period))
                .return_values(ReturnValue::AllNew);
            for (placeholder, value) in values {
                request = request.expression_attribute_values(placeholder, n(value));
            }
            // An addition is not idempotent: had the SDK retried one whose
            // answer was lost, it would count twice. One attempt; a failure
            // is the caller's to retry or not.
            let once = aws_sdk_dynamodb::config::Builder::default()
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled());
            async move {
                request
                    .customize()
                    .config_override(once)
                    .send()
                    .await
                    .map_err(|e| store_error(OP, e))
            }
        };
        let total = |attributes: Option<Item>| -> StoreResult<u64> {
            match attributes.as_ref().and_then(|a| a.get("amount")) {
                Some(AttributeValue::N(v)) => v
                    .parse()
                    .map_err(|_| StoreError::Internal(format!("{OP}: amount is not a count"))),
                _ => Err(StoreError::Internal(format!("{OP}: no amount returned"))),
            }
        };
        if amount >= 0 {
            let out = update(" ADD #a :v", None, vec![(":v", amount)]).await?;
            return total(out.attributes);
        }
        // A subtraction either fits or leaves zero; each step is conditional
        // on what it saw, so concurrent additions are never lost.
        let take = amount.checked_neg().unwrap_or(i64::MAX);
        for _ in 0..USAGE_ATTEMPTS {
            match update(", #a = #a - :v", Some("#a >= :v"), vec![(":v", take)]).await {
                Ok(out) => return total(out.attributes),
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
            let to_zero = update(
                ", #a = :zero",
                Some("attribute_not_exists(#a) OR #a < :v"),
                vec![(":v", take), (":zero", 0)],
            );
            match to_zero.await {
                Ok(out) => return total(out.attributes),
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Unavailable(format!(
            "{OP}: usage counter too contended"
        )))
    }

    async fn usage(&self, org_id: &str, periods: &[String]) -> StoreResult<Vec<(UsageKey, u64)>> {
        const OP: &str = "Query";
        if periods.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..periods.len()).map(|i| format!(":p{i}")).collect();
        let mut request = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .filter_expression(format!("#period IN ({})", placeholders.join(", ")))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_names("#period", "period")
            .expression_attribute_values(":pk", s(format!("ORG#{org_id}")))
            .expression_attribute_values(":prefix", s(USAGE_PREFIX));
        for (placeholder, period) in placeholders.iter().zip(periods) {
            request = request.expression_attribute_values(placeholder, s(period));
        }
        self.query_all(request)
            .await?
            .into_iter()
            .map(|item| {
                let counter: UsageCounter = decode(OP, item)?;
                let key = UsageKey {
                    org_id: counter.org_id,
                    capability: counter.capability,
                    period: counter.period,
                };
                Ok((key, counter.amount))
            })
            .collect()
    }
}

/// A usage counter item's own attributes.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageCounter {
    org_id: String,
    capability: String,
    period: String,
    amount: u64,
}
