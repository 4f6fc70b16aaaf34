//! A member's role in a group, stored and sent as `"admin"` / `"member"`.

use serde::{Deserialize, Serialize};

/// What a member may do in a group. Any member renames the group, adds
/// members and leaves; only admins add admins, remove others, change roles
/// and delete the group (`crate::app::groups` applies it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

/// A role as a request names it, exactly (`"Admin"` is not one); the error is
/// the sentence shown under the field.
impl TryFrom<&str> for Role {
    type Error = String;

    fn try_from(raw: &str) -> Result<Self, String> {
        match raw {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err("Role must be admin or member".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_two_names_exactly() {
        assert_eq!(Role::try_from("admin"), Ok(Role::Admin));
        assert_eq!(Role::try_from("member"), Ok(Role::Member));
        for bad in ["Admin", " member", "owner", ""] {
            assert_eq!(
                Role::try_from(bad).unwrap_err(),
                "Role must be admin or member"
            );
        }
    }

    #[test]
    fn serializes_as_the_stored_strings() {
        for role in [Role::Admin, Role::Member] {
            let json = serde_json::to_value(role).unwrap();
            assert_eq!(json, role.as_str());
            assert_eq!(serde_json::from_value::<Role>(json).unwrap(), role);
            let bson = mongodb::bson::to_bson(&role).unwrap();
            assert_eq!(bson, mongodb::bson::Bson::String(role.as_str().into()));
        }
        assert!(serde_json::from_value::<Role>("owner".into()).is_err());
    }
}
