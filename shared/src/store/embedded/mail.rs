//! The mail aggregate on SQLite: tokens (hashes only) by hash with their
//! user, outbox records, reset-mail counts, and the stand-ins that a reset
//! request for an unknown address writes.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    EmbeddedStore, check_not_enforcing, from_json, insert_session, one_row_changed, read_all_json,
    read_json, sqlite_error, to_json,
};
use crate::model::mail::{CountedLimit, MailGrant, MailLimit, OUTBOX_KEEP_SECONDS, OutboxMail};
use crate::model::{Session, User};
use crate::store::mail::{InvitationLimits, MailStore, ResetGrant, ResetLookup, UserTokens};
use crate::store::{StoreError, StoreResult};

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS mail_tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_tokens_by_user ON mail_tokens (user_id);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL
);
-- Keyed by address (reset mails), `verify#<user id>` (resent
-- verification mails), `invite#<address>` or `invite-org#<org id>`
-- (invitations).
CREATE TABLE IF NOT EXISTS mail_limits (
    email TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mail_stand_ins (
    id TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL,
    data TEXT NOT NULL
);
"#;

/// How long the stand-ins for an unknown address's token and mail are kept.
const STAND_IN_SECONDS: i64 = 3600;

/// Writes a grant's token and mail, inside the caller's transaction.
pub(super) fn insert_grant(conn: &Connection, grant: &MailGrant) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO mail_tokens (hash, user_id, data) VALUES (?1, ?2, ?3)",
        params![
            grant.token.hash,
            grant.token.user_id,
            to_json(&grant.token)?
        ],
    )
    .map_err(sqlite_error)?;
    insert_mail(conn, &grant.mail)
}

/// Writes a new outbox record, inside the caller's transaction.
pub(super) fn insert_mail(conn: &Connection, mail: &OutboxMail) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO outbox (id, created_at, data) VALUES (?1, ?2, ?3)",
        params![mail.id, mail.created_at, to_json(mail)?],
    )
    .map_err(sqlite_error)?;
    Ok(())
}

/// The same rows a grant writes, in a table nothing reads; old ones go.
fn insert_stand_in(conn: &Connection, grant: &MailGrant) -> StoreResult<()> {
    let now = grant.mail.created_at;
    for data in [to_json(&grant.token)?, to_json(&grant.mail)?] {
        conn.execute(
            "INSERT INTO mail_stand_ins (id, expires_at, data) VALUES (?1, ?2, ?3)",
            params![
                uuid::Uuid::new_v4().simple().to_string(),
                now + STAND_IN_SECONDS,
                data
            ],
        )
        .map_err(sqlite_error)?;
    }
    conn.execute(
        "DELETE FROM mail_stand_ins WHERE expires_at < ?1",
        params![now],
    )
    .map_err(sqlite_error)?;
    Ok(())
}

/// The `mail_limits` key of a user's resent verification mails (the
/// others are addresses).
fn resend_key(user_id: &str) -> String {
    format!("verify#{user_id}")
}

fn address_invite_key(email: &str) -> String {
    format!("invite#{email}")
}

fn org_invite_key(org_id: &str) -> String {
    format!("invite-org#{org_id}")
}

/// Writes a count only where it is still what was read, inside the
/// caller's transaction.
fn count_limit(conn: &Connection, key: &str, counted: &CountedLimit) -> StoreResult<()> {
    count_one(
        conn,
        key,
        counted.limit.count,
        &to_json(&counted.limit)?,
        counted.expected,
    )
}

/// Counts a new member's invitation for its organization and its address.
pub(super) fn count_invitation(
    conn: &Connection,
    org_id: &str,
    email: &str,
    org_limit: &CountedLimit,
    address_limit: &CountedLimit,
) -> StoreResult<()> {
    count_limit(conn, &org_invite_key(org_id), org_limit)?;
    count_limit(conn, &address_invite_key(email), address_limit)
}

