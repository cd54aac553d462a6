//! `MAGIC_LINK`: a mailed one-time link as the second factor. Setting it up
//! mails an activation link (`mfa/setup`, then `mfa/magic-link/activate`);
//! a pending sign-in asks for a sign-in link (`mfa/magic-link/send`) and
//! spends it at `mfa/verify-login`. A link is bound to the session (or
//! pending sign-in) that asked for it, so the mail alone opens nothing; its
//! token is kept in the MFA record as a hash only and spent in the record's
//! own conditional write, so of two racing requests one wins. Every token
//! presented is counted before it is checked, with the codes
//! (`mfa:<userId>`); mails are capped per user ([`MAX_LINK_MAILS`]).

use super::enroll;
use super::links::{presented_token, spend_link};
use super::manage::{proven_record, turn_on};
use super::{SetUpVerified, caller_state, pending_state, wrong_code};
use crate::App;
use crate::auth::access::{AccessClaims, MFA_ENROLL_TYPE, MFA_PENDING_TYPE};
use crate::auth::mail_token;
use crate::error::{Error, Result};
use crate::model::mail::{MailKind, RESET_TOKEN_SECONDS, Recipient};
use crate::model::mfa::{
    LINK_MAIL_WINDOW_SECONDS, LinkMails, LinkMethod, LinkPurpose, MAGIC_LINK, MAX_LINK_MAILS,
    MfaRecord, PendingLink,
};
use crate::model::{AMR_MAILED_LINK, User};
use crate::service::{mail_tokens, may_sign_in};
use crate::store::StoreError;

/// How long an activation link is good for (a reset link's 30 minutes).
const ACTIVATION_SECONDS: i64 = RESET_TOKEN_SECONDS;

/// Where a link was mailed (`mfa/setup` and `mfa/magic-link/send`).
#[derive(Debug, Clone)]
pub struct LinkSent {
    pub email: String,
}

/// Counts one more link mail on `record`: 429 `TOO_MANY_ATTEMPTS` with the
/// wait when the window's mails are spent.
fn count_mail(record: &mut MfaRecord, now: i64) -> Result<()> {
    let mails = match record.link_mails {
        Some(m) if now - m.window_start < LINK_MAIL_WINDOW_SECONDS => m,
        _ => LinkMails {
            window_start: now,
            count: 0,
        },
    };
    if mails.count >= MAX_LINK_MAILS {
        let wait = mails.window_start + LINK_MAIL_WINDOW_SECONDS - now;
        tracing::info!(event = "mfa_link_mail", outcome = "throttled", user_id = %record.user_id, "link mail refused: too many in the window");
        return Err(Error::TooManyAttempts {
            retry_after_seconds: wait.max(1) as u64,
        });
    }
    record.link_mails = Some(LinkMails {
        count: mails.count + 1,
        ..mails
    });
    Ok(())
}

