//! What the mailed-token flows share: minting a token with the mail that
//! carries it, and finding a presented token among its user's outstanding ones.

use crate::App;
use crate::auth::mail_token;
use crate::error::{Error, Result};
use crate::model::User;
use crate::model::mail::{
    MailGrant, MailKind, MailToken, OUTBOX_KEEP_SECONDS, OutboxMail, RESET_TOKEN_SECONDS,
    Recipient, TokenPurpose, VERIFY_TOKEN_SECONDS,
};
use crate::store::UserTokens;

/// At most this many other tokens are spent with a presented one (one
/// DynamoDB transaction holds 100 items); any left over are of an earlier
/// epoch, or die with the one that moves it on, anyway.
const MAX_SPENT_WITH: usize = 90;

/// A presented token that is valid now: its user and its record, with the
/// user's other outstanding tokens, of any purpose.
pub(crate) struct Presented {
    pub user: User,
    pub hash: String,
    pub others: Vec<String>,
}

/// Reads the user of `token` with its tokens (one round trip) and checks
/// that `token` is among them, of `purpose`, unexpired, for the address the
/// account still has, minted in the user's current session epoch, and that
/// the account is active. `invalid` otherwise, whatever the reason, so that
/// the answer tells nothing about why.
pub(crate) async fn presented(
    app: &App,
    token: &str,
    purpose: TokenPurpose,
    invalid: fn() -> Error,
) -> Result<Presented> {
    if token.len() > mail_token::MAX_PRESENTED_CHARS {
        return Err(invalid());
    }
    let user_id = mail_token::user_id_of(token).ok_or_else(invalid)?;
    let hash = mail_token::hash(token);
    let UserTokens { user, tokens, .. } = app.store.user_tokens(&user_id).await?;
    let user = user.filter(User::is_active).ok_or_else(invalid)?;
    let now = app.now();
    let usable = |t: &MailToken| {
        t.purpose == purpose
            && now < t.expires_at
            && t.email == user.email
            && t.epoch == user.session_epoch
    };
    if !tokens.iter().any(|t| t.hash == hash && usable(t)) {
        return Err(invalid());
    }
    let others = tokens
        .iter()
        .filter(|t| t.hash != hash)
        .take(MAX_SPENT_WITH)
        .map(|t| t.hash.clone())
        .collect();
    Ok(Presented { user, hash, others })
}

/// A fresh token of `kind`'s purpose for `to`, and the mail carrying it.
pub(crate) fn grant(kind: MailKind, to: &Recipient<'_>, now: i64) -> Result<MailGrant> {
    let purpose = kind
        .purpose()
        .ok_or_else(|| Error::Internal(format!("{} mails carry no mail token", kind.name())))?;
    let minted = mail_token::mint(to.user_id)?;
    let lifetime = match purpose {
        TokenPurpose::Verify => VERIFY_TOKEN_SECONDS,
        TokenPurpose::Reset => RESET_TOKEN_SECONDS,
    };
    Ok(MailGrant {
        token: MailToken {
            hash: minted.hash,
            purpose,
            user_id: to.user_id.to_owned(),
            email: to.email.to_owned(),
            epoch: to.epoch,
            created_at: now,
            expires_at: now + lifetime,
        },
        mail: outbox_mail(kind, to, minted.token, now, now + lifetime),
    })
}

/// The outbox record that carries `token` to `to` in a mail of `kind`; the
/// link expires at `expires_at`, the record some days after.
pub(crate) fn outbox_mail(
    kind: MailKind,
    to: &Recipient<'_>,
    token: String,
    now: i64,
    expires_at: i64,
) -> OutboxMail {
    OutboxMail {
        id: uuid::Uuid::new_v4().simple().to_string(),
        kind,
        to: to.email.to_owned(),
        recipient_name: to.name.to_owned(),
        org_name: to.org_name.map(str::to_owned),
        token: Some(token),
        created_at: now,
        expires_at: expires_at + OUTBOX_KEEP_SECONDS,
        sent_at: None,
        claimed_until: None,
    }
}

/// A reset grant for `email` and an account that does not exist: what
/// a reset request for an unknown address writes (under keys nothing
/// reads), so that it costs what a known address's does.
pub(crate) fn stand_in(email: &str, now: i64) -> Result<MailGrant> {
    let nobody = uuid::Uuid::new_v4().to_string();
    let to = Recipient {
        user_id: &nobody,
        epoch: 0,
        email,
        name: "",
        org_name: None,
    };
    grant(MailKind::Reset, &to, now)
}
