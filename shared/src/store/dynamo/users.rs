//! Users, their organizations and email locks, and the login throttle.

use super::*;
use crate::store::{InvitationReissue, MemberRemoval, UserStore};

impl DynamoStore {
    /// Withdrawing an unaccepted invitation: its member goes (only as it was
    /// read: an acceptance moves its version), and leaves its organization's
    /// owners if it was counted among them. Its tokens stay until their TTL:
    /// none is usable without the member.
    fn withdrawal(&self, pending: &User) -> StoreResult<Vec<TransactWriteItem>> {
        let (pk, sk) = user_key(&pending.id);
        let mut items = vec![
            self.tx_delete(
                key(pk, sk),
                Some(
                    Condition::new("#v = :version")
                        .name("#v", "version")
                        .value(":version", n(pending.version)),
                ),
            )?,
        ];
        if pending.org_role == Role::Owner && pending.is_active() {
            let (org_pk, org_sk) = org_key(&pending.org_id);
            items.push(
                self.tx_update(
                    key(org_pk, org_sk),
                    "SET #oc = #oc - :one",
                    Condition::new("attribute_exists(pk)")
                        .name("#oc", "ownerCount")
                        .value(":one", n(1)),
                )?,
            );
        }
        Ok(items)
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_account(&self, account: &NewAccount) -> StoreResult<()> {
        let user = &account.user;
        let proof = WriteProof::stamp(user_item(user)?)?;
        // An address only an unaccepted invitation holds: its lock moves
        // over, from that member only.
        let lock_condition = match &account.withdrawn {
            None => Condition::new(NOT_EXISTS),
            Some(pending) => Condition::new("#lu = :pending")
                .name("#lu", LOCK_USER_ID)
                .value(":pending", s(&pending.id)),
        };
        // In the order decide_account expects.
        let mut items = vec![
            self.tx_put(proof.item.clone(), Condition::new(NOT_EXISTS))?,
            self.tx_put(email_lock_item(&user.email, &user.id), lock_condition)?,
            self.tx_put(org_item(&account.organization)?, Condition::new(NOT_EXISTS))?,
            self.tx_put(
                subscription_item(&account.subscription)?,
                Condition::new(NOT_EXISTS),
            )?,
        ];
        if let Some(session) = &account.session {
            items.push(self.tx_put(session_item(session)?, Condition::new(NOT_EXISTS))?);
        }
        if let Some(grant) = &account.verification {
            items.extend(self.grant_puts(grant)?);
        }
        if let Some(pending) = &account.withdrawn {
            items.extend(self.withdrawal(pending)?);
        }
        // With an invitation withdrawn the lock exists from the start: a
        // lost race is decided on the conditions, not on the lock.
        // Last, so that decide_account's positions hold; its failure is a
        // Conflict (the identity is already linked).
        if let Some(identity) = &account.identity {
            items.push(self.tx_put(identity_item(identity)?, Condition::new(NOT_EXISTS))?);
        }
        let email = account.withdrawn.is_none().then_some(user.email.as_str());
        self.transact(items, decide_account, email, &proof).await
    }

    async fn user(&self, user_id: &str) -> StoreResult<Option<User>> {
        self.get(user_key(user_id)).await
    }

    async fn identity(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>> {
        self.get(identity_key(provider, subject)).await
    }

    async fn link_identity(&self, identity: &Identity) -> StoreResult<()> {
        self.put_once(identity_item(identity)?, Condition::new(NOT_EXISTS))
            .await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        match self.email_lock_owner(email).await? {
            Some(user_id) => self.user(&user_id).await,
            None => Ok(None),
        }
    }

    async fn organization(&self, org_id: &str) -> StoreResult<Option<Organization>> {
        self.get(org_key(org_id)).await
    }

    async fn login_lookup(&self, email: &str) -> StoreResult<LoginLookup> {
        let (lock_pk, lock_sk) = email_key(email);
        let (throttle_pk, throttle_sk) = throttle_key(email);
        let items = self
            .batch_get(vec![
                key(lock_pk.clone(), lock_sk),
                key(throttle_pk.clone(), throttle_sk),
            ])
            .await?;
        let mut lookup = LoginLookup::default();
        for item in items {
            let pk = match item.get(PK) {
                Some(AttributeValue::S(pk)) => pk.clone(),
                _ => return Err(StoreError::Internal("BatchGetItem: item without pk".into())),
            };
            if pk == lock_pk {
                lookup.user_id = Some(decode::<EmailLock>("BatchGetItem", item)?.user_id);
            } else if pk == throttle_pk {
                lookup.throttle = Some(decode("BatchGetItem", item)?);
            }
        }
        Ok(lookup)
    }

    async fn login_throttle(&self, email: &str) -> StoreResult<Option<LoginThrottle>> {
        self.get(throttle_key(email)).await
    }

    async fn put_login_throttle(
        &self,
        email: &str,
        throttle: &LoginThrottle,
        expected_failures: Option<u32>,
    ) -> StoreResult<()> {
        let condition = match expected_failures {
            None => Condition::new(NOT_EXISTS),
            Some(expected) => Condition::new("#f = :expected")
                .name("#f", "failures")
                .value(":expected", n(expected)),
        };
        self.put_once(throttle_item(email, throttle)?, condition)
            .await
    }

    async fn clear_login_throttle(&self, email: &str) -> StoreResult<()> {
        let (pk, sk) = throttle_key(email);
        self.client()
            .await
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(|e| store_error("DeleteItem", e))?;
        Ok(())
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        // Version 0 is the first one ever written: nothing can precede it.
        let Some(previous) = user.version.checked_sub(1) else {
            return Err(StoreError::Conflict);
        };
        // Email, organization and role have operations of their own that
        // keep the email lock and the owner count in step.
        let condition = Condition::new(
            "attribute_exists(pk) AND #v = :previous AND #e = :email AND #o = :org AND #r = :role",
        )
        .name("#v", "version")
        .name("#e", "email")
        .name("#o", "orgId")
        .name("#r", "orgRole")
        .value(":previous", n(previous))
        .value(":email", s(&user.email))
        .value(":org", s(&user.org_id))
        .value(":role", n(user.org_role.value()));
        self.put_once(user_item(user)?, condition).await
    }

    async fn members(&self, org_id: &str) -> StoreResult<Vec<User>> {
        // The index says who the members are; their records are then read
        // consistently, so that roles and versions are current.
        let listed = self.query_index(format!("ORG#{org_id}"), "USER#").await?;
        let keys = table_keys(listed)?;
        let users = self
            .batch_get(keys)
            .await?
            .into_iter()
            .map(|item| decode::<User>("BatchGetItem", item))
            .collect::<StoreResult<Vec<User>>>()?;
        // A user who moved organization since the index was updated is not a member.
        Ok(users.into_iter().filter(|u| u.org_id == org_id).collect())
    }

    async fn add_member(&self, addition: &MemberAddition) -> StoreResult<()> {
        let user = &addition.user;
        let (org_pk, org_sk) = org_key(&user.org_id);
        let org = if user.org_role == Role::Owner {
            self.tx_update(
                key(org_pk, org_sk),
                "SET #oc = #oc + :delta",
                Condition::new("attribute_exists(pk)")
                    .name("#oc", "ownerCount")
                    .value(":delta", n(1)),
            )?
        } else {
            self.tx_check(key(org_pk, org_sk), Condition::new("attribute_exists(pk)"))?
        };
        let (caller_pk, caller_sk) = user_key(&addition.caller_id);
        let proof = WriteProof::stamp(user_item(user)?)?;
        // In the order decide_member expects.
        let mut items = vec![
            org,
            self.tx_put(proof.item.clone(), Condition::new(NOT_EXISTS))?,
            self.tx_put(
                email_lock_item(&user.email, &user.id),
                Condition::new(NOT_EXISTS),
            )?,
            self.tx_check(
                key(caller_pk, caller_sk),
                Condition::new("#v = :version")
                    .name("#v", "version")
                    .value(":version", n(addition.caller_version)),
            )?,
        ];
        items.extend(self.invitation_count_puts(
            &user.org_id,
            &user.email,
            &addition.org_limit,
            &addition.address_limit,
        )?);
        items.extend(self.grant_puts(&addition.invitation)?);
        self.transact(items, decide_member, Some(&user.email), &proof)
            .await
    }

    async fn change_role(&self, change: &RoleChange) -> StoreResult<()> {
        let target = &change.updated;
        let Some(previous) = target.version.checked_sub(1) else {
            return Err(StoreError::Conflict);
        };
        let delta = change.owner_delta();
        // Only a demotion can take the last owner away: never below one.
        let min = if delta < 0 { 1 - delta } else { 0 };
        let org = self.owner_count_item(&target.org_id, delta, min)?;
        // In the order decide_role expects.
        let proof = WriteProof::stamp(user_item(target)?)?;
        let mut items = vec![
            self.tx_put(proof.item.clone(), members::at_version(previous))?,
            org,
        ];
        if change.caller_id != target.id {
            let (pk, sk) = user_key(&change.caller_id);
            items.push(
                self.tx_check(
                    key(pk, sk),
                    Condition::new("#v = :version")
                        .name("#v", "version")
                        .value(":version", n(change.caller_version)),
                )?,
            );
        }
        self.transact(items, decide_role, None, &proof).await
    }

    async fn change_status(&self, change: &StatusChange) -> StoreResult<()> {
        let user = &change.updated;
        let Some(previous) = user.version.checked_sub(1) else {
            return Err(StoreError::Conflict);
        };
        let org =
            self.owner_count_item(&user.org_id, change.owner_delta, change.min_owner_count())?;
        // In the order decide_role expects.
        let proof = WriteProof::stamp(user_item(user)?)?;
        let mut items = vec![
            self.tx_put(
                proof.item.clone(),
                Condition::new("attribute_exists(pk) AND #v = :previous AND #r = :role")
                    .name("#v", "version")
                    .name("#r", "orgRole")
                    .value(":previous", n(previous))
                    .value(":role", n(user.org_role.value())),
            )?,
            org,
        ];
        if let Some((caller_id, caller_version)) = &change.caller {
            let (pk, sk) = user_key(caller_id);
            items.push(self.tx_check(key(pk, sk), members::caller_at(*caller_version))?);
        }
        self.transact(items, decide_role, None, &proof).await
    }

    async fn remove_member(&self, removal: &MemberRemoval) -> StoreResult<()> {
        self.remove_member_tx(removal).await
    }

    async fn reissue_invitation(&self, reissue: &InvitationReissue) -> StoreResult<()> {
        self.reissue_invitation_tx(reissue).await
    }

    async fn update_organization(&self, org: &Organization) -> StoreResult<()> {
        self.update_organization_put(org).await
    }
}
