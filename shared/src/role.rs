//! Organization roles: a ladder where each role includes every lower one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Role {
    User,
    Billing,
    Workspaces,
    Administrators,
    Owner,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::User,
        Role::Billing,
        Role::Workspaces,
        Role::Administrators,
        Role::Owner,
    ];

    pub fn value(self) -> u8 {
        match self {
            Role::User => 0,
            Role::Billing => 1,
            Role::Workspaces => 2,
            Role::Administrators => 254,
            Role::Owner => 255,
        }
    }

    pub fn from_value(value: i64) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| i64::from(r.value()) == value)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::User => "USER",
            Role::Billing => "BILLING",
            Role::Workspaces => "WORKSPACES",
            Role::Administrators => "ADMINISTRATORS",
            Role::Owner => "OWNER",
        }
    }

    /// Every defined role value at or below this one, ascending.
    pub fn included_values(self) -> Vec<u8> {
        Role::ALL
            .into_iter()
            .filter(|r| *r <= self)
            .map(Role::value)
            .collect()
    }
}

impl From<Role> for u8 {
    fn from(role: Role) -> u8 {
        role.value()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0} is not an organization role")]
pub struct UnknownRole(pub i64);

impl TryFrom<u8> for Role {
    type Error = UnknownRole;
    fn try_from(value: u8) -> Result<Role, UnknownRole> {
        Role::from_value(value.into()).ok_or(UnknownRole(value.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_names_follow_the_contract() {
        assert_eq!(Role::Workspaces.value(), 2);
        assert_eq!(Role::Owner.name(), "OWNER");
        assert_eq!(Role::Workspaces.included_values(), vec![0, 1, 2]);
        assert_eq!(Role::Owner.included_values(), vec![0, 1, 2, 254, 255]);
    }

    #[test]
    fn reserved_values_are_not_roles() {
        for v in [3, 100, 253, 256, -1] {
            assert!(Role::from_value(v).is_none(), "{v}");
        }
        assert_eq!(Role::from_value(254), Some(Role::Administrators));
    }

    #[test]
    fn order_is_the_ladder() {
        assert!(Role::Owner > Role::Administrators);
        assert!(Role::Administrators > Role::Workspaces);
        assert!(Role::Billing > Role::User);
    }
}
