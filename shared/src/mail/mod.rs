//! Mail: the tokens that mails carry, the outbox records that ask for a
//! mail, the templates they are rendered from, and the delivery loop that
//! turns outbox records into sent mail (SES on AWS, `.eml` files locally).
//!
//! A request that must mail writes the token's hash and an outbox record in
//! one transaction, and answers; delivery happens later and elsewhere
//! ([`deliver`]), so that a mail provider that is down never fails or slows
//! a request.

pub mod deliver;
pub mod render;
#[cfg(feature = "mailer")]
pub mod ses;
#[cfg(feature = "mailer")]
pub mod stream;
pub mod token;

use serde::{Deserialize, Serialize};

/// What a mail is for; each has its own template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailKind {
    Verification,
    Invitation,
    Reset,
}

impl MailKind {
    /// What the link in the mail opens, and which token it carries.
    pub fn purpose(self) -> TokenPurpose {
        match self {
            MailKind::Verification | MailKind::Invitation => TokenPurpose::Verify,
            MailKind::Reset => TokenPurpose::Reset,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MailKind::Verification => "verification",
            MailKind::Invitation => "invitation",
            MailKind::Reset => "reset",
        }
    }
}

/// What a mailed token may be spent on: a token of one purpose is refused
/// by the other's endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenPurpose {
    Verify,
    Reset,
}

impl TokenPurpose {
    /// The web app's page that the link opens.
    pub fn page(self) -> &'static str {
        match self {
            TokenPurpose::Verify => "verify-email",
            TokenPurpose::Reset => "reset-password",
        }
    }
}

/// A mailed token as stored: its hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailToken {
    /// SHA-256 of the token, base64url.
    pub hash: String,
    pub purpose: TokenPurpose,
    pub user_id: String,
    /// The address it was mailed to: it verifies that address only.
    pub email: String,
    pub created_at: i64,
    /// Refused from then on; the store may drop it some time after (TTL).
    pub expires_at: i64,
}

/// A mail waiting to go out, or gone out. The token travels in clear from
/// the request to the mailer in this record only, and is erased when the
/// mail is sent; the record itself expires (TTL) a while later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMail {
    pub id: String,
    pub kind: MailKind,
    pub to: String,
    pub recipient_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    /// The token for the link; None once sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub created_at: i64,
    /// When the record may be dropped.
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
    /// A mailer is delivering it until then; another waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_until: Option<i64>,
}

/// How long a sent (or never sent) outbox record is kept for inspection.
pub const OUTBOX_KEEP_SECONDS: i64 = 7 * 86_400;

/// A token and the mail that carries it: written together or not at all.
#[derive(Debug, Clone)]
pub struct MailGrant {
    pub token: MailToken,
    pub mail: OutboxMail,
}

/// How long a verification (or invitation) token is good for.
pub const VERIFY_TOKEN_SECONDS: i64 = 24 * 3600;
/// How long a reset token is good for.
pub const RESET_TOKEN_SECONDS: i64 = 30 * 60;

/// Who a mail goes to, and what it names.
#[derive(Debug, Clone)]
pub struct Recipient<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub org_name: Option<&'a str>,
}

impl MailGrant {
    /// A fresh token of `kind`'s purpose for `to`, and the mail carrying it.
    pub fn new(kind: MailKind, to: &Recipient<'_>, now: i64) -> crate::Result<MailGrant> {
        let minted = token::mint(to.user_id)?;
        let lifetime = match kind.purpose() {
            TokenPurpose::Verify => VERIFY_TOKEN_SECONDS,
            TokenPurpose::Reset => RESET_TOKEN_SECONDS,
        };
        Ok(MailGrant {
            token: MailToken {
                hash: minted.hash,
                purpose: kind.purpose(),
                user_id: to.user_id.to_owned(),
                email: to.email.to_owned(),
                created_at: now,
                expires_at: now + lifetime,
            },
            mail: OutboxMail {
                id: uuid::Uuid::new_v4().simple().to_string(),
                kind,
                to: to.email.to_owned(),
                recipient_name: to.name.to_owned(),
                org_name: to.org_name.map(str::to_owned),
                token: Some(minted.token),
                created_at: now,
                expires_at: now + lifetime + OUTBOX_KEEP_SECONDS,
                sent_at: None,
                claimed_until: None,
            },
        })
    }

    /// A reset grant for `email` and an account that does not exist: what
    /// a reset request for an unknown address writes (under keys nothing
    /// reads), so that it costs what a known address's does.
    pub fn stand_in(email: &str, now: i64) -> crate::Result<MailGrant> {
        let nobody = uuid::Uuid::new_v4().to_string();
        let to = Recipient {
            user_id: &nobody,
            email,
            name: "",
            org_name: None,
        };
        MailGrant::new(MailKind::Reset, &to, now)
    }
}

/// How many mails of one kind an address (or account) was sent in the
/// current window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailLimit {
    pub count: u32,
    pub window_start: i64,
    pub expires_at: i64,
}

impl MailLimit {
    /// The record after one more mail at `now`, or None when `max` mails
    /// went out in the current window already.
    pub fn after_one_more(
        current: Option<&MailLimit>,
        now: i64,
        max: u32,
        window: i64,
    ) -> Option<MailLimit> {
        match current {
            Some(l) if now - l.window_start < window => (l.count < max).then(|| MailLimit {
                count: l.count + 1,
                window_start: l.window_start,
                expires_at: l.window_start + window,
            }),
            _ => Some(MailLimit {
                count: 1,
                window_start: now,
                expires_at: now + window,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_mails_per_window_then_none_until_it_ends() {
        let mut limit = None;
        for count in 1..=3 {
            let next = MailLimit::after_one_more(limit.as_ref(), 100, 3, 3600).unwrap();
            assert_eq!(next.count, count);
            limit = Some(next);
        }
        assert_eq!(
            MailLimit::after_one_more(limit.as_ref(), 3699, 3, 3600),
            None
        );
        let fresh = MailLimit::after_one_more(limit.as_ref(), 3700, 3, 3600).unwrap();
        assert_eq!((fresh.count, fresh.window_start), (1, 3700));
    }
}
