//! Spending a mailed link (`MAGIC_LINK`): what activation and a sign-in's
//! second factor share.

use super::{count_code_attempt, wrong_code};
use crate::App;
use crate::auth::mail_token;
use crate::error::{Error, Result};
use crate::model::LoginThrottle;
use crate::model::mfa::{LinkPurpose, MfaRecord};

/// A presented link token, trimmed; an empty or oversized one is refused
/// before anything is read or counted.
pub(super) fn presented_token(token: &str) -> Result<&str> {
    let token = token.trim();
    if token.is_empty() || token.len() > mail_token::MAX_PRESENTED_CHARS {
        return Err(Error::validation("token must be the link's token"));
    }
    Ok(token)
}

/// Counts the attempt, then checks `token` (as [`presented_token`] gives
/// it) against `record`'s unspent link
/// (its purpose, its session, unexpired) and takes it off the record (the
/// caller writes it one version on). 400
/// `INVALID_MFA_CODE` whatever is wrong; 429 over the limit.
pub(super) async fn spend_link(
    app: &App,
    record: &mut MfaRecord,
    throttle: Option<LoginThrottle>,
    purpose: LinkPurpose,
    session_id: &str,
    token: &str,
) -> Result<()> {
    let user_id = record.user_id.clone();
    count_code_attempt(app, &user_id, throttle).await?;
    let hash = mail_token::hash(token);
    let now = app.now();
    let matches = record.pending_link.as_ref().is_some_and(|link| {
        // The hashes are public-length digests of a 256-bit secret: an
        // ordinary comparison tells nothing usable.
        link.hash == hash
            && link.purpose == purpose
            && link.session_id == session_id
            && now < link.expires_at
    });
    if !matches {
        return Err(wrong_code(&user_id));
    }
    record.pending_link = None;
    Ok(())
}
