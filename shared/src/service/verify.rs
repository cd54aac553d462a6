//! Email verification and invitations: `pre-verify-email` looks at a token
//! without spending it; `verify-email` spends it, marks the address
//! verified, sets the password of an invited member who has none, and
//! signs the user in.

use super::mail_tokens::{self, presented};
use super::{SessionOrigin, SignInMethod, SignedIn, new_session, signed_in};
use crate::App;
use crate::auth::password;
use crate::error::{Error, Result};
use crate::model::AuthMethod;
use crate::model::mail::{
    ADDRESS_INVITATION_WINDOW_SECONDS, CountedLimit, MAX_ADDRESS_INVITATIONS, MailKind, MailLimit,
    Recipient, TokenPurpose,
};
use crate::store::{StoreError, UserTokens};

use super::validate;

/// How often a verification is tried again after the user changed under it.
const REDEEM_ATTEMPTS: usize = 3;
/// Resent verification mails per account per window.
pub const MAX_RESENDS: u32 = 3;
pub const RESEND_WINDOW_SECONDS: i64 = 3600;

fn invalid() -> Error {
    Error::InvalidVerificationToken
}

/// What `pre-verify-email` tells the web app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenInfo {
    /// False for an invited member with no password yet: the page asks for
    /// one, or (another `auth_method`) offers the provider's sign-in.
    pub has_password: bool,
    pub auth_method: AuthMethod,
}

pub async fn pre_verify(app: &App, token: &str) -> Result<TokenInfo> {
    let found = presented(app, token, TokenPurpose::Verify, invalid).await?;
    Ok(TokenInfo {
        has_password: !found.user.password_hash.is_empty(),
        auth_method: found.user.auth_method,
    })
}

pub async fn verify(
    app: &App,
    token: &str,
    new_password: Option<&str>,
    origin: SessionOrigin,
) -> Result<SignedIn> {
    let mut password_hash = None;
    for _ in 0..REDEEM_ATTEMPTS {
        let found = presented(app, token, TokenPurpose::Verify, invalid).await?;
        let mut user = found.user;
        // A member invited to sign in with a provider needs no password:
        // accepting proves the mailbox, and it links the provider from the
        // session this signs in (POST /auth/{provider}/link).
        let wants_password =
            user.auth_method == AuthMethod::Local || new_password.is_some_and(|p| !p.is_empty());
        if user.password_hash.is_empty() && wants_password {
            if password_hash.is_none() {
                let password = new_password.filter(|p| !p.is_empty()).ok_or_else(|| {
                    Error::validation("password is required to accept an invitation")
                })?;
                password::check_strength(password)?;
                password_hash = Some(app.passwords.hash(password).await?);
            }
            user.password_hash = password_hash.clone().unwrap_or_default();
        }
        if !user.validated {
            // The mailbox is proven now: whatever signed in before under
            // this address (a registrant who never read it) ends here, and
            // the new session starts in the next epoch.
            user.session_epoch += 1;
            user.validated = true;
        }
        user.version += 1;
        user.updated_at = app.now();
        if !(user.mfa_required || user.mfa_enroll) {
            let (session, refresh_token) = new_session(app, &user, origin.clone())?;
            match app
                .store
                .redeem_verification(&found.hash, &found.others, &user, &session)
                .await
            {
                Ok(()) => {
                    tracing::info!(event = "verify_email", outcome = "success", user_id = %user.id, org_id = %user.org_id, session_id = %session.id, "email verified");
                    return signed_in(app, user, &session, refresh_token);
                }
                // The organization enforces MFA and the member has none:
                // no session, it enrolls one first (below).
                Err(StoreError::MfaEnforced) => {}
                // Spent by a concurrent request (the next read says so), or
                // the user changed: decided again on what is stored now.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        // The link proves the mailbox, not the second factor: the token is
        // spent and the address verified, and the sign-in waits for
        // `mfa/verify-login` (or an enrollment) like any other.
        match app
            .store
            .redeem_reset(&found.hash, &found.others, &user)
            .await
        {
            Ok(()) => return super::mfa::pending_sign_in(app, user, SignInMethod::PASSWORD),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict)
}

/// `resend-verification/{id}`: another verification (or, for a member
/// without a password, invitation) mail, at most [`MAX_RESENDS`] an hour.
/// The id is register's `verificationTokenId` (the account's id). Whatever
/// the id names (nothing, a verified account, one over its limit), the
/// answer is the same: nothing is revealed.
pub async fn resend(app: &App, verification_id: &str) -> Result<()> {
    let Ok(user_id) = validate::user_id(verification_id) else {
        return Ok(());
    };
    let UserTokens {
        user, resend_limit, ..
    } = app.store.user_tokens(user_id).await?;
    let Some(user) = user.filter(|u| !u.validated && u.is_active()) else {
        return Ok(());
    };
    let now = app.now();
    let Some(limit) = MailLimit::after_one_more(
        resend_limit.as_ref(),
        now,
        MAX_RESENDS,
        RESEND_WINDOW_SECONDS,
    ) else {
        tracing::info!(event = "resend_verification", outcome = "limited", user_id = %user.id, "resend limit reached");
        return Ok(());
    };
    let invited = user.password_hash.is_empty();
    // An invitation counts toward its address's invitations, resent or not.
    let address = if invited {
        let limits = app
            .store
            .invitation_limits(&user.org_id, &user.email)
            .await?;
        let Some(address) = CountedLimit::one_more(
            limits.address.as_ref(),
            now,
            MAX_ADDRESS_INVITATIONS,
            ADDRESS_INVITATION_WINDOW_SECONDS,
        ) else {
            tracing::info!(event = "resend_verification", outcome = "limited", user_id = %user.id, "invitation limit of the address reached");
            return Ok(());
        };
        Some(address)
    } else {
        None
    };
    let org_name = if invited {
        app.store.organization(&user.org_id).await?.map(|o| o.name)
    } else {
        None
    };
    let to = Recipient {
        user_id: &user.id,
        epoch: user.session_epoch,
        email: &user.email,
        name: &user.name,
        org_name: org_name.as_deref(),
    };
    let kind = if invited {
        MailKind::Invitation
    } else {
        MailKind::Verification
    };
    let grant = mail_tokens::grant(kind, &to, now)?;
    let expected = resend_limit.as_ref().map(|l| l.count);
    match app
        .store
        .resend_verification(&limit, expected, &grant, address.as_ref())
        .await
    {
        // A concurrent resend counted first: this one mails nothing.
        Ok(()) | Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(event = "resend_verification", outcome = "accepted", user_id = %user.id, "verification mail resent");
    Ok(())
}
