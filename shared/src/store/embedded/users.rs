//! Users, their organizations and email locks, and the login throttle.

use super::*;
use crate::store::{InvitationReissue, MemberRemoval, UserStore};

#[async_trait]
impl UserStore for EmbeddedStore {
    async fn create_account(&self, account: &NewAccount) -> StoreResult<()> {
        let user = to_json(&account.user)?;
        let org = to_json(&account.organization)?;
        let subscription = to_json(&account.subscription)?;
        let a = account.clone();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            if let Some(pending) = &a.withdrawn {
                withdraw(&tx, pending)?;
            }
            insert_user(&tx, &a.user, &user)?;
            tx.execute(
                "INSERT INTO organizations (id, data) VALUES (?1, ?2)",
                params![a.organization.id, org],
            )
            .map_err(sqlite_error)?;
            tx.execute(
                "INSERT INTO subscriptions (org_id, data) VALUES (?1, ?2)",
                params![a.subscription.org_id, subscription],
            )
            .map_err(sqlite_error)?;
            if let Some(session) = &a.session {
                insert_session(&tx, session)?;
            }
            if let Some(grant) = &a.verification {
                mail::insert_grant(&tx, grant)?;
            }
            if let Some(identity) = &a.identity {
                insert_identity(&tx, identity)?;
            }
            tx.commit().map_err(sqlite_error)
        })
        .await
    }

    async fn user(&self, user_id: &str) -> StoreResult<Option<User>> {
        let id = user_id.to_owned();
        self.run(move |conn| read_json(conn, USER_BY_ID, &id)).await
    }

    async fn identity(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>> {
        let (provider, subject) = (provider.to_owned(), subject.to_owned());
        self.run(move |conn| {
            let data: Option<String> = conn
                .query_row(
                    "SELECT data FROM identities WHERE provider = ?1 AND subject = ?2",
                    params![provider, subject],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sqlite_error)?;
            data.map(from_json).transpose()
        })
        .await
    }

    async fn link_identity(&self, identity: &Identity) -> StoreResult<()> {
        let identity = identity.clone();
        self.run(move |conn| insert_identity(conn, &identity)).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let email = email.to_owned();
        self.run(move |conn| read_json(conn, USER_BY_EMAIL, &email))
            .await
    }

    async fn organization(&self, org_id: &str) -> StoreResult<Option<Organization>> {
        let id = org_id.to_owned();
        self.run(move |conn| read_json(conn, "SELECT data FROM organizations WHERE id = ?1", &id))
            .await
    }

    async fn login_lookup(&self, email: &str) -> StoreResult<LoginLookup> {
        let email = email.to_owned();
        self.run(move |conn| {
            Ok(LoginLookup {
                user_id: conn
                    .query_row("SELECT id FROM users WHERE email = ?1", [&email], |row| {
                        row.get(0)
                    })
                    .optional()
                    .map_err(sqlite_error)?,
                throttle: read_json(conn, THROTTLE_BY_EMAIL, &email)?,
            })
        })
        .await
    }

    async fn login_throttle(&self, email: &str) -> StoreResult<Option<LoginThrottle>> {
        let email = email.to_owned();
        self.run(move |conn| read_json(conn, THROTTLE_BY_EMAIL, &email))
            .await
    }

    async fn put_login_throttle(
        &self,
        email: &str,
        throttle: &LoginThrottle,
        expected_failures: Option<u32>,
    ) -> StoreResult<()> {
        let email = email.to_owned();
        let data = to_json(throttle)?;
        let failures = throttle.failures;
        self.run(move |conn| {
            let changed = match expected_failures {
                None => conn.execute(
                    "INSERT INTO login_throttles (email, failures, data) VALUES (?1, ?2, ?3)
                     ON CONFLICT (email) DO NOTHING",
                    params![email, failures, data],
                ),
                Some(expected) => conn.execute(
                    "UPDATE login_throttles SET failures = ?2, data = ?3
                     WHERE email = ?1 AND failures = ?4",
                    params![email, failures, data, expected],
                ),
            }
            .map_err(sqlite_error)?;
            one_row_changed(changed)
        })
        .await
    }

    async fn clear_login_throttle(&self, email: &str) -> StoreResult<()> {
        let email = email.to_owned();
        self.run(move |conn| {
            conn.execute("DELETE FROM login_throttles WHERE email = ?1", [email])
                .map_err(sqlite_error)?;
            Ok(())
        })
        .await
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let data = to_json(user)?;
        let (id, version) = (user.id.clone(), user.version as i64);
        let (email, org_id, role) = (
            user.email.clone(),
            user.org_id.clone(),
            user.org_role.value(),
        );
        self.run(move |conn| {
            // Email, organization and role have operations of their own that
            // keep the email index and the owner count in step.
            let changed = conn
                .execute(
                    "UPDATE users SET version = ?2, data = ?3
                     WHERE id = ?1 AND version = ?2 - 1 AND email = ?4 AND org_id = ?5
                       AND json_extract(data, '$.orgRole') = ?6",
                    params![id, version, data, email, org_id, role],
                )
                .map_err(sqlite_error)?;
            one_row_changed(changed)
        })
        .await
    }

    async fn members(&self, org_id: &str) -> StoreResult<Vec<User>> {
        let org_id = org_id.to_owned();
        self.run(move |conn| {
            read_all_json(conn, "SELECT data FROM users WHERE org_id = ?1", [org_id])
        })
        .await
    }

    async fn add_member(&self, addition: &MemberAddition) -> StoreResult<()> {
        let data = to_json(&addition.user)?;
        let addition = addition.clone();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            if current_version(&tx, &addition.caller_id)? != Some(addition.caller_version) {
                return Err(StoreError::Conflict);
            }
            let user = &addition.user;
            let delta = if user.org_role == Role::Owner { 1 } else { 0 };
            move_owner_count(&tx, &user.org_id, delta, 0)?;
            insert_user(&tx, user, &data)?;
            mail::count_invitation(
                &tx,
                &user.org_id,
                &user.email,
                &addition.org_limit,
                &addition.address_limit,
            )?;
            mail::insert_grant(&tx, &addition.invitation)?;
            tx.commit().map_err(sqlite_error)
        })
        .await
    }

    async fn change_role(&self, change: &RoleChange) -> StoreResult<()> {
        let data = to_json(&change.updated)?;
        let change = change.clone();
        self.run(move |conn| {
            let target = &change.updated;
            let caller = (change.caller_id != target.id)
                .then_some((change.caller_id.as_str(), change.caller_version));
            let delta = change.owner_delta();
            // Only a demotion can take the last owner away.
            let owners = OwnerMove {
                delta,
                floor: i64::from(delta < 0),
            };
            write_user_moving_owners(conn, target, &data, owners, caller)
        })
        .await
    }

    async fn change_status(&self, change: &StatusChange) -> StoreResult<()> {
        let data = to_json(&change.updated)?;
        let change = change.clone();
        self.run(move |conn| {
            let owners = OwnerMove {
                delta: change.owner_delta,
                floor: change.min_owner_count() + change.owner_delta,
            };
            let caller = change.caller.as_ref().map(|(id, v)| (id.as_str(), *v));
            write_user_moving_owners(conn, &change.updated, &data, owners, caller)
        })
        .await
    }

    async fn remove_member(&self, removal: &MemberRemoval) -> StoreResult<()> {
        let removal = removal.clone();
        self.run(move |conn| members::remove_member(conn, &removal))
            .await
    }

    async fn reissue_invitation(&self, reissue: &InvitationReissue) -> StoreResult<()> {
        let reissue = reissue.clone();
        self.run(move |conn| members::reissue_invitation(conn, &reissue))
            .await
    }

    async fn update_organization(&self, org: &Organization) -> StoreResult<()> {
        let org = org.clone();
        self.run(move |conn| members::update_organization(conn, &org))
            .await
    }
}

