//! Plans, subscriptions and usage counters.

use super::*;
use crate::store::PlanStore;

#[async_trait]
impl PlanStore for EmbeddedStore {
    async fn subscription(&self, org_id: &str) -> StoreResult<Option<Subscription>> {
        let id = org_id.to_owned();
        self.run(move |conn| {
            read_json(
                conn,
                "SELECT data FROM subscriptions WHERE org_id = ?1",
                &id,
            )
        })
        .await
    }

    async fn plan(&self, plan_id: &str) -> StoreResult<Option<Plan>> {
        let id = plan_id.to_owned();
        self.run(move |conn| read_json(conn, "SELECT data FROM plans WHERE id = ?1", &id))
            .await
    }

    async fn plans(&self) -> StoreResult<Vec<Plan>> {
        self.run(|conn| read_all_json(conn, "SELECT data FROM plans", []))
            .await
    }

    async fn put_plan(&self, plan: &Plan) -> StoreResult<()> {
        self.write_record(
            "INSERT INTO plans (id, data) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            &plan.id,
            to_json(plan)?,
        )
        .await
    }

    async fn seed_plan(&self, plan: &Plan) -> StoreResult<()> {
        self.write_record(
            "INSERT INTO plans (id, data) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
            &plan.id,
            to_json(plan)?,
        )
        .await
    }

    async fn put_subscription(&self, subscription: &Subscription) -> StoreResult<()> {
        self.write_record(
            "INSERT INTO subscriptions (org_id, data) VALUES (?1, ?2)
             ON CONFLICT (org_id) DO UPDATE SET data = excluded.data",
            &subscription.org_id,
            to_json(subscription)?,
        )
        .await
    }

    async fn add_usage(&self, key: &UsageKey, amount: i64) -> StoreResult<u64> {
        let key = key.clone();
        self.run(move |conn| {
            conn.query_row(
                "INSERT INTO usage_counters (org_id, capability, period, amount)
                 VALUES (?1, ?2, ?3, MAX(0, ?4))
                 ON CONFLICT (org_id, capability, period)
                 DO UPDATE SET amount = MAX(0, amount + ?4)
                 RETURNING amount",
                params![key.org_id, key.capability, key.period, amount],
                |row| row.get::<_, i64>(0),
            )
            .map(|total| total as u64)
            .map_err(sqlite_error)
        })
        .await
    }

    async fn usage(&self, org_id: &str, periods: &[String]) -> StoreResult<Vec<(UsageKey, u64)>> {
        let (org_id, periods) = (org_id.to_owned(), periods.to_vec());
        self.run(move |conn| {
            let mut statement = conn
                .prepare(
                    "SELECT capability, period, amount FROM usage_counters
                     WHERE org_id = ?1 AND period IN (SELECT value FROM json_each(?2))",
                )
                .map_err(sqlite_error)?;
            let periods = serde_json::to_string(&periods).map_err(internal)?;
            let rows = statement
                .query_map(params![org_id, periods], |row| {
                    Ok((
                        UsageKey {
                            org_id: org_id.clone(),
                            capability: row.get(0)?,
                            period: row.get(1)?,
                        },
                        row.get::<_, i64>(2)? as u64,
                    ))
                })
                .map_err(sqlite_error)?;
            rows.map(|row| row.map_err(sqlite_error)).collect()
        })
        .await
    }
}
