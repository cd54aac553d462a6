//! The records of mail: what a mailed token is for and how it is stored,
//! the outbox record that asks for a mail, and the per-address limits.
//! Plain data: minting a token is `service::mail_tokens`, delivery is `mail`.

use serde::{Deserialize, Serialize};

/// What a mail is for; each has its own template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailKind {
    Verification,
    Invitation,
    Reset,
    /// A link that turns the mailed-link second factor on.
    #[serde(rename = "mfa-activation")]
    MfaActivation,
    /// A link that is the second factor of a pending sign-in.
    #[serde(rename = "magic-link")]
    MagicLink,
}

impl MailKind {
    /// Which mailed token the link carries; None for the MFA links, whose
    /// token the MFA record keeps (`model::mfa::PendingLink`).
    pub fn purpose(self) -> Option<TokenPurpose> {
        match self {
            MailKind::Verification | MailKind::Invitation => Some(TokenPurpose::Verify),
            MailKind::Reset => Some(TokenPurpose::Reset),
            MailKind::MfaActivation | MailKind::MagicLink => None,
        }
    }

    /// The web app's page that the link opens.
    pub fn page(self) -> &'static str {
        match self {
            MailKind::Verification | MailKind::Invitation => TokenPurpose::Verify.page(),
            MailKind::Reset => TokenPurpose::Reset.page(),
            MailKind::MfaActivation => "mfa/activate",
            MailKind::MagicLink => "mfa/magic-link",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MailKind::Verification => "verification",
            MailKind::Invitation => "invitation",
            MailKind::Reset => "reset",
            MailKind::MfaActivation => "mfa-activation",
            MailKind::MagicLink => "magic-link",
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
    /// The user's session epoch when it was minted: a password change,
    /// reset, revoke-all or deactivation (each moves the epoch on) kills
    /// it, as it kills the sessions of that epoch.
    #[serde(default)]
    pub epoch: u64,
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
    /// The user's session epoch now (see [`MailToken::epoch`]).
    pub epoch: u64,
    pub email: &'a str,
    pub name: &'a str,
    pub org_name: Option<&'a str>,
}

/// Invitations per organization per window, and per address per window.
pub const MAX_ORG_INVITATIONS: u32 = 20;
pub const ORG_INVITATION_WINDOW_SECONDS: i64 = 3600;
pub const MAX_ADDRESS_INVITATIONS: u32 = 3;
pub const ADDRESS_INVITATION_WINDOW_SECONDS: i64 = 86_400;

/// A count to write, only where the stored one is still `expected` (None:
/// only where there is none yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedLimit {
    pub limit: MailLimit,
    pub expected: Option<u32>,
}

impl CountedLimit {
    /// One more mail over `current`, or None when `max` went out already.
    pub fn one_more(
        current: Option<&MailLimit>,
        now: i64,
        max: u32,
        window: i64,
    ) -> Option<CountedLimit> {
        Some(CountedLimit {
            limit: MailLimit::after_one_more(current, now, max, window)?,
            expected: current.map(|l| l.count),
        })
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