/// Mints a link of `purpose` for `session_id` onto `record` (replacing any
/// unspent one) and writes it with the mail that carries it, together.
async fn mail_link(
    app: &App,
    user: &User,
    mut record: MfaRecord,
    purpose: LinkPurpose,
    session_id: &str,
    expires_at: i64,
) -> Result<LinkSent> {
    let now = app.now();
    count_mail(&mut record, now)?;
    let minted = mail_token::mint(&user.id)?;
    record.pending_link = Some(PendingLink {
        hash: minted.hash,
        purpose,
        session_id: session_id.to_owned(),
        created_at: now,
        expires_at,
    });
    record.version += 1;
    record.updated_at = now;
    let kind = match purpose {
        LinkPurpose::Activate => MailKind::MfaActivation,
        LinkPurpose::SignIn => MailKind::MagicLink,
    };
    let to = Recipient {
        user_id: &user.id,
        epoch: user.session_epoch,
        email: &user.email,
        name: &user.name,
        org_name: None,
    };
    let mail = mail_tokens::outbox_mail(kind, &to, minted.token, now, expires_at);
    match app.store.put_mfa_with_mail(&record, &mail).await {
        Ok(()) => {}
        // Another MFA change got there first: decided again by the client.
        Err(StoreError::Conflict) => return Err(Error::Conflict),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(event = "mfa_link_mail", outcome = "queued", user_id = %user.id, org_id = %user.org_id, kind = kind.name(), mail_id = %mail.id, "MFA link mailed");
    Ok(LinkSent {
        email: user.email.clone(),
    })
}

/// `POST /mfa/setup` `{"mfaType": "MAGIC_LINK", "code"?}`: mails an
/// activation link to the account's address, bound to the caller's session
/// (an enrollment's: its pending sign-in). While a method is on, a fresh
/// proof first, as for any new setup.
pub(super) async fn setup(app: &App, claims: AccessClaims, code: Option<&str>) -> Result<LinkSent> {
    let session_id = claims.sid.clone();
    let (user, record) = if claims.token_type == MFA_ENROLL_TYPE {
        enroll::enrolling(app, &claims).await?
    } else {
        let (caller, record) = proven_record(app, claims, code).await?;
        (caller.user, record)
    };
    let expires_at = app.now() + ACTIVATION_SECONDS;
    mail_link(
        app,
        &user,
        record,
        LinkPurpose::Activate,
        &session_id,
        expires_at,
    )
    .await
}

/// `POST /mfa/magic-link/send` with a pending sign-in's token: mails a
/// sign-in link, good while the pending token is.
pub async fn send(app: &App, claims: AccessClaims) -> Result<LinkSent> {
    if claims.token_type != MFA_PENDING_TYPE {
        return Err(Error::MfaRequired);
    }
    let (user, state) = pending_state(app, &claims).await?;
    may_sign_in(app, &user, "mfa_link_mail")?;
    let record = state
        .record
        .filter(|r| r.method_state(MAGIC_LINK).1)
        .ok_or(Error::MfaNotSetUp)?;
    mail_link(
        app,
        &user,
        record,
        LinkPurpose::SignIn,
        &claims.sid,
        claims.exp,
    )
    .await
}

/// `POST /mfa/magic-link/activate` `{"token"}` (and `mfa/verify-setup`
/// with `mfaType` `MAGIC_LINK`, the token as `code`): the activation link
/// mailed to this session turns the method on (primary if it is the
/// first), every other session of the user ends and this one counts as
/// having passed it now. With an enrollment's token, the session starts
/// here, as at an enrollment's verify-setup.
pub async fn activate(
    app: &App,
    claims: AccessClaims,
    token: &str,
    ip_address: Option<String>,
) -> Result<SetUpVerified> {
    let token = presented_token(token)?;
    let enrolling = claims.token_type == MFA_ENROLL_TYPE;
    let session_id = claims.sid.clone();
    let (user, state) = if enrolling {
        enroll::enrolling_state(app, &claims, "mfa_enroll").await?
    } else {
        let (caller, state) = caller_state(app, claims.clone()).await?;
        (caller.user, state)
    };
    let mut record = state.record.ok_or_else(|| wrong_code(&user.id))?;
    spend_link(
        app,
        &mut record,
        state.throttle,
        LinkPurpose::Activate,
        &session_id,
        token,
    )
    .await?;
    turn_link_on(&mut record, app.now());
    if enrolling {
        return enroll::finish(app, user, claims, record, ip_address, MAGIC_LINK).await;
    }
    let user_id = user.id.clone();
    turn_on(app, user, &record, &session_id, AMR_MAILED_LINK).await?;
    tracing::info!(event = "mfa_setup", outcome = "success", user_id = %user_id, mfa_type = MAGIC_LINK, "MFA turned on; other sessions ended");
    Ok(SetUpVerified {
        record,
        signed_in: None,
    })
}

/// The method on (primary if it is the first), one version on.
fn turn_link_on(record: &mut MfaRecord, now: i64) {
    record.magic_link = Some(LinkMethod {
        enabled: true,
        verified_at: now,
    });
    record.primary.get_or_insert_with(|| MAGIC_LINK.to_owned());
    record.version += 1;
    record.updated_at = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_mails_are_capped_per_window() {
        let mut record = MfaRecord::new("u");
        for _ in 0..MAX_LINK_MAILS {
            count_mail(&mut record, 1_000).unwrap();
        }
        match count_mail(&mut record, 1_100) {
            Err(Error::TooManyAttempts {
                retry_after_seconds,
            }) => assert_eq!(retry_after_seconds, 800),
            other => panic!("expected 429, got {other:?}"),
        }
        // A new window starts once the old one is over.
        count_mail(&mut record, 1_000 + LINK_MAIL_WINDOW_SECONDS).unwrap();
        assert_eq!(record.link_mails.unwrap().count, 1);
    }
}
