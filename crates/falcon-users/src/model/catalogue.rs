//! The roles a CID offers, and roles named the way people write them resolved against them: by
//! id or display name, with a suggestion on a near miss.

use serde::{Deserialize, Serialize};

use crate::model::role_ref::RoleRef;
use crate::model::spelling::closest;
use crate::model::views::Role;

/// The roles a CID offers: what role names (a roster's, a caller's [`RoleRef`]s) are resolved
/// against. Read one with [`Falcon::role_catalogue`](crate::Falcon::role_catalogue), or build
/// one from roles already read.
///
/// ```
/// use falcon_users::Catalogue;
/// let roles = Catalogue::from_pairs([("falcon_console_guest", "Falcon Console Guest")]);
/// assert_eq!(roles.resolve("Falcon console guest").unwrap(), "falcon_console_guest");
/// let miss = roles.resolve("Falcon Console Gest").unwrap_err();
/// assert_eq!(
///     miss,
///     "no role \"Falcon Console Gest\" in this CID; did you mean Falcon Console Guest?"
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    /// `(id, display name)` of every role, in id order.
    roles: Vec<(String, String)>,
}

impl Catalogue {
    /// The roles of a `queriesRolesV1` + `entitiesRolesGETV2` read.
    pub fn from_roles(roles: &[Role]) -> Self {
        Self::from_pairs(
            roles
                .iter()
                .map(|r| (r.id.as_str(), r.display_name.as_str())),
        )
    }

