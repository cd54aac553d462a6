//! Who may give which role to whom.

use crate::error::{Error, Result};
use crate::role::Role;

/// The highest role `caller` may manage (hold or hand out), or
/// `InsufficientPermissions` if it manages none.
///
/// WORKSPACES manages USER and BILLING only; ADMINISTRATORS everything below
/// OWNER; OWNER everything.
pub fn highest_manageable(caller: Role) -> Result<Role> {
    match caller {
        Role::Owner => Ok(Role::Owner),
        Role::Administrators => Ok(Role::Administrators),
        Role::Workspaces => Ok(Role::Billing),
        Role::User | Role::Billing => Err(Error::InsufficientPermissions),
    }
}

/// May `caller` move a member from `current` to `new`?
pub fn check_change(caller: Role, current: Role, new: Role) -> Result<()> {
    let ceiling = highest_manageable(caller)?;
    if current > ceiling || new > ceiling {
        return Err(Error::InsufficientPermissions);
    }
    Ok(())
}

/// May `caller` edit the basic data of a member holding `target`?
pub fn check_edit(caller: Role, target: Role) -> Result<()> {
    if caller < Role::Workspaces || target > caller {
        return Err(Error::InsufficientPermissions);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    #[test]
    fn the_ladder_as_the_contract_words_it() {
        // WORKSPACES: only USER/BILLING, on USER/BILLING.
        assert!(check_change(Workspaces, User, Billing).is_ok());
        assert!(check_change(Workspaces, Billing, User).is_ok());
        assert!(check_change(Workspaces, User, Workspaces).is_err());
        assert!(check_change(Workspaces, Workspaces, User).is_err());
        // ADMINISTRATORS: never touching OWNER.
        assert!(check_change(Administrators, User, Administrators).is_ok());
        assert!(check_change(Administrators, Administrators, User).is_ok());
        assert!(check_change(Administrators, User, Owner).is_err());
        assert!(check_change(Administrators, Owner, User).is_err());
        // OWNER: anything.
        assert!(check_change(Owner, Owner, User).is_ok());
        assert!(check_change(Owner, User, Owner).is_ok());
        // Below WORKSPACES: nothing.
        for caller in [User, Billing] {
            assert!(check_change(caller, User, User).is_err());
        }
    }

    #[test]
    fn editing_others_needs_workspaces_and_no_higher_target() {
        assert!(check_edit(Workspaces, Workspaces).is_ok());
        assert!(check_edit(Workspaces, Administrators).is_err());
        assert!(check_edit(Billing, User).is_err());
        assert!(check_edit(Owner, Owner).is_ok());
    }
}
