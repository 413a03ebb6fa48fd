//! Roles named the way people write them: by id or display name, with a suggestion on a near miss.

use serde::{Deserialize, Serialize};

use crate::model::views::Role;

/// The roles a CID offers: what role names on a roster are resolved against.
///
/// ```
/// use falcon_users::workflows::roster::Catalogue;
/// let roles = Catalogue::from_pairs([("falcon_console_guest", "Falcon Console Guest")]);
/// assert_eq!(roles.resolve("Falcon console guest").unwrap(), "falcon_console_guest");
/// let miss = roles.resolve("falcon_console_gest").unwrap_err();
/// assert!(miss.contains("did you mean falcon_console_guest?"), "{miss}");
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

    /// The role id a roster names: an id as it is, else a display name (ignoring case) that
    /// only one role has. The error is a sentence, with the closest id or name when one is
    /// near.
    pub fn resolve(&self, written: &str) -> Result<String, String> {
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

    /// The id or name closest to `lower`, if it is close enough to be a typo.
    fn suggestion(&self, lower: &str) -> Option<&str> {
        self.roles
            .iter()
            .flat_map(|(id, name)| [id.as_str(), name.as_str()])
            .map(|candidate| {
                (
                    strsim::normalized_damerau_levenshtein(lower, &candidate.to_lowercase()),
                    candidate,
                )
            })
            .filter(|(score, _)| *score >= 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, candidate)| candidate)
    }

    /// Every role id, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(|(id, _)| id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_near_misses() {
        let roles = Catalogue::from_pairs([
            ("falcon_console_guest", "Falcon Console Guest"),
            ("custom_a", "Helpdesk"),
            ("custom_b", "Helpdesk"),
            ("0123abcd", "Incident Responder"),
        ]);
        for (written, expected) in [
            ("falcon_console_guest", Ok("falcon_console_guest")),
            ("FALCON_CONSOLE_GUEST", Ok("falcon_console_guest")),
            ("incident responder", Ok("0123abcd")),
            ("Incident Respnder", Err("did you mean Incident Responder?")),
            (
                "Helpdesk",
                Err("is the name of 2 roles (custom_a, custom_b)"),
            ),
            ("zzz", Err("no role \"zzz\" in this CID")),
        ] {
            let got = roles.resolve(written);
            match (got, expected) {
                (Ok(id), Ok(want)) => assert_eq!(id, want, "{written}"),
                (Err(why), Err(want)) => assert!(why.contains(want), "{written}: {why}"),
                (got, want) => panic!("{written}: {got:?}, expected {want:?}"),
            }
        }
        assert!(!roles.resolve("zzz").unwrap_err().contains("did you mean"));
    }
}
