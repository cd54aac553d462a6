//! The organization's subscription and usage.

use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::App;
use crate::error::Result;
use crate::http::AuthUser;
use crate::http::response::success;
use crate::service::quota;

#[derive(Serialize)]
struct SubscriptionInfo<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CapabilityInfo<'a> {
    id: &'a str,
    code: &'a str,
    description: &'a str,
    #[serde(rename = "type")]
    capability_type: &'a str,
    period_type: crate::model::PeriodType,
}

#[derive(Serialize)]
struct UsageFigures {
    current: u64,
    max: u64,
    percentage: u64,
}

#[derive(Serialize)]
struct QuotaUsage<'a> {
    capability: CapabilityInfo<'a>,
    usage: UsageFigures,
}

/// Flashback's shape: no `data` wrapper.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QuotaResponse<'a> {
    subscription: SubscriptionInfo<'a>,
    quota_usage: Vec<QuotaUsage<'a>>,
}

pub(crate) async fn get_quota(app: &App, req: &Request) -> Result<Response<Body>> {
    let quota = quota::quota(app, AuthUser::from_request(app, req).await?.claims).await?;
    let body = QuotaResponse {
        // The subscription's id is its organization's: one per organization.
        subscription: SubscriptionInfo {
            id: &quota.subscription.org_id,
            name: &quota.plan.name,
            description: &quota.plan.description,
        },
        quota_usage: quota
            .usage
            .iter()
            .map(|u| QuotaUsage {
                capability: CapabilityInfo {
                    id: &u.capability.id,
                    code: &u.capability.code,
                    description: &u.capability.description,
                    capability_type: &u.capability.capability_type,
                    period_type: u.capability.period_type,
                },
                usage: UsageFigures {
                    current: u.current,
                    max: u.max,
                    percentage: u.percentage,
                },
            })
            .collect(),
    };
    Ok(success(200, &body))
}
