//! GET /user/quota and usage counting, on both stores.

use std::sync::Arc;

use accounts::model::UsageKey;
use accounts::service::{operator, quota};
use accounts_tests::race::race;
use accounts_tests::*;
use serde_json::json;

const GIB: u64 = 1024 * 1024 * 1024;

fn usage_of<'a>(reply: &'a Reply, code: &str) -> &'a serde_json::Value {
    reply.body["quotaUsage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["capability"]["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {}", reply.body))
}

on_both_stores! {
    async fn a_new_organization_has_the_free_trial_unused(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let reply = t.get("/user/quota", &ada.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["success"], json!(true));
        assert!(reply.body.get("data").is_none(), "Flashback's shape has no data wrapper");
        assert_eq!(reply.body["subscription"]["name"], "Free Trial");
        assert!(reply.body["subscription"]["id"].as_str().is_some_and(|id| !id.is_empty()));
        assert!(reply.body["subscription"]["description"].is_string());
        assert_eq!(reply.body["quotaUsage"].as_array().unwrap().len(), 2);
        assert_eq!(usage_of(&reply, "STORAGE_TOTAL_BYTES"), &json!({
            "capability": {"id": "storage-total-bytes", "code": "STORAGE_TOTAL_BYTES",
                           "description": "Total storage in bytes", "type": "STORAGE", "periodType": "ALL_TIME"},
            "usage": {"current": 0, "max": 10 * GIB, "percentage": 0}
        }));
        let egress = usage_of(&reply, "EGRESS_MONTHLY_BYTES");
        assert_eq!(egress["capability"]["periodType"], "MONTHLY");
        assert_eq!(egress["capability"]["type"], "TRAFFIC");
        assert_eq!(egress["usage"], json!({"current": 0, "max": 2 * GIB, "percentage": 0}));
        // Any member may read it.
        let grace = t.member(&ada, "grace@acme.com", 0).await;
        assert_eq!(t.get("/user/quota", &grace.access_token).await.body, reply.body);
    }

    async fn recorded_usage_shows_with_rounded_percentages(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        let now = t.clock_now();
        let total = quota::record_usage(t.store.as_ref(), &ada.org_id, "STORAGE_TOTAL_BYTES", (5 * GIB) as i64, now).await.unwrap();
        assert_eq!(total, 5 * GIB);
        quota::record_usage(t.store.as_ref(), &ada.org_id, "EGRESS_MONTHLY_BYTES", (GIB / 3) as i64, now).await.unwrap();
        let reply = t.get("/user/quota", &ada.access_token).await;
        assert_eq!(usage_of(&reply, "STORAGE_TOTAL_BYTES")["usage"], json!({"current": 5 * GIB, "max": 10 * GIB, "percentage": 50}));
        assert_eq!(usage_of(&reply, "EGRESS_MONTHLY_BYTES")["usage"], json!({"current": GIB / 3, "max": 2 * GIB, "percentage": 17}));
        // Taking back more than was used stops at zero.
        let total = quota::record_usage(t.store.as_ref(), &ada.org_id, "STORAGE_TOTAL_BYTES", -(20 * GIB as i64), now).await.unwrap();
        assert_eq!(total, 0);
        let reply = t.get("/user/quota", &ada.access_token).await;
        assert_eq!(usage_of(&reply, "STORAGE_TOTAL_BYTES")["usage"]["current"], 0);
        let unknown = quota::record_usage(t.store.as_ref(), &ada.org_id, "NO_SUCH_THING", 1, now).await;
        assert!(matches!(unknown, Err(accounts::Error::Validation(_))));
    }

    async fn last_months_traffic_does_not_count_this_month(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        // A paid, open-ended plan, so that the trial's end is not in the way.
        operator::set_subscription(t.store.as_ref(), &ada.org_id, "pro", None, t.clock_now()).await.unwrap();
        quota::record_usage(t.store.as_ref(), &ada.org_id, "EGRESS_MONTHLY_BYTES", 1000, t.clock_now()).await.unwrap();
        quota::record_usage(t.store.as_ref(), &ada.org_id, "STORAGE_TOTAL_BYTES", 2000, t.clock_now()).await.unwrap();
        let before = t.get("/user/quota", &ada.access_token).await;
        assert_eq!(before.body["subscription"]["name"], "Pro");
        assert_eq!(usage_of(&before, "EGRESS_MONTHLY_BYTES")["usage"]["current"], 1000);
        t.clock.advance(31 * 86_400); // T0 is mid-January: now mid-February
        let login = t.login("ada@acme.com", PASSWORD).await;
        let after = t.get("/user/quota", &login.str("accessToken")).await;
        assert_eq!(usage_of(&after, "EGRESS_MONTHLY_BYTES")["usage"]["current"], 0);
        assert_eq!(usage_of(&after, "STORAGE_TOTAL_BYTES")["usage"]["current"], 2000, "all-time usage stays");
    }

    async fn an_expired_trial_is_no_active_subscription(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        t.clock.advance(30 * 86_400 - 1);
        let refreshed = t.refresh(&ada.refresh_token).await;
        assert_eq!(t.get("/user/quota", &refreshed.str("accessToken")).await.status, 200);
        t.clock.advance(1);
        let refreshed = t.refresh(&refreshed.str("refreshToken")).await;
        t.get("/user/quota", &refreshed.str("accessToken")).await.assert_error(404, "NO_ACTIVE_SUBSCRIPTION");
    }

    async fn a_cancelled_subscription_is_no_active_subscription(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        operator::cancel_subscription(t.store.as_ref(), &ada.org_id).await.unwrap();
        t.get("/user/quota", &ada.access_token).await.assert_error(404, "NO_ACTIVE_SUBSCRIPTION");
        operator::set_subscription(t.store.as_ref(), &ada.org_id, "free-trial", Some(T0 - 1), T0).await.unwrap();
        t.get("/user/quota", &ada.access_token).await.assert_error(404, "NO_ACTIVE_SUBSCRIPTION");
    }

    async fn a_plans_new_limit_shows_on_the_next_request(t: TestApp) {
        let ada = t.owner("ada@acme.com").await;
        quota::record_usage(t.store.as_ref(), &ada.org_id, "STORAGE_TOTAL_BYTES", (GIB) as i64, t.clock_now()).await.unwrap();
        let mut plan = accounts::service::plans::plan(t.store.as_ref(), "free-trial").await.unwrap().unwrap();
        plan.capabilities[0].limit = 4 * GIB;
        plan.name = "Free Trial (small)".into();
        operator::put_plan(t.store.as_ref(), &plan).await.unwrap();
        let reply = t.get("/user/quota", &ada.access_token).await;
        assert_eq!(reply.body["subscription"]["name"], "Free Trial (small)");
        assert_eq!(usage_of(&reply, "STORAGE_TOTAL_BYTES")["usage"], json!({"current": GIB, "max": 4 * GIB, "percentage": 25}));
    }

    async fn quota_needs_a_valid_token(t: TestApp) {
        t.call("GET", "/user/quota", None, None).await.assert_error(401, "NO_AUTH_USER");
        t.get("/user/quota", "nonsense").await.assert_error(401, "INVALID_TOKEN");
    }

    async fn fifty_parallel_additions_sum_exactly(t: TestApp) {
        let key = UsageKey { org_id: "org-1".into(), capability: "EGRESS_MONTHLY_BYTES".into(), period: "2027-01".into() };
        let racers: Vec<_> = (1..=50)
            .map(|i| {
                let (store, key) = (Arc::clone(&t.store), key.clone());
                async move { store.add_usage(&key, i).await }
            })
            .collect();
        let additions = race(racers).await;
        // Many at once (the embedded store takes them one by one anyway).
        if t.backend == Backend::Dynamo {
            additions.assert_in_flight_at_once(10);
        }
        let mut totals: Vec<u64> = additions.answers.into_iter().map(Result::unwrap).collect();
        // Each addition saw its own total: no two applied to the same value.
        totals.sort_unstable();
        totals.dedup();
        assert_eq!(totals.len(), 50, "{totals:?}");
        assert_eq!(totals.last(), Some(&(50 * 51 / 2)));
        let counters = t.store.usage("org-1", &["2027-01".into()]).await.unwrap();
        assert_eq!(counters, vec![(key.clone(), 50 * 51 / 2)]);
        // Parallel subtractions never go below zero, and never lose an addition.
        let racers: Vec<_> = (0..20)
            .map(|i| {
                let (store, key) = (Arc::clone(&t.store), key.clone());
                let amount = if i % 2 == 0 { -200 } else { 1 };
                async move { store.add_usage(&key, amount).await }
            })
            .collect();
        let subtractions = race(racers).await;
        if t.backend == Backend::Dynamo {
            subtractions.assert_in_flight_at_once(10);
        }
        for total in subtractions.answers {
            total.unwrap();
        }
        let counters = t.store.usage("org-1", &["2027-01".into(), "all".into()]).await.unwrap();
        let total = counters[0].1;
        assert!(total <= 10, "{total}");
        assert!(t.store.usage("org-1", &["2026-12".into()]).await.unwrap().is_empty());
    }
}
