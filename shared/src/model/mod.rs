//! The domain's records, as the stores keep them. Times are Unix seconds.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::role::Role;

pub mod mail;
pub mod mfa;

/// Whether an account may sign in. A deactivated account keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Inactive,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContactDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    /// Normalized: trimmed and lower-cased. Unique across the service.
    pub email: String,
    pub name: String,
    pub last_name: String,
    pub org_id: String,
    pub org_role: Role,
    /// Argon2id PHC string. Never leaves the service.
    pub password_hash: String,
    pub status: UserStatus,
    pub validated: bool,
    pub mfa_required: bool,
    pub is_business: bool,
    #[serde(default)]
    pub contact: ContactDetails,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every write; writes are conditional on the version they read.
    pub version: u64,
    /// Sessions belong to the epoch they were started in; moving it on ends
    /// every session at once, in the same write (deactivation, revoke-all,
    /// a password change or reset), with nothing to sweep and nothing that
    /// a later reactivation could revive.
    #[serde(default)]
    pub session_epoch: u64,
    /// When an administrator removed the member from its organization: the
    /// account is then inactive for good and its address free again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<i64>,
    /// How the account signs in: a password (`LOCAL`, also the default of
    /// records written before there was a choice) or a provider, for an
    /// account a social sign-in made or a member invited to use one.
    #[serde(default)]
    pub auth_method: AuthMethod,
    /// An administrator reset the member's MFA asking it to enroll again
    /// (`mfa/reset` with `enable: true`): its next sign-in is an
    /// `mfa_enroll` token whatever its organization enforces, until
    /// `mfa/verify-setup` turns a method on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa_enroll: bool,
}

