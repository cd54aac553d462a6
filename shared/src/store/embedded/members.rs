//! Running an organization: a member removed, an invitation reissued, the
//! organization's own record edited, each one `BEGIN IMMEDIATE` transaction.

use super::*;
use crate::store::{InvitationReissue, MemberRemoval};

/// What a removed member's `email` column holds instead of its address: no
/// address has this form, so the address is free and the row still unique.
fn released_email(user_id: &str) -> String {
    format!("removed:{user_id}")
}

pub(super) fn remove_member(conn: &mut Connection, removal: &MemberRemoval) -> StoreResult<()> {
    let user = &removal.updated;
    let data = to_json(user)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite_error)?;
    if current_version(&tx, &user.id)? != Some(user.version - 1)
        || current_version(&tx, &removal.caller_id)? != Some(removal.caller_version)
    {
        return Err(StoreError::Conflict);
    }
    // Only an owner leaving can take the last one away.
    let floor = i64::from(removal.owner_delta < 0);
    move_owner_count(&tx, &user.org_id, removal.owner_delta, floor)?;
    tx.execute(
        "UPDATE users SET version = ?2, data = ?3, email = ?4 WHERE id = ?1",
        params![user.id, user.version as i64, data, released_email(&user.id)],
    )
    .map_err(sqlite_error)?;
    tx.commit().map_err(sqlite_error)
}

pub(super) fn reissue_invitation(
    conn: &mut Connection,
    reissue: &InvitationReissue,
) -> StoreResult<()> {
    let user = &reissue.updated;
    let data = to_json(user)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite_error)?;
    let changed = tx
        .execute(
            "UPDATE users SET version = ?2, data = ?3 WHERE id = ?1 AND version = ?2 - 1",
            params![user.id, user.version as i64, data],
        )
        .map_err(sqlite_error)?;
    one_row_changed(changed)?;
    for hash in &reissue.spent {
        mail::delete_token(&tx, hash, &user.id)?;
    }
    mail::insert_grant(&tx, &reissue.grant)?;
    mail::count_invitation(
        &tx,
        &user.org_id,
        &user.email,
        &reissue.org_limit,
        &reissue.address_limit,
    )?;
    tx.commit().map_err(sqlite_error)
}

pub(super) fn update_organization(conn: &mut Connection, org: &Organization) -> StoreResult<()> {
    let previous = org.version.checked_sub(1).ok_or(StoreError::Conflict)?;
    let changed = conn
        .execute(
            "UPDATE organizations SET data = ?2 WHERE id = ?1
               AND json_extract(data, '$.ownerCount') = ?3
               AND coalesce(json_extract(data, '$.version'), 0) = ?4",
            params![org.id, to_json(org)?, org.owner_count, previous as i64],
        )
        .map_err(sqlite_error)?;
    one_row_changed(changed)
}
