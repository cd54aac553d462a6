//! The mail aggregate: mailed tokens (hashes only), their outbox records,
//! and the per-address count of reset mails.

use async_trait::async_trait;

use super::StoreResult;
use crate::model::mail::{CountedLimit, MailGrant, MailLimit, MailToken, OutboxMail};
use crate::model::{Session, User};

/// What a reset request reads first, together, whether or not the address
/// has an account.
#[derive(Debug, Clone, Default)]
pub struct ResetLookup {
    pub user_id: Option<String>,
    pub limit: Option<MailLimit>,
}

/// An account, its outstanding mailed tokens and its count of resent
/// verification mails, read together.
#[derive(Debug, Clone, Default)]
pub struct UserTokens {
    pub user: Option<User>,
    pub tokens: Vec<MailToken>,
    pub resend_limit: Option<MailLimit>,
}

/// The invitation counts an invitation is decided on: its organization's
/// and its address's, read together.
#[derive(Debug, Clone, Default)]
pub struct InvitationLimits {
    pub org: Option<MailLimit>,
    pub address: Option<MailLimit>,
}

/// What a reset request writes besides its count.
#[derive(Debug, Clone, Copy)]
pub enum ResetGrant<'a> {
    /// The address has an account: its token and mail.
    Account(&'a MailGrant),
    /// It has none: records of the same size, that nothing reads.
    StandIn(&'a MailGrant),
}

#[async_trait]
pub trait MailStore: Send + Sync {
    /// The account (if any) of `email` and its reset-mail count (if any),
    /// in one round trip.
    async fn reset_lookup(&self, email: &str) -> StoreResult<ResetLookup>;

    /// Counts one reset mail for `email`, only if its count is still
    /// `expected` (None: only if there is no count yet; `Conflict`
    /// otherwise), and writes the grant in the same transaction; a stand-in
    /// (the address has no account) is written under keys nothing reads,
    /// so that both cost the same.
    async fn request_reset(
        &self,
        email: &str,
        limit: &MailLimit,
        expected: Option<u32>,
        grant: ResetGrant<'_>,
    ) -> StoreResult<()>;

    /// Counts one more resent verification mail for the grant's user, only
    /// if its count is still `expected` (as `request_reset`), and writes the
    /// grant in the same transaction; an invitation counts toward its
    /// address's invitations too (`address`, by the same rule).
    async fn resend_verification(
        &self,
        limit: &MailLimit,
        expected: Option<u32>,
        grant: &MailGrant,
        address: Option<&CountedLimit>,
    ) -> StoreResult<()>;

    /// The invitation counts of an organization and of an address, in one
    /// round trip.
    async fn invitation_limits(&self, org_id: &str, email: &str) -> StoreResult<InvitationLimits>;

    /// The user and every token mailed to it that is still stored
    /// (expired ones included: callers check), in one consistent read.
    async fn user_tokens(&self, user_id: &str) -> StoreResult<UserTokens>;

    /// Spends a verification token and `others` of the same user with it
    /// (any purpose), writes `user` (only at version `user.version - 1`, as
    /// `update_user`) and creates `session`, all or nothing. `Conflict` when
    /// the token is gone (spent by a concurrent request) or the user changed;
    /// `MfaEnforced` when the user's organization enforces MFA (as
    /// `create_sign_in_session`: the member enrolls first).
    async fn redeem_verification(
        &self,
        token_hash: &str,
        others: &[String],
        user: &User,
        session: &Session,
    ) -> StoreResult<()>;

    /// Spends a reset token and `others` of the same user with it (any
    /// purpose), and
    /// writes `user` (version-checked), all or nothing. `Conflict` when
    /// `token_hash` is gone or the user changed.
    async fn redeem_reset(
        &self,
        token_hash: &str,
        others: &[String],
        user: &User,
    ) -> StoreResult<()>;

    /// Takes an unsent mail for delivery until `until`: None when it is
    /// sent, gone, or being delivered by another mailer.
    async fn claim_mail(&self, id: &str, now: i64, until: i64) -> StoreResult<Option<OutboxMail>>;

    /// Gives a claimed mail back (its delivery failed), for a retry.
    async fn release_mail(&self, id: &str) -> StoreResult<()>;

    /// Marks a claimed mail sent and erases its token.
    async fn mark_mail_sent(&self, id: &str, now: i64) -> StoreResult<()>;

    /// Every outbox record still kept, sent or not, oldest first.
    async fn outbox(&self) -> StoreResult<Vec<OutboxMail>>;
}