    /// Roles from `(id, display name)` pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut roles: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(id, name)| (id.to_owned(), name.to_owned()))
            .collect();
        roles.sort();
        roles.dedup_by(|a, b| a.0 == b.0);
        Self { roles }
    }

    /// Whether a role id is offered.
    pub fn contains(&self, id: &str) -> bool {
        self.roles
            .binary_search_by(|(r, _)| r.as_str().cmp(id))
            .is_ok()
    }

    /// The display name of a role id.
    pub fn name(&self, id: &str) -> Option<&str> {
        self.roles
            .binary_search_by(|(r, _)| r.as_str().cmp(id))
            .ok()
            .map(|i| self.roles[i].1.as_str())
    }

    /// The role id `role` names: an id offered as it is, else the id or display name (ignoring
    /// case) of exactly one role. The error is a sentence naming `role`, with the closest id or
    /// name when one is near enough to be a typo.
    pub fn resolve(&self, role: impl Into<RoleRef>) -> Result<String, String> {
        let role = role.into();
        let written = role.as_str();
        if self.contains(written) {
            return Ok(written.to_owned());
        }
        let lower = written.to_lowercase();
        let by_name: Vec<&(String, String)> = self
            .roles
            .iter()
            .filter(|(id, name)| name.to_lowercase() == lower || id.to_lowercase() == lower)
            .collect();
        match by_name.as_slice() {
            [(id, _)] => Ok(id.clone()),
            [] => Err(format!(
                "no role {written:?} in this CID{}",
                self.suggestion(&lower)
                    .map(|s| format!("; did you mean {s}?"))
                    .unwrap_or_default()
            )),
            several => Err(format!(
                "{written:?} is the name of {} roles ({}): name it by id",
                several.len(),
                several
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The role ids `roles` name, each resolved as [`Catalogue::resolve`] does: in the order
    /// named, each id once, blanks skipped. The error lists every role that resolves to no
    /// single id, one sentence each (with its "did you mean"), in the order named.
    ///
    /// ```
    /// use falcon_users::Catalogue;
    /// let roles = Catalogue::from_pairs([("a_id", "Alpha"), ("b_id", "Beta")]);
    /// assert_eq!(roles.resolve_all(["beta", "a_id", "Beta"]).unwrap(), ["b_id", "a_id"]);
    /// assert_eq!(
    ///     roles.resolve_all(["Alpa", "b_id", "zzz"]).unwrap_err(),
    ///     ["no role \"Alpa\" in this CID; did you mean Alpha?", "no role \"zzz\" in this CID"]
    /// );
    /// ```
    pub fn resolve_all<R: Into<RoleRef>>(
        &self,
        roles: impl IntoIterator<Item = R>,
    ) -> Result<Vec<String>, Vec<String>> {
        let mut ids: Vec<String> = Vec::new();
        let mut problems = Vec::new();
        for role in roles.into_iter().map(Into::into) {
            if role.as_str().is_empty() {
                continue;
            }
            match self.resolve(role) {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() {
            Ok(ids)
        } else {
            Err(problems)
        }
    }

    /// The role ids `roles` name for a change in another CID, whose roles this catalogue may
    /// not list: a role that resolves is its id, any other is passed on as written, for the
    /// service to judge. In the order named, each id once, blanks skipped.
    ///
    /// ```
    /// use falcon_users::Catalogue;
    /// let roles = Catalogue::from_pairs([("a_id", "Alpha")]);
    /// assert_eq!(roles.resolve_or_pass(["alpha", "0123abcd"]), ["a_id", "0123abcd"]);
    /// ```
    pub fn resolve_or_pass<R: Into<RoleRef>>(
        &self,
        roles: impl IntoIterator<Item = R>,
    ) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for role in roles.into_iter().map(Into::into) {
            if role.as_str().is_empty() {
                continue;
            }
            let id = self
                .resolve(&role)
                .unwrap_or_else(|_| role.as_str().to_owned());
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// The id or name closest to `lower`, if it is close enough to be a typo.
    fn suggestion(&self, lower: &str) -> Option<&str> {
        closest(
            lower,
            self.roles
                .iter()
                .flat_map(|(id, name)| [id.as_str(), name.as_str()]),
        )
    }

    /// Every role id, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(|(id, _)| id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::from_pairs([
            ("falcon_console_guest", "Falcon Console Guest"),
            ("custom_a", "Helpdesk"),
            ("custom_b", "Helpdesk"),
            ("0123abcd", "Incident Responder"),
        ])
    }

    /// Every way a person names a role, and the exact answer: the id, or the sentence they read.
    #[test]
    fn names_ids_and_near_misses() {
        let roles = catalogue();
        let guest = Ok("falcon_console_guest");
        for (written, expected) in [
            ("falcon_console_guest", guest),
            ("FALCON_CONSOLE_GUEST", guest),
            ("Falcon Console Guest", guest),
            ("falcon console GUEST", guest),
            (" Falcon Console Guest ", guest),
            ("incident responder", Ok("0123abcd")),
            ("0123abcd", Ok("0123abcd")),
            (
                "Incident Respnder",
                Err("no role \"Incident Respnder\" in this CID; did you mean Incident Responder?"),
            ),
            (
                "Falcon Consle Guest",
                Err(
                    "no role \"Falcon Consle Guest\" in this CID; did you mean Falcon Console Guest?",
                ),
            ),
            (
                "falcon_console_gest",
                Err(
                    "no role \"falcon_console_gest\" in this CID; did you mean falcon_console_guest?",
                ),
            ),
            (
                "Helpdesk",
                Err("\"Helpdesk\" is the name of 2 roles (custom_a, custom_b): name it by id"),
            ),
            ("zzz", Err("no role \"zzz\" in this CID")),
        ] {
            let got = roles.resolve(written);
            assert_eq!(
                got.as_deref(),
                expected.map_err(|e| e.to_owned()).as_deref(),
                "{written:?}"
            );
        }
    }

    /// A list: ids in the order named, each once; every miss reported, not just the first.
    #[test]
    fn a_list_resolves_to_distinct_ids_or_every_problem() {
        let roles = catalogue();
        assert_eq!(
            roles.resolve_all([
                "incident responder",
                "falcon_console_guest",
                "0123abcd",
                " "
            ]),
            Ok(vec![
                "0123abcd".to_owned(),
                "falcon_console_guest".to_owned()
            ])
        );
        let problems = roles
            .resolve_all([
                "Falcon Console Guest",
                "Helpdesk",
                "falcon_console_gest",
                "zzz",
            ])
            .unwrap_err();
        assert_eq!(
            problems,
            [
                "\"Helpdesk\" is the name of 2 roles (custom_a, custom_b): name it by id",
                "no role \"falcon_console_gest\" in this CID; did you mean falcon_console_guest?",
                "no role \"zzz\" in this CID",
            ]
        );
    }
}