/// Writes a mail count only where it is still `expected` (None: where
/// there is none). `Conflict` otherwise.
fn count_one(
    conn: &Connection,
    key: &str,
    count: u32,
    data: &str,
    expected: Option<u32>,
) -> StoreResult<()> {
    let counted = match expected {
        None => conn.execute(
            "INSERT INTO mail_limits (email, count, data) VALUES (?1, ?2, ?3)
             ON CONFLICT (email) DO NOTHING",
            params![key, count, data],
        ),
        Some(previous) => conn.execute(
            "UPDATE mail_limits SET count = ?2, data = ?3 WHERE email = ?1 AND count = ?4",
            params![key, count, data, previous],
        ),
    }
    .map_err(sqlite_error)?;
    one_row_changed(counted)
}

/// Replaces a user only at its previous version and address.
pub(super) fn write_user(conn: &Connection, user: &User) -> StoreResult<()> {
    let changed = conn
        .execute(
            "UPDATE users SET version = ?2, data = ?3 WHERE id = ?1 AND version = ?2 - 1 AND email = ?4",
            params![user.id, user.version as i64, to_json(user)?, user.email],
        )
        .map_err(sqlite_error)?;
    one_row_changed(changed)
}

/// Deletes the presented token (`Conflict` when it is gone already) and
/// `others` of the same user.
fn spend_tokens(
    conn: &Connection,
    hash: &str,
    others: &[String],
    user_id: &str,
) -> StoreResult<()> {
    if delete_token(conn, hash, user_id)? != 1 {
        return Err(StoreError::Conflict);
    }
    for other in others {
        delete_token(conn, other, user_id)?;
    }
    Ok(())
}

pub(super) fn delete_token(conn: &Connection, hash: &str, user_id: &str) -> StoreResult<usize> {
    conn.execute(
        "DELETE FROM mail_tokens WHERE hash = ?1 AND user_id = ?2",
        params![hash, user_id],
    )
    .map_err(sqlite_error)
}

fn outbox_mail(conn: &Connection, id: &str) -> StoreResult<Option<OutboxMail>> {
    read_json(conn, "SELECT data FROM outbox WHERE id = ?1", id)
}

fn put_outbox_mail(conn: &Connection, mail: &OutboxMail) -> StoreResult<()> {
    conn.execute(
        "UPDATE outbox SET data = ?2 WHERE id = ?1",
        params![mail.id, to_json(mail)?],
    )
    .map_err(sqlite_error)?;
    Ok(())
}

impl EmbeddedStore {
    /// Reads the outbox record `id` and writes back what `change` makes of
    /// it, in one transaction; `change` returns whether to write.
    async fn change_mail<T, F>(&self, id: &str, change: F) -> StoreResult<Option<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut OutboxMail) -> Option<T> + Send + 'static,
    {
        let id = id.to_owned();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            let Some(mut mail) = outbox_mail(&tx, &id)? else {
                return Ok(None);
            };
            let Some(answer) = change(&mut mail) else {
                return Ok(None);
            };
            put_outbox_mail(&tx, &mail)?;
            tx.commit().map_err(sqlite_error)?;
            Ok(Some(answer))
        })
        .await
    }
}

#[async_trait]
impl MailStore for EmbeddedStore {
    async fn reset_lookup(&self, email: &str) -> StoreResult<ResetLookup> {
        let email = email.to_owned();
        self.run(move |conn| {
            let user_id = conn
                .query_row("SELECT id FROM users WHERE email = ?1", [&email], |row| {
                    row.get::<_, String>(0)
                })
                .optional()
                .map_err(sqlite_error)?;
            let limit = read_json(
                conn,
                "SELECT data FROM mail_limits WHERE email = ?1",
                &email,
            )?;
            Ok(ResetLookup { user_id, limit })
        })
        .await
    }

