//! Organization members: creating one, listing them all.

use uuid::Uuid;

use super::caller::{self, Caller, caller_from};
use super::{roles, validate};
use crate::App;
use crate::auth::access::AccessClaims;
use crate::auth::password;
use crate::error::{Error, Result};
use crate::model::{ContactDetails, User, UserStatus};
use crate::role::Role;
use crate::store::{MemberAddition, StoreError};

#[derive(Debug, Clone, Default)]
pub struct NewMember {
    pub email: String,
    pub password: String,
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
    password::check_strength(&input.password)?;
    let name = validate::name("firstName", &input.first_name)?;
    let last_name = validate::name("lastName", &input.last_name)?;
    let password_hash = app.passwords.hash(&input.password).await?;
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
    };
    for attempt in 1..=ADD_ATTEMPTS {
        let addition = MemberAddition {
            user: user.clone(),
            caller_id: caller.user.id.clone(),
            caller_version: caller.user.version,
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
        "member created"
    );
    Ok(user)
}

/// GET /organization/users: every member of the caller's organization. The
/// caller and the members are read together, then the caller is checked.
pub async fn list(app: &App, claims: AccessClaims) -> Result<Vec<User>> {
    let (records, members) = tokio::join!(
        app.store.user_and_session(&claims.sub, &claims.sid),
        app.store.members(&claims.org_id)
    );
    let caller = caller_from(app, claims, records?)?;
    caller.org_id()?;
    let mut members = members?;
    members.sort_by(|a, b| (a.created_at, &a.email).cmp(&(b.created_at, &b.email)));
    Ok(members)
}
