//! SDK errors and transaction cancellations, mapped onto [`StoreError`]: the
//! operation and the error code only, never item contents.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use super::StoreError;

/// Error codes that mean "busy or briefly out of reach: try again later".
pub(super) const UNAVAILABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "Throttling",
    "LimitExceededException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Cancellation reason codes of a transaction that lost to a concurrent one.
pub(super) const CONTENTION_REASONS: &[&str] = &["TransactionConflict", "TransactionInProgress"];
/// Cancellation reason codes of a transaction refused for capacity.
pub(super) const THROTTLE_REASONS: &[&str] = &["ProvisionedThroughputExceeded", "ThrottlingError"];

/// The one mapping of SDK errors onto [`StoreError`]: conditional-check
/// failures are `Conflict`, throttling and transport trouble `Unavailable`,
/// anything else `Internal`. Only the operation and the error code/kind go
/// into the message.
pub(super) fn store_error<E, R>(op: &'static str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(e) => code_error(op, e.err().code()),
        SdkError::TimeoutError(_) => StoreError::Unavailable(format!("{op}: timeout")),
        SdkError::DispatchFailure(e) => {
            let kind = if e.is_timeout() {
                "timeout"
            } else if e.is_io() {
                "connection failure"
            } else {
                "dispatch failure"
            };
            StoreError::Unavailable(format!("{op}: {kind}"))
        }
        SdkError::ResponseError(_) => StoreError::Unavailable(format!("{op}: unreadable response")),
        SdkError::ConstructionFailure(_) => {
            StoreError::Internal(format!("{op}: request construction failed"))
        }
        _ => StoreError::Internal(format!("{op}: unknown SDK error")),
    }
}

pub(super) fn code_error(op: &'static str, code: Option<&str>) -> StoreError {
    match code {
        Some("ConditionalCheckFailedException") => StoreError::Conflict,
        Some(code) if UNAVAILABLE_CODES.contains(&code) => {
            StoreError::Unavailable(format!("{op}: {code}"))
        }
        Some(code) => StoreError::Internal(format!("{op}: {code}")),
        None => StoreError::Internal(format!("{op}: service error without a code")),
    }
}

/// Why a transaction did not commit.
pub(super) enum TxFailure {
    /// Lost to a concurrent transaction: nothing was written; worth retrying.
    Contended,
    Failed(StoreError),
}

/// One cancellation reason, as far as the decisions need it.
#[derive(Debug, Default)]
pub(super) struct Reason {
    /// None also for the "None" real DynamoDB reports for the fine items.
    pub(super) code: Option<String>,
    /// Whether the item existed (only returned where ALL_OLD was asked for).
    pub(super) has_item: bool,
}

impl Reason {
    fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }
}

pub(super) fn condition_failed_at(reasons: &[Reason], index: usize) -> bool {
    reasons.get(index).is_some_and(Reason::condition_failed)
}

/// Classifies a failed TransactWriteItems: `decide` maps the failed
/// conditions that mean something to the operation; lost races are
/// `Contended`; any other failed condition is `Conflict`.
pub(super) fn tx_failure<R>(
    err: SdkError<TransactWriteItemsError, R>,
    decide: impl Fn(&[Reason]) -> Option<StoreError>,
) -> TxFailure {
    const OP: &str = "TransactWriteItems";
    let service = match err {
        SdkError::ServiceError(e) => e.into_err(),
        other => return TxFailure::Failed(store_error(OP, other)),
    };
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = service else {
        return match service.code() {
            Some(code) if CONTENTION_REASONS.iter().any(|r| code.starts_with(r)) => {
                TxFailure::Contended
            }
            code => TxFailure::Failed(code_error(OP, code)),
        };
    };
    let reasons: Vec<Reason> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|r| Reason {
            code: r.code().filter(|c| *c != "None").map(str::to_owned),
            has_item: r.item().is_some_and(|item| !item.is_empty()),
        })
        .collect();
    let any = |wanted: &[&str]| {
        reasons
            .iter()
            .filter_map(|r| r.code.as_deref())
            .any(|c| wanted.contains(&c))
    };
    if let Some(e) = decide(&reasons) {
        TxFailure::Failed(e)
    } else if any(CONTENTION_REASONS) {
        TxFailure::Contended
    } else if reasons.iter().any(Reason::condition_failed) {
        TxFailure::Failed(StoreError::Conflict)
    } else if any(THROTTLE_REASONS) {
        TxFailure::Failed(StoreError::Unavailable(format!(
            "{OP}: cancelled for capacity"
        )))
    } else {
        let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code.as_deref()).collect();
        TxFailure::Failed(StoreError::Internal(format!(
            "{OP}: cancelled ({})",
            codes.join(", ")
        )))
    }
}

/// create_account's Puts: user, email lock, organization, subscription, session.
pub(super) fn decide_account(reasons: &[Reason]) -> Option<StoreError> {
    condition_failed_at(reasons, 1).then_some(StoreError::EmailTaken)
}

/// A sign-in's items, the organization's MFA check first
/// (`DynamoStore::tx_not_enforcing`).
pub(super) fn decide_sign_in(reasons: &[Reason]) -> Option<StoreError> {
    condition_failed_at(reasons, 0).then_some(StoreError::MfaEnforced)
}

/// add_member's items: organization check, user, email lock, caller check.
/// A caller that changed is answered before a taken email: the request is
/// decided again on the caller as it is now.
pub(super) fn decide_member(reasons: &[Reason]) -> Option<StoreError> {
    if condition_failed_at(reasons, 0) || condition_failed_at(reasons, 3) {
        Some(StoreError::Conflict)
    } else {
        condition_failed_at(reasons, 2).then_some(StoreError::EmailTaken)
    }
}

