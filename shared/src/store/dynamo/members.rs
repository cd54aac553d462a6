//! Running an organization: a member removed, an invitation reissued, the
//! organization's own record edited. Each is one transaction (or one
//! conditional write) over the items it must keep in step.

use super::*;
use crate::store::{InvitationReissue, MemberRemoval};

/// The record is there, at the version the write was decided on.
pub(super) fn at_version(previous: u64) -> Condition {
    Condition::new("attribute_exists(pk) AND #v = :previous")
        .name("#v", "version")
        .value(":previous", n(previous))
}

/// The caller that decided a write is still at the version it was read at.
pub(super) fn caller_at(version: u64) -> Condition {
    Condition::new("#v = :version")
        .name("#v", "version")
        .value(":version", n(version))
}

impl DynamoStore {
    /// The organization in a member's transaction: its owner count moved by
    /// `delta` from at least `min` (`ReturnValues` tell `decide_role` that
    /// the count, not the organization, was missing), or, with no move, checked.
    pub(super) fn owner_count_item(
        &self,
        org_id: &str,
        delta: i64,
        min: i64,
    ) -> StoreResult<TransactWriteItem> {
        let (org_pk, org_sk) = org_key(org_id);
        if delta == 0 {
            return self.tx_check(key(org_pk, org_sk), Condition::new("attribute_exists(pk)"));
        }
        self.tx_update(
            key(org_pk, org_sk),
            "SET #oc = #oc + :delta",
            Condition::new("attribute_exists(pk) AND #oc >= :min")
                .name("#oc", "ownerCount")
                .value(":delta", n(delta))
                .value(":min", n(min)),
        )
    }

    /// The member at its read version, the owner count (never below one),
    /// the caller at its read version, the email lock released: in the order
    /// `decide_role` reads (the lock last: a lock that is someone else's is
    /// a plain `Conflict`).
    pub(super) async fn remove_member_tx(&self, removal: &MemberRemoval) -> StoreResult<()> {
        let user = &removal.updated;
        let previous = user.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let org =
            self.owner_count_item(&user.org_id, removal.owner_delta, 1 - removal.owner_delta)?;
        let (caller_pk, caller_sk) = user_key(&removal.caller_id);
        let (lock_pk, lock_sk) = email_key(&user.email);
        let proof = WriteProof::stamp(user_item(user)?)?;
        let items = vec![
            self.tx_put(proof.item.clone(), at_version(previous))?,
            org,
            self.tx_check(key(caller_pk, caller_sk), caller_at(removal.caller_version))?,
            self.tx_delete(
                key(lock_pk, lock_sk),
                Some(
                    Condition::new("attribute_not_exists(pk) OR #u = :user")
                        .name("#u", LOCK_USER_ID)
                        .value(":user", s(&user.id)),
                ),
            )?,
        ];
        self.transact(items, decide_role, None, &proof).await
    }

    pub(super) async fn reissue_invitation_tx(
        &self,
        reissue: &InvitationReissue,
    ) -> StoreResult<()> {
        let user = &reissue.updated;
        let previous = user.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let proof = WriteProof::stamp(user_item(user)?)?;
        let mut items = vec![self.tx_put(proof.item.clone(), at_version(previous))?];
        for hash in &reissue.spent {
            items.push(self.tx_delete(Self::token_key(&user.id, hash), None)?);
        }
        items.extend(self.grant_puts(&reissue.grant)?);
        items.extend(self.invitation_count_puts(
            &user.org_id,
            &user.email,
            &reissue.org_limit,
            &reissue.address_limit,
        )?);
        self.transact(items, decide_role, None, &proof).await
    }

    /// One conditional Put: the owner count is matched, not written, so an
    /// edit that raced a role change is decided again on the new count.
    pub(super) async fn update_organization_put(&self, org: &Organization) -> StoreResult<()> {
        let previous = org.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        // Records written before versions existed have none: version 0.
        let condition = if previous == 0 {
            Condition::new(
                "attribute_exists(pk) AND #oc = :oc AND (attribute_not_exists(#v) OR #v = :previous)",
            )
        } else {
            Condition::new("attribute_exists(pk) AND #oc = :oc AND #v = :previous")
        };
        let condition = condition
            .name("#oc", "ownerCount")
            .name("#v", "version")
            .value(":oc", n(org.owner_count))
            .value(":previous", n(previous));
        self.put_once(org_item(org)?, condition).await
    }
}
