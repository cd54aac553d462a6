//! A user's second factors, as the store keeps them: one record per user,
//! written only at the version read (so a TOTP step or a backup code is
//! spent by exactly one of two racing requests).

use serde::{Deserialize, Serialize};

/// Flashback's `MFAType` of TOTP (an authenticator app).
pub const GOOGLE_AUTH: &str = "GOOGLE_AUTH";
/// Flashback's `MFAType` of a mailed one-time link.
pub const MAGIC_LINK: &str = "MAGIC_LINK";

/// How many link mails a user may be sent in [`LINK_MAIL_WINDOW_SECONDS`]:
/// a pending sign-in must not turn the service into a mail cannon.
pub const MAX_LINK_MAILS: u32 = 5;
pub const LINK_MAIL_WINDOW_SECONDS: i64 = 900;

/// The active TOTP method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpMethod {
    /// The secret sealed under the MFA key for this user (never the plain
    /// secret: `auth::mfa_key`).
    pub sealed_secret: String,
    pub enabled: bool,
    pub verified_at: i64,
}

/// A TOTP setup not verified yet: it replaces nothing until `verify-setup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingTotp {
    pub sealed_secret: String,
    /// The backup codes shown with it (hashes), live once it is verified.
    pub backup_codes: Vec<String>,
    pub created_at: i64,
}

/// The mailed-link method, once a link proved the mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkMethod {
    pub enabled: bool,
    pub verified_at: i64,
}

/// What a mailed link may be spent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LinkPurpose {
    /// `mfa/magic-link/activate`: turns the method on.
    Activate,
    /// `mfa/verify-login`: the second factor of a pending sign-in.
    SignIn,
}

/// The one link mailed and not spent yet (a newer one replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingLink {
    /// SHA-256 of the token (`auth::mail_token`), never the token.
    pub hash: String,
    pub purpose: LinkPurpose,
    /// The session (or pending sign-in) that asked for it: only that one
    /// may spend it, so a link read by someone else opens nothing alone.
    pub session_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Link mails sent in the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkMails {
    pub window_start: i64,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaRecord {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_totp: Option<PendingTotp>,
    /// Hashes of the backup codes not used yet.
    #[serde(default)]
    pub backup_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// The last TOTP step accepted: it and every earlier step are refused
    /// from then on (no replay within a code's window).
    #[serde(default)]
    pub last_totp_step: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub magic_link: Option<LinkMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_link: Option<PendingLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_mails: Option<LinkMails>,
    /// Bumped by every write; written only where the stored one is one less
    /// (1: where none is stored).
    pub version: u64,
    pub updated_at: i64,
}

impl MfaRecord {
    pub fn new(user_id: &str) -> MfaRecord {
        MfaRecord {
            user_id: user_id.to_owned(),
            totp: None,
            pending_totp: None,
            backup_codes: Vec::new(),
            primary: None,
            last_totp_step: 0,
            magic_link: None,
            pending_link: None,
            link_mails: None,
            version: 0,
            updated_at: 0,
        }
    }

    /// The methods that are on, in Flashback's words.
    pub fn enabled_methods(&self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.totp.as_ref().is_some_and(|t| t.enabled) {
            methods.push(GOOGLE_AUTH);
        }
        if self.magic_link.as_ref().is_some_and(|m| m.enabled) {
            methods.push(MAGIC_LINK);
        }
        methods
    }

    /// Whether `method` was proven once (`verified`) and is on now
    /// (`enabled`).
    pub fn method_state(&self, method: &str) -> (bool, bool) {
        let state = match method {
            GOOGLE_AUTH => self.totp.as_ref().map(|t| t.enabled),
            MAGIC_LINK => self.magic_link.as_ref().map(|m| m.enabled),
            _ => None,
        };
        (state.is_some(), state.unwrap_or(false))
    }

    /// Turns a verified `method` on or off (nothing for one never verified).
    pub fn set_enabled(&mut self, method: &str, enabled: bool) {
        match method {
            GOOGLE_AUTH => {
                if let Some(totp) = self.totp.as_mut() {
                    totp.enabled = enabled;
                }
            }
            MAGIC_LINK => {
                if let Some(link) = self.magic_link.as_mut() {
                    link.enabled = enabled;
                }
            }
            _ => {}
        }
    }

    /// Every method, pending setup, link and backup code gone: an
    /// administrator's reset.
    pub fn clear_methods(&mut self) {
        self.totp = None;
        self.pending_totp = None;
        self.backup_codes.clear();
        self.magic_link = None;
        self.pending_link = None;
        self.primary = None;
    }

    pub fn is_enabled(&self) -> bool {
        !self.enabled_methods().is_empty()
    }
}
