//! Rust names for operations: acronyms cased as words, deprecated operations under `legacy_`.
//!
//! progenitor derives every name (client method, builder, mock helper, operation id in hooks)
//! from the operationId through `heck`, which splits `GETV1` into `getv1` and `UUIDs` into
//! `uui_ds`. The generator is therefore given a rewritten operationId whose words are already
//! split; the spec itself (and so `spec-diff`) keeps the upstream ids.

use heck::ToSnakeCase;

/// The words of an operationId: lower-case runs, capitalised words, acronyms (`GET`, `CID`),
/// acronym plurals (`UUIDs`) and version suffixes (`V1`), each as one word.
pub fn words(id: &str) -> Vec<String> {
    let chars: Vec<char> = id.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !c.is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_uppercase() {
            let mut end = i;
            while end < chars.len() && chars[end].is_ascii_uppercase() {
                end += 1;
            }
            let run = end - i;
            let next = chars.get(end).copied();
            let after_next = chars.get(end + 1).copied();
            if run == 1 {
                // `Users`, `V1`: one capital and its lower-case letters or digits.
                i = end;
                while i < chars.len()
                    && (chars[i].is_ascii_lowercase() || chars[i].is_ascii_digit())
                {
                    i += 1;
                }
            } else if next == Some('s')
                && after_next.is_none_or(|n| n.is_ascii_uppercase() || n.is_ascii_digit())
            {
                // `UUIDs`: an acronym's plural.
                i = end + 1;
            } else if next.is_some_and(|n| n.is_ascii_lowercase() || n.is_ascii_digit()) {
                // `GETV1`, `CIDName`: the last capital begins the next word.
                i = end - 1;
            } else {
                i = end;
            }
        } else {
            while i < chars.len() && (chars[i].is_ascii_lowercase() || chars[i].is_ascii_digit()) {
                i += 1;
            }
        }
        words.push(
            chars[start..i]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase(),
        );
    }
    words
}

/// The snake_case Rust name of an operation: `retrieve_users_get_v1`,
/// `legacy_retrieve_user_uuids_by_cid`.
pub fn rust_name(id: &str, deprecated: bool) -> String {
    let mut all = Vec::new();
    if deprecated {
        all.push("legacy".to_owned());
    }
    all.extend(words(id));
    all.join("_")
}

/// The operationId handed to progenitor: the Rust name in camelCase, so that progenitor's own
/// snake_case conversion yields exactly [`rust_name`]. Errors if it would not.
pub fn generator_id(id: &str, deprecated: bool) -> Result<String, String> {
    let name = rust_name(id, deprecated);
    let mut camel = String::new();
    for (n, word) in name.split('_').enumerate() {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if n == 0 {
                camel.push(first);
            } else {
                camel.push(first.to_ascii_uppercase());
            }
            camel.extend(chars);
        }
    }
    if camel.to_snake_case() != name {
        return Err(format!(
            "operationId `{id}` cannot be named `{name}`: progenitor would call it `{}`",
            camel.to_snake_case()
        ));
    }
    Ok(camel)
}

/// `QUERY_USER_V1` for `query_user_v1`.
pub fn const_name(rust_name: &str) -> String {
    rust_name.to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acronyms_are_words() {
        for (id, deprecated, name) in [
            ("retrieveUsersGETV1", false, "retrieve_users_get_v1"),
            (
                "entitiesPermissionGroupsGETV1",
                false,
                "entities_permission_groups_get_v1",
            ),
            (
                "getUserInvitationsGETV1",
                false,
                "get_user_invitations_get_v1",
            ),
            ("CombinedUserRolesV2", false, "combined_user_roles_v2"),
            ("oauth2AccessToken", false, "oauth2_access_token"),
            ("queryUserV1", false, "query_user_v1"),
            (
                "RetrieveUserUUIDsByCID",
                true,
                "legacy_retrieve_user_uuids_by_cid",
            ),
            ("RetrieveUserUUID", true, "legacy_retrieve_user_uuid"),
            ("RetrieveEmailsByCID", true, "legacy_retrieve_emails_by_cid"),
            ("GetRoles", true, "legacy_get_roles"),
            ("combinedUserRolesV1", true, "legacy_combined_user_roles_v1"),
        ] {
            assert_eq!(rust_name(id, deprecated), name, "{id}");
            let camel = generator_id(id, deprecated).unwrap();
            assert_eq!(camel.to_snake_case(), name, "{id} via {camel}");
        }
        assert_eq!(
            generator_id("RetrieveUserUUIDsByCID", true).unwrap(),
            "legacyRetrieveUserUuidsByCid"
        );
        assert_eq!(const_name("legacy_get_roles"), "LEGACY_GET_ROLES");
    }
}