/// Flashback's `authMethod` words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthMethod {
    #[default]
    Local,
    Google,
    Github,
    Microsoft,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::Local,
        AuthMethod::Google,
        AuthMethod::Github,
        AuthMethod::Microsoft,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Local => "LOCAL",
            AuthMethod::Google => "GOOGLE",
            AuthMethod::Github => "GITHUB",
            AuthMethod::Microsoft => "MICROSOFT",
        }
    }

    pub fn parse(name: &str) -> Option<AuthMethod> {
        AuthMethod::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl User {
    /// A new account's record before anything is known of it but who and
    /// where: active, unproven, no password, signing in by password, at
    /// version 1 in its first session epoch. Register, social sign-in and
    /// member creation fill in the rest.
    pub fn new_account(email: String, org_id: String, org_role: Role, now: i64) -> User {
        User {
            id: uuid::Uuid::new_v4().to_string(),
            email,
            name: String::new(),
            last_name: String::new(),
            org_id,
            org_role,
            password_hash: String::new(),
            status: UserStatus::Active,
            validated: false,
            mfa_required: false,
            is_business: false,
            contact: ContactDetails::default(),
            created_at: now,
            updated_at: now,
            version: 1,
            session_epoch: 0,
            deleted_at: None,
            auth_method: AuthMethod::Local,
            mfa_enroll: false,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }

    pub fn is_removed(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// A member invited and not yet accepted: no password, address not
    /// proven. It holds no address (a registration of it wins).
    pub fn is_pending_invitation(&self) -> bool {
        self.password_hash.is_empty() && !self.validated
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    pub is_business: bool,
    /// How many members hold OWNER; kept in step with role changes so that
    /// the last owner can never be demoted, even by concurrent requests.
    pub owner_count: u32,
    pub created_at: i64,
    /// The organization's own address and phone (`website` is above).
    #[serde(default)]
    pub contact: ContactDetails,
    /// Members without a second factor must enroll one when they sign in
    /// (an `mfa_enroll` token instead of a session); sessions that existed
    /// when it was turned on go on.
    #[serde(default)]
    pub mfa_enforced: bool,
    /// Bumped by every edit of the record; edits are conditional on it (and
    /// on `owner_count`, which role changes move without bumping it).
    #[serde(default)]
    pub version: u64,
}

impl Organization {
    /// A new organization with its founder as the one owner.
    pub fn founded(name: String, now: i64) -> Organization {
        Organization {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            website: None,
            is_business: false,
            owner_count: 1,
            created_at: now,
            contact: ContactDetails::default(),
            mfa_enforced: false,
            version: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionStatus {
    Active,
    Cancelled,
}

/// An organization's subscription to a plan. One per organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub org_id: String,
    pub plan_id: String,
    pub status: SubscriptionStatus,
    pub starts_at: i64,
    /// None: open-ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<i64>,
}

impl Subscription {
    pub fn is_active_at(&self, now: i64) -> bool {
        self.status == SubscriptionStatus::Active
            && self.starts_at <= now
            && self.ends_at.is_none_or(|end| now < end)
    }
}

/// A refresh-token family: one login and every token rotated from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The family id, returned to clients as `tokenId` and carried as `sid`.
    pub id: String,
    pub user_id: String,
    /// The user's `session_epoch` when it started: the session is live only
    /// while the user is still in that epoch.
    #[serde(default)]
    pub epoch: u64,
    /// SHA-256 of the refresh token that is valid now.
    pub token_hash: String,
    /// SHA-256 of the family secret every token of the family carries.
    #[serde(default)]
    pub family_hash: String,
    /// How many times the family has rotated: the generation of the token
    /// that is valid now. Any lower generation was rotated away.
    #[serde(default)]
    pub generation: u64,
    /// When the current token replaced the one before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<i64>,
    /// The current token's own expiry.
    pub token_expires_at: i64,
    /// The family's absolute end, whatever rotation happens.
    pub expires_at: i64,
    pub revoked: bool,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_info: Option<Value>,
    /// The client's address at sign-in, as the gateway saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// How it was started, in Flashback's words: `LOCAL` (a password or a
    /// mail link) or the provider of a social sign-in (`GOOGLE`,
    /// `MICROSOFT`). Records written before said `password`.
    #[serde(default = "password_login")]
    pub login_method: String,
    /// When a second factor last passed in this session (verify-login, or
    /// verify-setup in it): refreshes keep it, so a proof never looks newer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_at: Option<i64>,
    /// The RFC 8176 `amr` of that factor: `otp` (an authenticator's code
    /// or a backup code; records without it) or `mca` (a mailed link: a
    /// second channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_amr: Option<String>,
}

/// RFC 8176 `amr` of an authenticator's code or a backup code.
pub const AMR_OTP: &str = "otp";
/// RFC 8176 `amr` of a mailed link: proof over a second channel.
pub const AMR_MAILED_LINK: &str = "mca";

fn password_login() -> String {
    LOGIN_METHOD_PASSWORD.to_owned()
}

pub const LOGIN_METHOD_PASSWORD: &str = "LOCAL";

impl Session {
    /// Whether the session still lets its holder in: not revoked, not past
    /// its end, and started in the user's current epoch.
    pub fn is_live_for(&self, user: &User, now: i64) -> bool {
        !self.revoked
            && now < self.expires_at
            && self.user_id == user.id
            && self.epoch == user.session_epoch
    }

    /// RFC 8176 `amr` of its tokens: `pwd` (a password or a mail link) or
    /// `fed` (an outside provider), then the second factor's once one
    /// passed (`otp` or `mca`).
    pub fn amr(&self) -> Vec<&'static str> {
        let mut amr = vec![if self.login_method == LOGIN_METHOD_PASSWORD {
            "pwd"
        } else {
            "fed"
        }];
        if self.mfa_at.is_some() {
            amr.push(if self.mfa_amr.as_deref() == Some(AMR_MAILED_LINK) {
                AMR_MAILED_LINK
            } else {
                AMR_OTP
            });
        }
        amr
    }

    /// OIDC `auth_time`: the latest proof of who holds the session.
    pub fn auth_time(&self) -> i64 {
        self.mfa_at.unwrap_or(self.created_at).max(self.created_at)
    }

    /// When its holder was last seen refreshing (or signing in).
    pub fn last_activity(&self) -> i64 {
        self.rotated_at.unwrap_or(self.created_at)
    }
}

/// Failed sign-in attempts for one email address, whether or not an account
/// has that address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginThrottle {
    pub failures: u32,
    /// A failure more than the window after this (and after the lock) starts
    /// the count over.
    pub last_failure_at: i64,
    /// Attempts before this instant are refused without checking the password.
    pub locked_until: i64,
    /// When the record stops mattering and may be dropped (DynamoDB TTL).
    pub expires_at: i64,
}

/// Everything register writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub user: User,
    pub organization: Organization,
    pub subscription: Subscription,
    /// None when the address must be verified before any session.
    pub session: Option<Session>,
    /// The unaccepted invitation that held the address: withdrawn (its
    /// member deleted, written only at its `version` and still unaccepted)
    /// and the address's lock moved to `user`, in the same transaction.
    pub withdrawn: Option<User>,
    /// The verification token and its mail, written with the account.
    pub verification: Option<mail::MailGrant>,
    /// A social sign-in's provider identity, written with the account.
    pub identity: Option<Identity>,
}

/// An outside provider's account linked to ours, keyed by the provider's
/// subject id (never by email: the address at the provider may change or
/// be reassigned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// `GOOGLE`, `MICROSOFT`: also the session's `login_method`.
    pub provider: String,
    /// The provider's `sub` (Microsoft: `tid` and `oid`, stable per tenant).
    pub subject: String,
    pub user_id: String,
    /// The address the provider vouched for when it was linked.
    pub email: String,
    pub linked_at: i64,
}

/// How a capability's usage is counted: over all time, or per UTC calendar
/// period (ISO weeks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PeriodType {
    AllTime,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl PeriodType {
    pub const ALL: [PeriodType; 5] = [
        PeriodType::AllTime,
        PeriodType::Daily,
        PeriodType::Weekly,
        PeriodType::Monthly,
        PeriodType::Yearly,
    ];

    /// The key of the period that contains `now`: `all`, `2026-11-27`,
    /// `2026-W48`, `2026-11`, `2026`.
    pub fn period_key(self, now: i64) -> String {
        let date = time::OffsetDateTime::from_unix_timestamp(now)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
            .date();
        match self {
            PeriodType::AllTime => "all".into(),
            PeriodType::Daily => format!(
                "{}-{:02}-{:02}",
                date.year(),
                u8::from(date.month()),
                date.day()
            ),
            PeriodType::Weekly => {
                let (year, week, _) = date.to_iso_week_date();
                format!("{year}-W{week:02}")
            }
            PeriodType::Monthly => format!("{}-{:02}", date.year(), u8::from(date.month())),
            PeriodType::Yearly => date.year().to_string(),
        }
    }
}

/// Something a plan grants, with its limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Capability {
    pub id: String,
    /// Stable name other services record usage under: `STORAGE_TOTAL_BYTES`.
    pub code: String,
    pub description: String,
    /// What is counted: `STORAGE`, `TRAFFIC`, …
    #[serde(rename = "type")]
    pub capability_type: String,
    pub period_type: PeriodType,
    /// The most that may be used per period.
    pub limit: u64,
}