/// Withdraws an unaccepted invitation, inside the caller's transaction:
/// its member goes, only at the version read (`Conflict` otherwise: it was
/// accepted meanwhile), with its tokens, and leaves its organization's owners.
fn withdraw(conn: &Connection, pending: &User) -> StoreResult<()> {
    let deleted = conn
        .execute(
            "DELETE FROM users WHERE id = ?1 AND version = ?2",
            params![pending.id, pending.version as i64],
        )
        .map_err(sqlite_error)?;
    one_row_changed(deleted)?;
    conn.execute("DELETE FROM mail_tokens WHERE user_id = ?1", [&pending.id])
        .map_err(sqlite_error)?;
    if pending.org_role == Role::Owner && pending.is_active() {
        move_owner_count(conn, &pending.org_id, -1, 0)?;
    }
    Ok(())
}

/// How a user write moves its organization's owner count.
struct OwnerMove {
    delta: i64,
    /// The count may not end below this (`LastOwner`).
    floor: i64,
}

/// Writes `user` (its version already bumped) over the version before it
/// and moves the owner count, in one transaction; `Conflict` if the user, or
/// the deciding `caller` (id, version), changed since read.
fn write_user_moving_owners(
    conn: &mut Connection,
    user: &User,
    data: &str,
    owners: OwnerMove,
    caller: Option<(&str, u64)>,
) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite_error)?;
    let user_moved = current_version(&tx, &user.id)? != Some(user.version - 1);
    let caller_moved = match caller {
        Some((id, version)) => current_version(&tx, id)? != Some(version),
        None => false,
    };
    if user_moved || caller_moved {
        return Err(StoreError::Conflict);
    }
    // The organization must exist even when its count does not move.
    move_owner_count(&tx, &user.org_id, owners.delta, owners.floor)?;
    tx.execute(
        "UPDATE users SET version = ?2, data = ?3 WHERE id = ?1",
        params![user.id, user.version as i64, data],
    )
    .map_err(sqlite_error)?;
    tx.commit().map_err(sqlite_error)
}

/// `Conflict` when the identity is already linked.
fn insert_identity(conn: &Connection, identity: &Identity) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO identities (provider, subject, user_id, data) VALUES (?1, ?2, ?3, ?4)",
        params![
            identity.provider,
            identity.subject,
            identity.user_id,
            to_json(identity)?
        ],
    )
    .map_err(|e| unique_or(e, StoreError::Conflict))?;
    Ok(())
}
