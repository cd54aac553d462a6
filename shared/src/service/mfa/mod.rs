//! Multi-factor authentication: TOTP (`GOOGLE_AUTH`) with backup codes.
//!
//! A sign-in of a user with MFA on starts no session: it answers a pending
//! token (`pending_sign_in`) that only the MFA routes accept, and
//! `verify-login` starts the session. Every code is counted before it is
//! checked (`throttle`, under `mfa:<userId>`), a TOTP step is accepted once
//! (the record's `last_totp_step`, written at the version read), and a
//! backup code is spent in the same conditional write.

pub mod admin;
mod enroll;
mod links;
mod login;
pub mod magic_link;
mod manage;
mod setup;

pub use login::{CodeSignIn, verify_login};
pub use manage::{Change, change, new_codes};
pub use setup::{SetUp, TotpSetUp, setup, verify_setup};

use super::caller::{Caller, caller};
use super::throttle::{clear_attempts, count_attempt};
use super::{SignInMethod, SignedIn};
use crate::App;
use crate::auth::access::{AccessClaims, MFA_ENROLL_TYPE, MFA_PENDING_TYPE};
use crate::auth::mfa_key::{looks_like_backup_code, normalize_backup_code};
use crate::auth::totp;
use crate::config::LoginThrottleConfig;
use crate::error::{Error, Result};
use crate::model::mfa::{GOOGLE_AUTH, MAGIC_LINK, MfaRecord, TotpMethod};
use crate::model::{AMR_MAILED_LINK, AMR_OTP, LoginThrottle, User};
use crate::store::MfaState;

/// The methods this service serves, in Flashback's words (`PASSKEY` only
/// once it is built).
pub const METHODS: [&str; 2] = [GOOGLE_AUTH, MAGIC_LINK];

/// Flashback's `maxAttempts` and `lockoutDuration`: 5 wrong codes per user
/// in 15 minutes, then 15 minutes' wait.
pub const CODE_THROTTLE: LoginThrottleConfig = LoginThrottleConfig {
    max_failures: 5,
    window_seconds: 900,
    base_lock_seconds: 900,
    max_lock_seconds: 900,
};

/// How recent a second factor must be for the changes that need a fresh
/// proof (a new setup while a method is on, a password change).
pub const FRESH_PROOF_SECONDS: i64 = 900;

/// Whether the caller's session passed a second factor within
/// [`FRESH_PROOF_SECONDS`]: what MFA changes and a password change ask for.
pub(crate) fn has_fresh_proof(app: &App, caller: &Caller) -> bool {
    caller
        .mfa_at
        .is_some_and(|at| app.now() - at <= FRESH_PROOF_SECONDS)
}

/// Where a user's code attempts are counted, beside the login throttle's
/// records (an address never starts with `mfa:`).
pub(crate) fn throttle_key(user_id: &str) -> String {
    format!("mfa:{user_id}")
}

/// `GET /mfa/status`.
#[derive(Debug, Clone)]
pub struct MfaStatus {
    pub is_enabled: bool,
    pub is_required: bool,
    pub is_enforced: bool,
    pub enabled_methods: Vec<&'static str>,
    pub primary_method: Option<String>,
    pub session_verified: bool,
}

/// A pending sign-in's token: 5 minutes, the session id it may start, how
/// the first factor was given. `mfa_pending` for a user with MFA on (it
/// gives its second factor at `mfa/verify-login`); `mfa_enroll` for one
/// without (its organization enforces MFA, or an administrator's reset asks
/// for it), which sets a factor up first (`mfa/setup`, `mfa/verify-setup`).
pub(crate) fn pending_sign_in(app: &App, user: User, method: SignInMethod) -> Result<SignedIn> {
    let session_id = crate::auth::refresh::new_session_id();
    let (token_type, outcome) = if user.mfa_required {
        (MFA_PENDING_TYPE, "mfa_required")
    } else {
        (MFA_ENROLL_TYPE, "mfa_enroll")
    };
    let pending = app.access_tokens.issue_pending(
        &user,
        token_type,
        &session_id,
        method.login_method,
        app.now(),
    )?;
    tracing::info!(event = method.event, outcome, user_id = %user.id, org_id = %user.org_id, "first factor passed; second factor required");
    Ok(SignedIn {
        access_token: pending.token,
        refresh_token: None,
        session_id: None,
        mfa_required: true,
        expires_at: pending.expires_at,
        user,
        verification_token_id: None,
    })
}

