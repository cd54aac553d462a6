//! Organization members: creating one, listing them all.

use uuid::Uuid;

use super::caller::{self, Caller, caller_from};
use super::mail_tokens;
use super::{roles, validate};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::auth::password;
use crate::error::{Error, Result};
use crate::model::mail::{MailKind, Recipient};
use crate::model::{ContactDetails, User, UserStatus};
use crate::role::Role;
use crate::store::{MemberAddition, StoreError};

#[derive(Debug, Clone, Default)]
pub struct NewMember {
    pub email: String,
    /// None: the member has no password until it accepts the invitation.
    pub password: Option<String>,
    pub send_invite: bool,
    pub first_name: String,
    pub last_name: String,
    pub org_role: Option<Role>,
}

/// How often a creation is decided again after its caller changed.
const ADD_ATTEMPTS: usize = 3;

/// May `caller` create a member with `role`?
fn check_may_add(caller: &Caller, role: Role) -> Result<()> {
    caller.org_id()?;
    if role > roles::highest_manageable(caller.user.org_role)? {
        return Err(Error::InsufficientPermissions);
    }
    Ok(())
}

/// POST /organization/users: a new user in the caller's organization.
///
/// The password hashes for tens of milliseconds after the caller was read
/// and checked; the write is conditional on the caller being unchanged since,
/// so a caller demoted or deactivated meanwhile is decided on again as it is
/// now, not as it was.
pub async fn create(app: &App, claims: AccessClaims, input: NewMember) -> Result<User> {
    let mut caller = caller::caller(app, claims.clone()).await?;
    let role = input.org_role.unwrap_or(Role::User);
    check_may_add(&caller, role)?;
    let email = validate::normalize_email(&input.email)?;
    if let Some(password) = &input.password {
        password::check_strength(password)?;
    } else if !input.send_invite {
        return Err(Error::validation(
            "password is required unless sendInvite is true",
        ));
    }
    let name = validate::name("firstName", &input.first_name)?;
    let last_name = validate::name("lastName", &input.last_name)?;
    // An invited member without a password has none (an empty hash, which
    // no password matches) until verify-email sets one.
    let password_hash = match &input.password {
        Some(password) => app.passwords.hash(password).await?,
        None => String::new(),
    };
    let now = app.now();
    let user = User {
        id: Uuid::new_v4().to_string(),
        email,
        name,
        last_name,
        org_id: caller.org_id()?.to_owned(),
        org_role: role,
        password_hash,
        status: UserStatus::Active,
        validated: false,
        mfa_required: false,
        is_business: caller.user.is_business,
        contact: ContactDetails::default(),
        created_at: now,
        updated_at: now,
        version: 1,
        session_epoch: 0,
        deleted_at: None,
    };
    let invitation = if input.send_invite {
        let org_name = app
            .store
            .organization(&user.org_id)
            .await?
            .map(|org| org.name)
            .ok_or(Error::NoOrganization)?;
        let to = Recipient {
            user_id: &user.id,
            email: &user.email,
            name: &user.name,
            org_name: Some(&org_name),
        };
        Some(mail_tokens::grant(MailKind::Invitation, &to, now)?)
    } else {
        None
    };
    for attempt in 1..=ADD_ATTEMPTS {
        let addition = MemberAddition {
            user: user.clone(),
            caller_id: caller.user.id.clone(),
            caller_version: caller.user.version,
            invitation: invitation.clone(),
        };
        match app.store.add_member(&addition).await {
            Ok(()) => break,
            Err(StoreError::Conflict) if attempt < ADD_ATTEMPTS => {
                caller = caller::caller(app, claims.clone()).await?;
                if caller.user.org_id != user.org_id {
                    return Err(Error::InvalidToken);
                }
                check_may_add(&caller, role)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(
        event = "member_created",
        outcome = "success",
        user_id = %caller.user.id,
        new_user_id = %user.id,
        org_id = %user.org_id,
        org_role = role.value(),
        invited = input.send_invite,
        "member created"
    );
    Ok(user)
}

/// GET /organization/users: every member of the caller's organization
/// (removed ones only when asked for). The caller and the members are read
/// together, then the caller is checked.
pub async fn list(app: &App, claims: AccessClaims, include_removed: bool) -> Result<Vec<User>> {
    let (records, members) = tokio::join!(
        app.store.user_and_session(&claims.sub, &claims.sid),
        app.store.members(&claims.org_id)
    );
    let caller = caller_from(app, claims, records?)?;
    caller.org_id()?;
    let mut members = members?;
    members.retain(|m| include_removed || !m.is_removed());
    members.sort_by(|a, b| (a.created_at, &a.email).cmp(&(b.created_at, &b.email)));
    Ok(members)
}