    async fn request_reset(
        &self,
        email: &str,
        limit: &MailLimit,
        expected: Option<u32>,
        grant: ResetGrant<'_>,
    ) -> StoreResult<()> {
        let (email, limit_data, count) = (email.to_owned(), to_json(limit)?, limit.count);
        let (grant, stand_in) = match grant {
            ResetGrant::Account(g) => (g.clone(), false),
            ResetGrant::StandIn(g) => (g.clone(), true),
        };
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            count_one(&tx, &email, count, &limit_data, expected)?;
            if stand_in {
                insert_stand_in(&tx, &grant)?;
            } else {
                insert_grant(&tx, &grant)?;
            }
            tx.commit().map_err(sqlite_error)
        })
        .await
    }

    async fn user_tokens(&self, user_id: &str) -> StoreResult<UserTokens> {
        let user_id = user_id.to_owned();
        self.run(move |conn| {
            let user = read_json(conn, super::USER_BY_ID, &user_id)?;
            let tokens = read_all_json(
                conn,
                "SELECT data FROM mail_tokens WHERE user_id = ?1",
                [&user_id],
            )?;
            let resend_limit = read_json(
                conn,
                "SELECT data FROM mail_limits WHERE email = ?1",
                &resend_key(&user_id),
            )?;
            Ok(UserTokens {
                user,
                tokens,
                resend_limit,
            })
        })
        .await
    }

    async fn resend_verification(
        &self,
        limit: &MailLimit,
        expected: Option<u32>,
        grant: &MailGrant,
        address: Option<&CountedLimit>,
    ) -> StoreResult<()> {
        let (key, data, count) = (
            resend_key(&grant.token.user_id),
            to_json(limit)?,
            limit.count,
        );
        let (grant, address) = (grant.clone(), address.cloned());
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            count_one(&tx, &key, count, &data, expected)?;
            if let Some(address) = &address {
                count_limit(&tx, &address_invite_key(&grant.token.email), address)?;
            }
            insert_grant(&tx, &grant)?;
            tx.commit().map_err(sqlite_error)
        })
        .await
    }

    async fn invitation_limits(&self, org_id: &str, email: &str) -> StoreResult<InvitationLimits> {
        let (org, address) = (org_invite_key(org_id), address_invite_key(email));
        self.run(move |conn| {
            let read =
                |key: &str| read_json(conn, "SELECT data FROM mail_limits WHERE email = ?1", key);
            Ok(InvitationLimits {
                org: read(&org)?,
                address: read(&address)?,
            })
        })
        .await
    }

    async fn redeem_verification(
        &self,
        token_hash: &str,
        others: &[String],
        user: &User,
        session: &Session,
    ) -> StoreResult<()> {
        let (hash, user, session) = (token_hash.to_owned(), user.clone(), session.clone());
        let others = others.to_vec();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            check_not_enforcing(&tx, &user.org_id)?;
            spend_tokens(&tx, &hash, &others, &user.id)?;
            write_user(&tx, &user)?;
            insert_session(&tx, &session)?;
            tx.commit().map_err(sqlite_error)
        })
        .await
    }

    async fn redeem_reset(
        &self,
        token_hash: &str,
        others: &[String],
        user: &User,
    ) -> StoreResult<()> {
        let (hash, others, user) = (token_hash.to_owned(), others.to_vec(), user.clone());
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error)?;
            spend_tokens(&tx, &hash, &others, &user.id)?;
            write_user(&tx, &user)?;
            tx.commit().map_err(sqlite_error)
        })
        .await
    }

    async fn claim_mail(&self, id: &str, now: i64, until: i64) -> StoreResult<Option<OutboxMail>> {
        self.change_mail(id, move |mail| {
            let free = mail.sent_at.is_none() && mail.claimed_until.is_none_or(|t| t < now);
            free.then(|| {
                mail.claimed_until = Some(until);
                mail.clone()
            })
        })
        .await
    }

    async fn release_mail(&self, id: &str) -> StoreResult<()> {
        self.change_mail(id, |mail| {
            mail.claimed_until = None;
            Some(())
        })
        .await
        .map(drop)
    }

    async fn mark_mail_sent(&self, id: &str, now: i64) -> StoreResult<()> {
        self.change_mail(id, move |mail| {
            mail.sent_at = Some(now);
            mail.claimed_until = None;
            mail.token = None;
            mail.expires_at = now + OUTBOX_KEEP_SECONDS;
            Some(())
        })
        .await
        .map(drop)
    }

    async fn outbox(&self) -> StoreResult<Vec<OutboxMail>> {
        self.run(|conn| {
            let mut statement = conn
                .prepare("SELECT data FROM outbox ORDER BY created_at, id")
                .map_err(sqlite_error)?;
            let rows = statement
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(sqlite_error)?;
            rows.map(|row| row.map_err(sqlite_error).and_then(from_json))
                .collect()
        })
        .await
    }
}
