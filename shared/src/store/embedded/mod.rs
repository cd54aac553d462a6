//! The embedded store: SQLite (bundled), for local runs and fast tests.
//!
//! Each record is a row with its key columns (those that constraints and
//! conditions need) and the record itself as JSON. WAL mode and a busy
//! timeout let several processes (the local server, `accounts-admin`,
//! `cargo lambda watch`'s functions) share one file; every multi-row write is
//! one `BEGIN IMMEDIATE` transaction.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{LoginLookup, MemberAddition, RoleChange, StatusChange, StoreError, StoreResult};
use crate::model::{
    Identity, LoginThrottle, NewAccount, Organization, Plan, Session, Subscription, UsageKey, User,
};
use crate::role::Role;

mod mail;
mod members;
mod mfa;
mod plans;
mod sessions;
mod settings;
mod users;

pub const DATABASE_FILE: &str = "accounts.sqlite3";

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    org_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS users_by_org ON users (org_id);
CREATE TABLE IF NOT EXISTS organizations (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
    org_id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    revoked INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS plans (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS usage_counters (
    org_id TEXT NOT NULL,
    capability TEXT NOT NULL,
    period TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (org_id, capability, period)
);
CREATE TABLE IF NOT EXISTS identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE TABLE IF NOT EXISTS login_throttles (
    email TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    data TEXT NOT NULL
);
"#;

/// Files only their owner may read.
mod private_files {
    use std::fs::{DirBuilder, OpenOptions, Permissions};
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    use super::{StoreError, StoreResult};

    const DIR_MODE: u32 = 0o700;
    const FILE_MODE: u32 = 0o600;

    fn failed(what: &str, path: &Path, e: std::io::Error) -> StoreError {
        StoreError::Internal(format!("cannot {what} {}: {e}", path.display()))
    }

    /// Creates `dir` (and missing parents) as 0700. A directory that is
    /// already there keeps its mode: it may be shared on purpose.
    pub fn create_dir(dir: &Path) -> StoreResult<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|e| failed("create", dir, e))
    }

    /// Creates `path` as an empty 0600 file unless it exists.
    pub fn create_file(path: &Path) -> StoreResult<()> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE)
            .open(path)
            .map(drop)
            .map_err(|e| failed("create", path, e))
    }

    /// Makes an existing file 0600; a missing one is fine.
    pub fn restrict(path: &Path) -> StoreResult<()> {
        match std::fs::set_permissions(path, Permissions::from_mode(FILE_MODE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(failed("restrict", path, e)),
            _ => Ok(()),
        }
    }
}

#[derive(Clone)]
pub struct EmbeddedStore {
    conn: Arc<Mutex<Connection>>,
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("sqlite: {e}"))
}

fn sqlite_error(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable("sqlite: database is busy".into())
        }
        _ => internal(e),
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(internal)
}

fn from_json<T: DeserializeOwned>(text: String) -> StoreResult<T> {
    serde_json::from_str(&text).map_err(internal)
}

impl EmbeddedStore {
    /// Opens (creating if need be) the database in `dir`. The file holds
    /// password and token hashes: a directory this creates is the owner's
    /// alone (0700), and the database and its WAL and shared-memory files
    /// are 0600 (SQLite gives those two the database file's mode).
    pub fn open_dir(dir: &Path) -> StoreResult<EmbeddedStore> {
        private_files::create_dir(dir)?;
        let path = dir.join(DATABASE_FILE);
        private_files::create_file(&path)?;
        let conn = Connection::open(&path).map_err(sqlite_error)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sqlite_error)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sqlite_error)?;
        let store = Self::with_connection(conn)?;
        // Files an older version left readable by others.
        for suffix in ["", "-wal", "-shm"] {
            private_files::restrict(&dir.join(format!("{DATABASE_FILE}{suffix}")))?;
        }
        Ok(store)
    }

    /// A private in-memory database: nothing is kept.
    pub fn in_memory() -> StoreResult<EmbeddedStore> {
        Self::with_connection(Connection::open_in_memory().map_err(sqlite_error)?)
    }

    fn with_connection(conn: Connection) -> StoreResult<EmbeddedStore> {
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sqlite_error)?;
        conn.execute_batch(SCHEMA).map_err(sqlite_error)?;
        conn.execute_batch(mail::SCHEMA).map_err(sqlite_error)?;
        conn.execute_batch(settings::SCHEMA).map_err(sqlite_error)?;
        conn.execute_batch(mfa::SCHEMA).map_err(sqlite_error)?;
        Ok(EmbeddedStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// One statement of a key and a record's JSON.
    async fn write_record(&self, sql: &'static str, key: &str, data: String) -> StoreResult<()> {
        let key = key.to_owned();
        self.run(move |conn| {
            conn.execute(sql, params![key, data])
                .map_err(sqlite_error)?;
            Ok(())
        })
        .await
    }

    /// Runs `work` on the connection, off the async threads: SQLite calls
    /// block, and may wait on another process's lock.
    async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let answer = tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| internal("connection lock poisoned"))?;
            work(&mut conn)
        });
        // Every store call lets other requests run, as a DynamoDB call
        // does: SQLite answers in microseconds, often before the handle is
        // first polled, and a request would then run from start to answer
        // without yielding once (concurrent requests could never
        // interleave, so no race between them could ever be seen).
        tokio::task::yield_now().await;
        answer.await.map_err(internal)?
    }
}

