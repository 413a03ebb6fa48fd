//! What a finding is: its kind (with the stable name scripts match on) and who, where, which
//! roles and why.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a finding is about. The kebab-case [`FindingKind::name`] is stable: scripts match on it
/// (the CLI's `--fail-on`, the `finding` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The user holds no role: an account nobody needs, or one provisioned half way.
    NoRoles,
    /// The user holds a privileged role (see [`judge`](super::judge)).
    Privileged,
    /// No login for the stale window, or never logged in and created before it.
    Stale,
    /// A temporary grant ends within the expiring window.
    Expiring,
    /// A user homed in the Flight Control parent holds roles in a child CID: one per user and
    /// child, privileged roles marked.
    ParentInChild,
    /// A grant held in a CID other than the user's home CID (access granted across CIDs, not
    /// reported as [`FindingKind::ParentInChild`]).
    ChildCidGrant,
    /// The user is not active but still holds roles.
    InactiveWithRoles,
}

impl FindingKind {
    /// Every kind, in report order.
    pub const ALL: [FindingKind; 7] = [
        FindingKind::NoRoles,
        FindingKind::Privileged,
        FindingKind::Stale,
        FindingKind::Expiring,
        FindingKind::ParentInChild,
        FindingKind::ChildCidGrant,
        FindingKind::InactiveWithRoles,
    ];

    /// The stable name: `no-roles`, `privileged`, `stale`, `expiring`, `parent-in-child`,
    /// `child-cid-grant`, `inactive-with-roles`.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::NoRoles => "no-roles",
            FindingKind::Privileged => "privileged",
            FindingKind::Stale => "stale",
            FindingKind::Expiring => "expiring",
            FindingKind::ParentInChild => "parent-in-child",
            FindingKind::ChildCidGrant => "child-cid-grant",
            FindingKind::InactiveWithRoles => "inactive-with-roles",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FindingKind {
    type Err = String;

    /// A kind by its name (any case).
    ///
    /// ```
    /// use falcon_users::workflows::review::FindingKind;
    /// assert_eq!("Stale".parse::<FindingKind>(), Ok(FindingKind::Stale));
    /// assert!("old".parse::<FindingKind>().unwrap_err().contains("child-cid-grant"));
    /// ```
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let wanted = text.trim().to_lowercase();
        FindingKind::ALL
            .into_iter()
            .find(|k| k.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = FindingKind::ALL.iter().map(|k| k.name()).collect();
                format!("no finding {text:?}: one of {}", names.join(", "))
            })
    }
}

/// One finding: who, where, which roles and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was found.
    #[serde(rename = "finding")]
    pub kind: FindingKind,
    /// The user's login.
    pub uid: String,
    /// The user's name (first and last) as the tenant has it; empty when it has none.
    pub name: String,
    /// The user's UUID.
    pub user_uuid: String,
    /// The CID it concerns: where the grants are held, or the user's home CID.
    pub cid: String,
    /// The role ids concerned (for `stale` and `inactive-with-roles`: every role the user
    /// still holds there; none for `no-roles`).
    pub roles: Vec<String>,
    /// Their display names, in the same order.
    pub role_names: Vec<String>,
    /// Why, as a sentence fragment a reviewer reads (`last login 2025-03-01, 276 days ago`).
    pub why: String,
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_names_round_trip_and_are_kebab_case_in_json() {
        for kind in FindingKind::ALL {
            assert_eq!(kind.name().parse::<FindingKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.name().into())
            );
        }
        assert!("nope".parse::<FindingKind>().is_err());
    }
}
