//! Running an organization: a member removed, an invitation reissued, the
//! organization's own record edited. Each is one transaction (or one
//! conditional write) over the items it must keep in step.

use super::*;
use crate::store::{InvitationReissue, MemberRemoval};

impl DynamoStore {
    /// The member at its read version, the owner count (never below one),
    /// the caller at its read version, the email lock released: in the order
    /// `decide_role` reads (the lock last: a lock that is someone else's is
    /// a plain `Conflict`).
    pub(super) async fn remove_member_tx(&self, removal: &MemberRemoval) -> StoreResult<()> {
        let user = &removal.updated;
        let previous = user.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let (org_pk, org_sk) = org_key(&user.org_id);
        let org = if removal.owner_delta == 0 {
            self.tx_check(key(org_pk, org_sk), Condition::new("attribute_exists(pk)"))?
        } else {
            self.tx_update(
                key(org_pk, org_sk),
                "SET #oc = #oc + :delta",
                Condition::new("attribute_exists(pk) AND #oc >= :min")
                    .name("#oc", "ownerCount")
                    .value(":delta", n(removal.owner_delta))
                    .value(":min", n(1 - removal.owner_delta)),
            )?
        };
        let (caller_pk, caller_sk) = user_key(&removal.caller_id);
        let (lock_pk, lock_sk) = email_key(&user.email);
        let proof = WriteProof::stamp(user_item(user)?)?;
        let items = vec![
            self.tx_put(
                proof.item.clone(),
                Condition::new("attribute_exists(pk) AND #v = :previous")
                    .name("#v", "version")
                    .value(":previous", n(previous)),
            )?,
            org,
            self.tx_check(
                key(caller_pk, caller_sk),
                Condition::new("#v = :version")
                    .name("#v", "version")
                    .value(":version", n(removal.caller_version)),
            )?,
            self.tx_delete_if(
                key(lock_pk, lock_sk),
                Condition::new("attribute_not_exists(pk) OR #u = :user")
                    .name("#u", LOCK_USER_ID)
                    .value(":user", s(&user.id)),
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
        let mut items = vec![
            self.tx_put(
                proof.item.clone(),
                Condition::new("attribute_exists(pk) AND #v = :previous")
                    .name("#v", "version")
                    .value(":previous", n(previous)),
            )?,
        ];
        for hash in &reissue.spent {
            items.push(self.tx_delete(Self::token_key(&user.id, hash), None)?);
        }
        items.extend(self.grant_puts(&reissue.grant)?);
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

    fn tx_delete_if(&self, key: Item, condition: Condition) -> StoreResult<TransactWriteItem> {
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(condition.names)
            .set_expression_attribute_values(condition.values)
            .build()
            .map_err(|_| StoreError::Internal("TransactWriteItems: invalid Delete".into()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}