fn read_all_json<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare(sql).map_err(sqlite_error)?;
    let rows = statement
        .query_map(params, |row| row.get::<_, String>(0))
        .map_err(sqlite_error)?;
    rows.map(|row| row.map_err(sqlite_error).and_then(from_json))
        .collect()
}

fn read_json<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    key: &str,
) -> StoreResult<Option<T>> {
    conn.query_row(sql, [key], |row| row.get::<_, String>(0))
        .optional()
        .map_err(sqlite_error)?
        .map(from_json)
        .transpose()
}

/// A conditional write's outcome: it changed the one row it was for, or
/// its condition no longer held (`Conflict`).
fn one_row_changed(changed: usize) -> StoreResult<()> {
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

fn insert_user(conn: &Connection, user: &User, data: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO users (id, email, org_id, version, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user.id, user.email, user.org_id, user.version as i64, data],
    )
    .map_err(|e| unique_or(e, StoreError::EmailTaken))?;
    Ok(())
}

/// `taken` for a UNIQUE or primary-key violation, else as `sqlite_error`.
fn unique_or(e: rusqlite::Error, taken: StoreError) -> StoreError {
    if is_unique_violation(&e) {
        taken
    } else {
        sqlite_error(e)
    }
}

/// Moves the owner count by `delta`, refusing (`LastOwner`) to go below `floor`.
fn move_owner_count(conn: &Connection, org_id: &str, delta: i64, floor: i64) -> StoreResult<()> {
    let org: Option<Organization> =
        read_json(conn, "SELECT data FROM organizations WHERE id = ?1", org_id)?;
    let mut org = org.ok_or(StoreError::Conflict)?;
    let count = i64::from(org.owner_count) + delta;
    if count < floor {
        return Err(StoreError::LastOwner);
    }
    org.owner_count = count as u32;
    conn.execute(
        "UPDATE organizations SET data = ?2 WHERE id = ?1",
        params![org_id, to_json(&org)?],
    )
    .map_err(sqlite_error)?;
    Ok(())
}

/// Inside a sign-in's transaction: `MfaEnforced` when organization
/// `org_id` enforces MFA (its member enrolls before any session starts).
fn check_not_enforcing(conn: &Connection, org_id: &str) -> StoreResult<()> {
    let enforced: Option<bool> = conn
        .query_row(
            "SELECT coalesce(json_extract(data, '$.mfaEnforced'), 0) FROM organizations WHERE id = ?1",
            params![org_id],
            |row| row.get(0),
        )
        .optional()
        .map_err(sqlite_error)?;
    if enforced == Some(true) {
        return Err(StoreError::MfaEnforced);
    }
    Ok(())
}

/// Inserts a new session, inside the caller's transaction. `Conflict` if
/// its id is taken.
fn insert_session(conn: &Connection, s: &Session) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO sessions (id, user_id, token_hash, revoked, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![s.id, s.user_id, s.token_hash, s.revoked, to_json(s)?],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict
        } else {
            sqlite_error(e)
        }
    })?;
    Ok(())
}

fn current_version(conn: &Connection, user_id: &str) -> StoreResult<Option<u64>> {
    conn.query_row(
        "SELECT version FROM users WHERE id = ?1",
        [user_id],
        |row| row.get::<_, i64>(0),
    )
    .optional()
    .map_err(sqlite_error)
    .map(|v| v.map(|v| v as u64))
}

const USER_BY_ID: &str = "SELECT data FROM users WHERE id = ?1";
const USER_BY_EMAIL: &str = "SELECT data FROM users WHERE email = ?1";
const THROTTLE_BY_EMAIL: &str = "SELECT data FROM login_throttles WHERE email = ?1";

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::store::UserStore;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    }

    #[tokio::test]
    async fn the_data_directory_and_database_files_are_the_owners_alone() {
        let root = std::env::temp_dir().join(format!("accounts-perm-{}", uuid::Uuid::new_v4()));
        let dir = root.join("data");
        let store = EmbeddedStore::open_dir(&dir).unwrap();
        // A write, so that the WAL and shared-memory files exist.
        store.clear_login_throttle("ada@acme.com").await.unwrap();
        assert_eq!(mode(&dir), 0o700);
        for file in ["", "-wal", "-shm"] {
            let path = dir.join(format!("{DATABASE_FILE}{file}"));
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
        drop(store);

        // A database an older version left world-readable is tightened.
        let db = dir.join(DATABASE_FILE);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        EmbeddedStore::open_dir(&dir).unwrap();
        assert_eq!(mode(&db), 0o600);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
