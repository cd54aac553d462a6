//! Plans are data: these defaults are written on first use, after which an
//! operator changes them (`accounts-admin plan put`) without a deploy.

use crate::error::{Error, Result};
use crate::model::{Capability, PeriodType, Plan};
use crate::service::register::FREE_TRIAL_PLAN_ID;
use crate::store::Store;

const GIB: u64 = 1024 * 1024 * 1024;

fn capability(
    code: &str,
    description: &str,
    kind: &str,
    period_type: PeriodType,
    limit: u64,
) -> Capability {
    Capability {
        id: code.to_lowercase().replace('_', "-"),
        code: code.into(),
        description: description.into(),
        capability_type: kind.into(),
        period_type,
        limit,
    }
}

pub fn default_plans() -> Vec<Plan> {
    vec![
        Plan {
            id: FREE_TRIAL_PLAN_ID.into(),
            name: "Free Trial".into(),
            description: "30 days to try the platform".into(),
            capabilities: vec![
                capability(
                    "STORAGE_TOTAL_BYTES",
                    "Total storage in bytes",
                    "STORAGE",
                    PeriodType::AllTime,
                    10 * GIB,
                ),
                capability(
                    "EGRESS_MONTHLY_BYTES",
                    "Egress traffic per month in bytes",
                    "TRAFFIC",
                    PeriodType::Monthly,
                    2 * GIB,
                ),
            ],
        },
        Plan {
            id: "pro".into(),
            name: "Pro".into(),
            description: "For teams in production".into(),
            capabilities: vec![
                capability(
                    "STORAGE_TOTAL_BYTES",
                    "Total storage in bytes",
                    "STORAGE",
                    PeriodType::AllTime,
                    1024 * GIB,
                ),
                capability(
                    "EGRESS_MONTHLY_BYTES",
                    "Egress traffic per month in bytes",
                    "TRAFFIC",
                    PeriodType::Monthly,
                    500 * GIB,
                ),
            ],
        },
    ]
}

/// Checks a plan an operator wrote: ids and codes present and unique.
pub fn validate(plan: &Plan) -> Result<()> {
    let ok_id = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    };
    if !ok_id(&plan.id) {
        return Err(Error::validation(
            "plan id must be 1-64 letters, digits, '-' or '_'",
        ));
    }
    if plan.name.trim().is_empty() {
        return Err(Error::validation("plan name must not be empty"));
    }
    let mut codes = std::collections::HashSet::new();
    for c in &plan.capabilities {
        let ok_code = !c.code.is_empty()
            && c.code
                .chars()
                .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_');
        if !ok_code {
            return Err(Error::validation(format!(
                "capability code {:?} must be UPPER_SNAKE_CASE",
                c.code
            )));
        }
        if !ok_id(&c.id) || c.capability_type.trim().is_empty() {
            return Err(Error::validation(format!(
                "capability {} needs an id and a type",
                c.code
            )));
        }
        if !codes.insert(c.code.as_str()) {
            return Err(Error::validation(format!(
                "capability {} appears twice",
                c.code
            )));
        }
    }
    Ok(())
}

/// The plan, writing the defaults first if it is a default not yet stored.
pub async fn plan(store: &dyn Store, plan_id: &str) -> Result<Option<Plan>> {
    if let Some(plan) = store.plan(plan_id).await? {
        return Ok(Some(plan));
    }
    match default_plans().into_iter().find(|p| p.id == plan_id) {
        Some(default) => {
            store.seed_plan(&default).await?;
            Ok(store.plan(plan_id).await?)
        }
        None => Ok(None),
    }
}

/// Every plan, the defaults written first where missing.
pub async fn all(store: &dyn Store) -> Result<Vec<Plan>> {
    let mut plans = store.plans().await?;
    let missing: Vec<Plan> = default_plans()
        .into_iter()
        .filter(|d| !plans.iter().any(|p| p.id == d.id))
        .collect();
    if !missing.is_empty() {
        for plan in &missing {
            store.seed_plan(plan).await?;
        }
        plans = store.plans().await?;
    }
    plans.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_follow_the_contract_and_validate() {
        let plans = default_plans();
        let trial = &plans[0];
        assert_eq!(trial.id, "free-trial");
        assert_eq!(trial.capabilities[0].code, "STORAGE_TOTAL_BYTES");
        assert_eq!(trial.capabilities[0].limit, 10 * GIB);
        assert_eq!(trial.capabilities[1].period_type, PeriodType::Monthly);
        for plan in &plans {
            validate(plan).unwrap();
        }
    }

    #[test]
    fn duplicate_codes_are_refused() {
        let mut plan = default_plans().remove(0);
        plan.capabilities.push(plan.capabilities[0].clone());
        assert!(matches!(validate(&plan), Err(Error::Validation(_))));
    }
}