/// The account a pending token names, as the store has it now, with its
/// MFA record and code attempts (one read).
async fn pending_state(app: &App, claims: &AccessClaims) -> Result<(User, MfaState)> {
    let mut state = app
        .store
        .mfa_state(&claims.sub, &throttle_key(&claims.sub))
        .await?;
    let user = state
        .user
        .take()
        .filter(|u| u.org_id == claims.org_id && u.is_active())
        .ok_or(Error::InvalidToken)?;
    Ok((user, state))
}

/// A full token's caller (its session checked) and its MFA state, read
/// together.
async fn caller_state(app: &App, claims: AccessClaims) -> Result<(Caller, MfaState)> {
    let key = throttle_key(&claims.sub);
    let user_id = claims.sub.clone();
    let (caller, state) = tokio::join!(caller(app, claims), app.store.mfa_state(&user_id, &key));
    Ok((caller?, state?))
}

/// That the caller may go on: a full token's session is live, a pending
/// token's account still signs in (one read either way).
pub async fn check_caller(app: &App, claims: AccessClaims) -> Result<()> {
    if claims.is_pending() {
        pending_state(app, &claims).await.map(drop)
    } else {
        caller(app, claims).await.map(drop)
    }
}

pub async fn status(app: &App, claims: AccessClaims) -> Result<MfaStatus> {
    // The organization is read alongside (the token names it; the caller's
    // check below makes sure it is still the caller's): one round trip.
    let org_id = claims.org_id.clone();
    let read_org = app.store.organization(&org_id);
    let ((user, record, session_verified), org) = if claims.is_pending() {
        let (state, org) = tokio::join!(pending_state(app, &claims), read_org);
        let (user, state) = state?;
        ((user, state.record, false), org?)
    } else {
        let (state, org) = tokio::join!(caller_state(app, claims), read_org);
        let (caller, state) = state?;
        let verified = caller.mfa_at.is_some();
        ((caller.user, state.record, verified), org?)
    };
    let is_enforced = org.is_some_and(|o| o.mfa_enforced);
    let record = record.unwrap_or_else(|| MfaRecord::new(&user.id));
    let enabled_methods = record.enabled_methods();
    let is_enabled = !enabled_methods.is_empty();
    Ok(MfaStatus {
        is_enabled,
        is_required: is_enabled || is_enforced || user.mfa_enroll,
        is_enforced,
        primary_method: record.primary.clone().filter(|_| is_enabled),
        enabled_methods,
        session_verified,
    })
}

/// What a correct code does to the record: the TOTP step it used, or the
/// backup code it spent.
enum Accepted {
    Step(i64),
    BackupCode(usize),
}

impl Accepted {
    /// Spends it on `record`: no step up to this one, nor this backup code,
    /// is accepted again.
    fn spend(self, record: &mut MfaRecord) {
        match self {
            Accepted::Step(step) => record.last_totp_step = step,
            Accepted::BackupCode(index) => {
                record.backup_codes.remove(index);
            }
        }
    }
}

/// Counts one code attempt of `user_id` (before anything is checked): 429
/// over the limit.
async fn count_code_attempt(
    app: &App,
    user_id: &str,
    throttle: Option<LoginThrottle>,
) -> Result<()> {
    count_attempt(app, &throttle_key(user_id), throttle, &CODE_THROTTLE)
        .await
        .inspect_err(|_| {
            tracing::info!(
                event = "mfa_code",
                outcome = "throttled",
                user_id,
                "code refused: too many attempts"
            );
        })
}