/// A plan and its capability limits: data an operator changes without a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub description: String,
    pub capabilities: Vec<Capability>,
}

/// What an organization has used of one capability in one period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageKey {
    pub org_id: String,
    pub capability: String,
    /// A [`PeriodType::period_key`].
    pub period: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_keys_are_utc_calendar_periods() {
        // 2026-11-27T08:00:00Z, a Friday in ISO week 48.
        let t = 1_795_766_400;
        assert_eq!(PeriodType::AllTime.period_key(t), "all");
        assert_eq!(PeriodType::Daily.period_key(t), "2026-11-27");
        assert_eq!(PeriodType::Weekly.period_key(t), "2026-W48");
        assert_eq!(PeriodType::Monthly.period_key(t), "2026-11");
        assert_eq!(PeriodType::Yearly.period_key(t), "2026");
        // 2027-01-01 belongs to ISO week 53 of 2026.
        assert_eq!(PeriodType::Weekly.period_key(1_798_761_600), "2026-W53");
        assert_eq!(PeriodType::Daily.period_key(1_798_761_599), "2026-12-31");
    }

    #[test]
    fn subscriptions_are_active_between_start_and_end() {
        let s = Subscription {
            org_id: "o".into(),
            plan_id: "p".into(),
            status: SubscriptionStatus::Active,
            starts_at: 10,
            ends_at: Some(20),
        };
        assert!(!s.is_active_at(9));
        assert!(s.is_active_at(10));
        assert!(!s.is_active_at(20));
        let cancelled = Subscription {
            status: SubscriptionStatus::Cancelled,
            ..s
        };
        assert!(!cancelled.is_active_at(15));
    }
}
