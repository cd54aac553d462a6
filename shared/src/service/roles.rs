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

/// May `caller` act on a member holding `target` (remove it, reinvite or
/// reactivate it)? The role change's ladder, the role itself unchanged.
pub fn check_manage(caller: Role, target: Role) -> Result<()> {
    check_change(caller, target, target)
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

    /// Allowed, or refused with `InsufficientPermissions` (no other error).
    #[track_caller]
    fn assert_allowed(result: Result<()>, allowed: bool) {
        if allowed {
            assert!(matches!(result, Ok(())), "{result:?}");
        } else {
            assert!(
                matches!(result, Err(Error::InsufficientPermissions)),
                "{result:?}"
            );
        }
    }

    #[test]
    fn the_ladder_as_the_contract_words_it() {
        let cases = [
            // WORKSPACES: only USER/BILLING, on USER/BILLING.
            (Workspaces, User, Billing, true),
            (Workspaces, Billing, User, true),
            (Workspaces, User, Workspaces, false),
            (Workspaces, Workspaces, User, false),
            (Workspaces, User, Administrators, false),
            (Workspaces, Owner, User, false),
            // ADMINISTRATORS: never touching OWNER.
            (Administrators, User, Administrators, true),
            (Administrators, Administrators, User, true),
            (Administrators, User, Owner, false),
            (Administrators, Owner, User, false),
            (Administrators, Owner, Administrators, false),
            // OWNER: anything.
            (Owner, Owner, User, true),
            (Owner, User, Owner, true),
            (Owner, Administrators, Owner, true),
        ];
        for (caller, current, new, allowed) in cases {
            assert_allowed(check_change(caller, current, new), allowed);
        }
        // Below WORKSPACES: nothing, not even USER to USER.
        for caller in [User, Billing] {
            for (current, new) in [(User, User), (User, Billing), (Billing, User)] {
                assert_allowed(check_change(caller, current, new), false);
            }
            assert!(matches!(
                highest_manageable(caller),
                Err(Error::InsufficientPermissions)
            ));
        }
    }

    #[test]
    fn editing_others_needs_workspaces_and_no_higher_target() {
        let cases = [
            (Workspaces, Workspaces, true),
            (Workspaces, User, true),
            (Workspaces, Administrators, false),
            (Administrators, Owner, false),
            (Administrators, Administrators, true),
            (Billing, User, false),
            (User, User, false),
            (Owner, Owner, true),
        ];
        for (caller, target, allowed) in cases {
            assert_allowed(check_edit(caller, target), allowed);
        }
    }
}
