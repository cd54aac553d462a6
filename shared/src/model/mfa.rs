//! A user's second factors, as the store keeps them: one record per user,
//! written only at the version read (so a TOTP step or a backup code is
//! spent by exactly one of two racing requests).

use serde::{Deserialize, Serialize};

/// Flashback's `MFAType` of TOTP (an authenticator app).
pub const GOOGLE_AUTH: &str = "GOOGLE_AUTH";

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
        methods
    }

    pub fn is_enabled(&self) -> bool {
        !self.enabled_methods().is_empty()
    }
}