/// change_role's items: target, organization, caller (when another user).
pub(super) fn decide_role(reasons: &[Reason]) -> Option<StoreError> {
    if condition_failed_at(reasons, 0) || condition_failed_at(reasons, 2) {
        Some(StoreError::Conflict)
    } else if condition_failed_at(reasons, 1) {
        // The organization was there: its owner count was the obstacle.
        Some(if reasons[1].has_item {
            StoreError::LastOwner
        } else {
            StoreError::Conflict
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    //! The mapping of transaction cancellations, including what only real
    //! DynamoDB sends (`"None"` reasons, `TransactionConflict`).

    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;

    use super::super::codec::s;
    use super::*;

    /// A cancellation; reasons with a `+` after their code carry an item.
    fn cancelled(codes: &[Option<&str>]) -> SdkError<TransactWriteItemsError, ()> {
        let mut e = TransactionCanceledException::builder().meta(
            ErrorMetadata::builder()
                .code("TransactionCanceledException")
                .build(),
        );
        for code in codes {
            let mut reason = CancellationReason::builder();
            if let Some(code) = code {
                reason = reason.code(code.trim_end_matches('+'));
                if code.ends_with('+') {
                    reason = reason.item("pk", s("ORG#o"));
                }
            }
            e = e.cancellation_reasons(reason.build());
        }
        SdkError::service_error(
            TransactWriteItemsError::TransactionCanceledException(e.build()),
            (),
        )
    }

    fn failed(decide: fn(&[Reason]) -> Option<StoreError>, codes: &[Option<&str>]) -> StoreError {
        match tx_failure(cancelled(codes), decide) {
            TxFailure::Failed(e) => e,
            TxFailure::Contended => panic!("contended: {codes:?}"),
        }
    }

    const NONE: Option<&str> = Some("None");
    const CCF: Option<&str> = Some("ConditionalCheckFailed");
    const CCF_ITEM: Option<&str> = Some("ConditionalCheckFailed+");
    const RACE: Option<&str> = Some("TransactionConflict");

    #[test]
    fn email_lock_condition_is_email_taken() {
        for codes in [
            [NONE, CCF, NONE, NONE, NONE],
            [None, CCF, None, None, None],
            [CCF, CCF, NONE, NONE, NONE],
            [NONE, CCF, NONE, NONE, RACE],
        ] {
            let e = failed(decide_account, &codes);
            assert!(matches!(e, StoreError::EmailTaken), "{codes:?}");
        }
        let e = failed(decide_member, &[NONE, NONE, CCF, NONE]);
        assert!(matches!(e, StoreError::EmailTaken));
    }

    #[test]
    fn other_conditions_are_conflicts() {
        for codes in [[CCF, NONE, NONE, NONE, NONE], [NONE, NONE, NONE, NONE, CCF]] {
            let e = failed(decide_account, &codes);
            assert!(matches!(e, StoreError::Conflict), "{codes:?}");
        }
        // A missing organization wins over a taken email, as in SQLite.
        let e = failed(decide_member, &[CCF, NONE, CCF, NONE]);
        assert!(matches!(e, StoreError::Conflict));
        // So does a caller that changed since read.
        let e = failed(decide_member, &[NONE, NONE, CCF, CCF]);
        assert!(matches!(e, StoreError::Conflict));
    }

    #[test]
    fn role_changes() {
        let role = |codes: &[Option<&str>]| failed(decide_role, codes);
        assert!(matches!(role(&[CCF, NONE, NONE]), StoreError::Conflict));
        assert!(matches!(role(&[NONE, NONE, CCF]), StoreError::Conflict));
        assert!(matches!(role(&[CCF, CCF_ITEM, NONE]), StoreError::Conflict));
        assert!(matches!(
            role(&[NONE, CCF_ITEM, NONE]),
            StoreError::LastOwner
        ));
        assert!(matches!(role(&[NONE, CCF_ITEM]), StoreError::LastOwner));
        // No organization at all.
        assert!(matches!(role(&[NONE, CCF, NONE]), StoreError::Conflict));
    }

    #[test]
    fn lost_races_are_contended() {
        for codes in [
            [NONE, RACE, NONE, NONE, NONE],
            [RACE, NONE, NONE, NONE, NONE],
            [None, None, Some("TransactionInProgress"), None, None],
        ] {
            assert!(
                matches!(
                    tx_failure(cancelled(&codes), decide_account),
                    TxFailure::Contended
                ),
                "{codes:?}"
            );
        }
        assert!(matches!(
            tx_failure(cancelled(&[NONE, RACE, NONE]), decide_role),
            TxFailure::Contended
        ));
    }

    #[test]
    fn capacity_and_validation_reasons() {
        let codes = [NONE, NONE, Some("ThrottlingError"), NONE, NONE];
        assert!(matches!(
            failed(decide_account, &codes),
            StoreError::Unavailable(_)
        ));
        let codes = [NONE, Some("ValidationError"), NONE, NONE, NONE];
        match failed(decide_account, &codes) {
            StoreError::Internal(msg) => {
                assert_eq!(msg, "TransactWriteItems: cancelled (ValidationError)")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn error_codes() {
        assert!(matches!(
            code_error("PutItem", Some("ConditionalCheckFailedException")),
            StoreError::Conflict
        ));
        for code in [
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "ThrottlingException",
        ] {
            match code_error("PutItem", Some(code)) {
                StoreError::Unavailable(msg) => assert_eq!(msg, format!("PutItem: {code}")),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            code_error("GetItem", Some("ValidationException")),
            StoreError::Internal(_)
        ));
        let timeout: SdkError<TransactWriteItemsError, ()> = SdkError::timeout_error("slow");
        assert!(matches!(
            tx_failure(timeout, decide_account),
            TxFailure::Failed(StoreError::Unavailable(_))
        ));
    }
}
