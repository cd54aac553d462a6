//! POST /user/register: a new user, its organization (the user as OWNER), a
//! free-trial subscription and a first session, in one write.

use uuid::Uuid;

use super::mail_tokens;
use super::{SessionOrigin, SignedIn, new_session, signed_in, validate};
use crate::App;
use crate::auth::password;
use crate::error::Result;
use crate::model::mail::{MailKind, Recipient};
use crate::model::{
    ContactDetails, NewAccount, Organization, Subscription, SubscriptionStatus, User, UserStatus,
};
use crate::role::Role;

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

pub async fn register(app: &App, input: Registration) -> Result<SignedIn> {
    let email = validate::normalize_email(&input.email)?;
    password::check_strength(&input.password)?;
    let first_name = validate::name("firstName", &input.first_name)?;
    let last_name = validate::name("lastName", &input.last_name)?;
    let company_name = validate::name("companyName", &input.company_name)?;
    let company_website = validate::optional("companyWebsite", input.company_website.as_deref())?;
    let contact = validated_contact(&input.contact)?;

    let password_hash = app.passwords.hash(&input.password).await?;
    let now = app.now();
    let user_id = Uuid::new_v4().to_string();
    let org_id = Uuid::new_v4().to_string();
    let user = User {
        id: user_id.clone(),
        email,
        name: first_name,
        last_name,
        org_id: org_id.clone(),
        org_role: Role::Owner,
        password_hash,
        status: UserStatus::Active,
        validated: false,
        mfa_required: false,
        is_business: input.is_business,
        contact,
        created_at: now,
        updated_at: now,
        version: 1,
        session_epoch: 0,
        deleted_at: None,
    };
    let organization = Organization {
        id: org_id.clone(),
        name: company_name,
        website: company_website,
        is_business: input.is_business,
        owner_count: 1,
        created_at: now,
        // The registration's address is the company's too (Flashback's
        // organization record carries one); the website is its own field.
        contact: ContactDetails {
            website: None,
            ..user.contact.clone()
        },
        mfa_enforced: false,
        version: 0,
    };
    let subscription = Subscription {
        org_id,
        plan_id: FREE_TRIAL_PLAN_ID.into(),
        status: SubscriptionStatus::Active,
        starts_at: now,
        ends_at: Some(now + FREE_TRIAL_SECONDS),
    };
    let (session, refresh_token) = new_session(app, &user, input.origin)?;
    let to = Recipient {
        user_id: &user.id,
        email: &user.email,
        name: &user.name,
        org_name: Some(&organization.name),
    };
    let verification = mail_tokens::grant(MailKind::Verification, &to, now)?;
    let account = NewAccount {
        user,
        organization,
        subscription,
        session,
        verification: Some(verification),
    };
    app.store.create_account(&account).await?;
    tracing::info!(
        event = "register",
        outcome = "success",
        user_id = %account.user.id,
        org_id = %account.organization.id,
        "account created"
    );
    let mut signed_in = signed_in(app, account.user, &account.session, refresh_token)?;
    // Flashback's resend id: the account's, which the response carries
    // anyway; resending needs no secret.
    signed_in.verification_token_id = Some(signed_in.user.id.clone());
    Ok(signed_in)
}