/// Counts the attempt, then checks `code` against the TOTP secret sealed
/// in `sealed` (a step after the last accepted one; None: no TOTP on) or,
/// with `backup_codes`, against the unused backup codes. Wrong: 400
/// `INVALID_MFA_CODE`; over the limit: 429.
async fn check_code(
    app: &App,
    user_id: &str,
    throttle: Option<LoginThrottle>,
    sealed: Option<&str>,
    last_step: i64,
    backup_codes: Option<&[String]>,
    code: &str,
) -> Result<Accepted> {
    count_code_attempt(app, user_id, throttle).await?;
    let key = app.mfa_key()?;
    let code = code.trim();
    let accepted = if code.len() == totp::DIGITS as usize {
        let Some(sealed) = sealed else {
            return Err(wrong_code(user_id));
        };
        let secret = key.open(user_id, sealed)?;
        totp::matching_step(&secret, code, app.now())
            .filter(|step| *step > last_step)
            .map(Accepted::Step)
    } else if let Some(codes) = backup_codes.filter(|_| looks_like_backup_code(code)) {
        let hash = key.backup_code_hash(user_id, &normalize_backup_code(code));
        codes
            .iter()
            .position(|h| *h == hash)
            .map(Accepted::BackupCode)
    } else {
        None
    };
    accepted.ok_or_else(|| wrong_code(user_id))
}

/// A wrong or spent code (or link), logged.
fn wrong_code(user_id: &str) -> Error {
    tracing::info!(
        event = "mfa_code",
        outcome = "failure",
        user_id,
        "wrong or spent MFA code"
    );
    Error::InvalidMfaCode
}

/// RFC 8176 `amr` of a second factor of `method`.
fn amr_of(method: &str) -> &'static str {
    if method == MAGIC_LINK {
        AMR_MAILED_LINK
    } else {
        AMR_OTP
    }
}

/// What `mfa/verify-setup` did: the record as written and, for an
/// enrollment (an `mfa_enroll` token), the session it started.
#[derive(Debug, Clone)]
pub struct SetUpVerified {
    pub record: MfaRecord,
    pub signed_in: Option<SignedIn>,
}

/// `record`'s pending setup, proven by `code` (counted before it is
/// checked): the record with it on, primary if it is the first, its backup
/// codes the live ones, one version on.
pub(super) async fn proven_setup(
    app: &App,
    user_id: &str,
    record: Option<MfaRecord>,
    throttle: Option<LoginThrottle>,
    code: &str,
) -> Result<MfaRecord> {
    let mut record = record.ok_or(Error::MfaNotSetUp)?;
    let pending = record.pending_totp.clone().ok_or(Error::MfaNotSetUp)?;
    let Accepted::Step(step) = check_code(
        app,
        user_id,
        throttle,
        Some(&pending.sealed_secret),
        // A new secret: no step of it was accepted before.
        0,
        None,
        code,
    )
    .await?
    else {
        return Err(Error::InvalidMfaCode);
    };
    let now = app.now();
    record.totp = Some(TotpMethod {
        sealed_secret: pending.sealed_secret,
        enabled: true,
        verified_at: now,
    });
    record.backup_codes = pending.backup_codes;
    record.pending_totp = None;
    record.primary.get_or_insert_with(|| GOOGLE_AUTH.to_owned());
    record.last_totp_step = step;
    record.version += 1;
    record.updated_at = now;
    Ok(record)
}

/// After a correct code: the count starts over.
async fn clear_code_attempts(app: &App, user_id: &str) -> Result<()> {
    clear_attempts(app, &throttle_key(user_id)).await
}

/// `mfaType` as sent: only the methods served.
fn method_of(mfa_type: &str) -> Result<&'static str> {
    METHODS
        .into_iter()
        .find(|m| *m == mfa_type)
        .ok_or_else(|| Error::validation("mfaType must be GOOGLE_AUTH or MAGIC_LINK"))
}
