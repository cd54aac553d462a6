//! Organization members: creating one, listing them all.

use super::caller::{self, Caller, caller_from};
use super::mail_tokens;
use super::{roles, validate};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::error::{Error, Result};
use crate::model::mail::{
    ADDRESS_INVITATION_WINDOW_SECONDS, CountedLimit, MAX_ADDRESS_INVITATIONS, MAX_ORG_INVITATIONS,
    MailKind, ORG_INVITATION_WINDOW_SECONDS, Recipient,
};
use crate::model::{AuthMethod, User};
use crate::role::Role;
use crate::store::{MemberAddition, StoreError};

#[derive(Debug, Clone, Default)]
pub struct NewMember {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub org_role: Option<Role>,
    /// `authMethod`: the member will sign in with this provider (it links
    /// it after accepting the invitation) instead of choosing a password.
    pub auth_method: AuthMethod,
}

/// How often a creation is decided again after its caller, or a count it
/// was decided on, changed.
const ADD_ATTEMPTS: usize = 3;

/// May `caller` create a member with `role`?
fn check_may_add(caller: &Caller, role: Role) -> Result<()> {
    caller.org_id()?;
    if role > roles::highest_manageable(caller.user.org_role)? {
        return Err(Error::InsufficientPermissions);
    }
    Ok(())
}

/// The organization's and the address's invitation counts with this one
/// more, read now; `TooManyAttempts` when either is spent.
pub(super) async fn counted(
    app: &App,
    org_id: &str,
    email: &str,
) -> Result<(CountedLimit, CountedLimit)> {
    let limits = app.store.invitation_limits(org_id, email).await?;
    let now = app.now();
    let org = CountedLimit::one_more(
        limits.org.as_ref(),
        now,
        MAX_ORG_INVITATIONS,
        ORG_INVITATION_WINDOW_SECONDS,
    );
    let address = CountedLimit::one_more(
        limits.address.as_ref(),
        now,
        MAX_ADDRESS_INVITATIONS,
        ADDRESS_INVITATION_WINDOW_SECONDS,
    );
    match (org, address) {
        (Some(org), Some(address)) => Ok((org, address)),
        _ => {
            let until = [limits.org, limits.address]
                .into_iter()
                .flatten()
                .map(|l| l.expires_at)
                .max()
                .unwrap_or(now);
            Err(Error::TooManyAttempts {
                retry_after_seconds: (until - now).max(1) as u64,
            })
        }
    }
}

/// POST /organization/users: a new member of the caller's organization,
/// always invited: it has no password (an empty hash, which no password
/// matches) and cannot sign in until it accepts the invitation through
/// verify-email, which sets its own. An admin never chooses a password a
/// member signs in with, so that an address can't be squatted.
///
/// The write is conditional on the caller and the invitation counts being
/// as read, so that a caller demoted or deactivated meanwhile, or a count
/// spent by a concurrent invitation, is decided on again as it is now.
pub async fn create(app: &App, claims: AccessClaims, input: NewMember) -> Result<User> {
    let (caller, organization) = tokio::join!(
        caller::caller(app, claims.clone()),
        app.store.organization(&claims.org_id)
    );
    let mut caller = caller?;
    let role = input.org_role.unwrap_or(Role::User);
    check_may_add(&caller, role)?;
    let email = validate::normalize_email(&input.email)?;
    let name = validate::name("firstName", &input.first_name)?;
    let last_name = validate::name("lastName", &input.last_name)?;
    let org_name = organization?
        .map(|org| org.name)
        .ok_or(Error::NoOrganization)?;
    let now = app.now();
    let user = User {
        name,
        last_name,
        is_business: caller.user.is_business,
        auth_method: input.auth_method,
        ..User::new_account(email, caller.org_id()?.to_owned(), role, now)
    };
    let to = Recipient {
        user_id: &user.id,
        epoch: user.session_epoch,
        email: &user.email,
        name: &user.name,
        org_name: Some(&org_name),
    };
    let invitation = mail_tokens::grant(MailKind::Invitation, &to, now)?;
    for attempt in 1..=ADD_ATTEMPTS {
        let (org_limit, address_limit) = counted(app, &user.org_id, &user.email).await?;
        let addition = MemberAddition {
            user: user.clone(),
            caller_id: caller.user.id.clone(),
            caller_version: caller.user.version,
            invitation: invitation.clone(),
            org_limit,
            address_limit,
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
        "member created and invited"
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
