//! POST /user/register: a new user, its organization (the user as OWNER), a
//! free-trial subscription, a verification mail and (unless the address
//! must be verified first) a first session, in one write. An address that
//! only an unaccepted invitation holds is taken over, the invitation
//! withdrawn in the same write: a pending invitation holds no address.

use super::mail_tokens;
use super::{SessionOrigin, SignedIn, new_session, signed_in, validate};
use crate::App;
use crate::auth::password;
use crate::error::{Error, Result};
use crate::model::mail::{MailKind, Recipient};
use crate::model::{
    AuthMethod, ContactDetails, NewAccount, Organization, Subscription, SubscriptionStatus, User,
};
use crate::role::Role;
use crate::store::StoreError;

/// How often a registration is decided again when the invitation holding
/// its address changed under it.
const WITHDRAW_ATTEMPTS: usize = 3;

/// What register hands back: the account, and its session unless the
/// address must be verified before any.
#[derive(Debug, Clone)]
pub struct Registered {
    pub user: User,
    pub signed_in: Option<SignedIn>,
    /// Flashback's resend id: the account's, which the response carries
    /// anyway; resending needs no secret.
    pub verification_token_id: String,
}

/// The plan every new organization starts on, and for how long.
pub const FREE_TRIAL_PLAN_ID: &str = "free-trial";
pub const FREE_TRIAL_SECONDS: i64 = 30 * 86_400;

#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub company_name: String,
    pub company_website: Option<String>,
    pub is_business: bool,
    pub contact: ContactDetails,
    pub origin: SessionOrigin,
}

pub(super) fn validated_contact(c: &ContactDetails) -> Result<ContactDetails> {
    let field = |name: &str, v: &Option<String>| validate::optional(name, v.as_deref());
    Ok(ContactDetails {
        phone: field("phone", &c.phone)?,
        address1: field("address1", &c.address1)?,
        address2: field("address2", &c.address2)?,
        city: field("city", &c.city)?,
        state: field("state", &c.state)?,
        zipcode: field("zipcode", &c.zipcode)?,
        country: field("country", &c.country)?,
        website: field("website", &c.website)?,
    })
}

pub async fn register(app: &App, input: Registration) -> Result<Registered> {
    let email = validate::normalize_email(&input.email)?;
    password::check_strength(&input.password)?;
    let first_name = validate::name("firstName", &input.first_name)?;
    let last_name = validate::name("lastName", &input.last_name)?;
    let company_name = validate::name("companyName", &input.company_name)?;
    let company_website = validate::optional("companyWebsite", input.company_website.as_deref())?;
    let contact = validated_contact(&input.contact)?;

    let password_hash = app.passwords.hash(&input.password).await?;
    let now = app.now();
    let founded = Organization::founded(company_name, now);
    let user = User {
        name: first_name,
        last_name,
        password_hash,
        is_business: input.is_business,
        contact,
        ..User::new_account(email, founded.id.clone(), Role::Owner, now)
    };
    let organization = Organization {
        website: company_website,
        is_business: input.is_business,
        // The registration's address is the company's too (Flashback's
        // organization record carries one); the website is its own field.
        contact: ContactDetails {
            website: None,
            ..user.contact.clone()
        },
        ..founded
    };
    let subscription = free_trial(organization.id.clone(), now);
    // No session before the mailbox is proven, when so configured: a
    // registrant who cannot read the mail gets nothing to hold on to.
    let session = if app.config.mail.require_verified_email {
        None
    } else {
        Some(new_session(app, &user, input.origin)?)
    };
    let to = Recipient {
        user_id: &user.id,
        epoch: user.session_epoch,
        email: &user.email,
        name: &user.name,
        org_name: Some(&organization.name),
    };
    let verification = mail_tokens::grant(MailKind::Verification, &to, now)?;
    let mut account = NewAccount {
        user,
        organization,
        subscription,
        session: session.as_ref().map(|(s, _)| s.clone()),
        verification: Some(verification),
        withdrawn: None,
        identity: None,
    };
    create(app, &mut account).await?;
    tracing::info!(
        event = "register",
        outcome = "success",
        user_id = %account.user.id,
        org_id = %account.organization.id,
        withdrew_invitation = account.withdrawn.is_some(),
        "account created"
    );
    let signed_in = session
        .map(|(session, refresh_token)| {
            signed_in(app, account.user.clone(), &session, refresh_token)
        })
        .transpose()?;
    Ok(Registered {
        verification_token_id: account.user.id.clone(),
        user: account.user,
        signed_in,
    })
}

/// Writes the account; over an address that an unaccepted invitation
/// holds, withdraws it in the same write (decided again, a few times, if
/// the invitation changes meanwhile: accepted, it holds the address).
async fn create(app: &App, account: &mut NewAccount) -> Result<()> {
    for _ in 0..WITHDRAW_ATTEMPTS {
        match app.store.create_account(account).await {
            Ok(()) => return Ok(()),
            // The address is held, or the invitation holding it changed:
            // decided again on who holds it now.
            Err(StoreError::EmailTaken) => {}
            Err(StoreError::Conflict) if account.withdrawn.is_some() => {}
            Err(e) => return Err(e.into()),
        }
        match app.store.user_by_email(&account.user.email).await? {
            Some(pending) if pending.is_pending_invitation() => account.withdrawn = Some(pending),
            // The invitation went meanwhile: a plain registration again.
            None if account.withdrawn.is_some() => account.withdrawn = None,
            _ => return Err(Error::EmailAlreadyRegistered),
        }
    }
    Err(Error::Conflict)
}

/// Who starts a new organization from a social sign-in: what the provider
/// vouched for (register builds its own records above).
pub(crate) struct Founder {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company_name: String,
    /// The provider the account signs in with.
    pub auth_method: AuthMethod,
}

/// A social sign-in's user (as OWNER, already validated, no password), its
/// organization and the free-trial subscription.
pub(crate) fn founding_records(app: &App, f: Founder) -> (User, Organization, Subscription) {
    let now = app.now();
    let organization = Organization::founded(f.company_name, now);
    let user = User {
        name: f.first_name,
        last_name: f.last_name,
        validated: true,
        auth_method: f.auth_method,
        ..User::new_account(f.email, organization.id.clone(), Role::Owner, now)
    };
    let subscription = free_trial(organization.id.clone(), now);
    (user, organization, subscription)
}

/// A new organization's subscription: the free trial, from now.
fn free_trial(org_id: String, now: i64) -> Subscription {
    Subscription {
        org_id,
        plan_id: FREE_TRIAL_PLAN_ID.into(),
        status: SubscriptionStatus::Active,
        starts_at: now,
        ends_at: Some(now + FREE_TRIAL_SECONDS),
    }
}
