//! Roles as a person writes them (an id or a display name), resolved to ids.

use falcon_users::types::DomainRole;
use falcon_users::{Catalogue, Falcon};

use crate::exit;
use crate::failure::Failure;

/// Role ids for roles written by id or display name, resolved by the library against the roles
/// the CID offers (one read of them, which is returned too). Every name that matches no role is
/// reported in one usage error, a line each, with a "did you mean" when one is close. With
/// `pass_unknown` (a change in another CID, whose roles may differ) a name that matches nothing
/// is passed on as an id for the service to judge.
pub async fn resolve_roles(
    falcon: &Falcon,
    written: &[String],
    pass_unknown: bool,
) -> Result<(Vec<String>, Vec<DomainRole>), Failure> {
    let offered = falcon.roles().await?;
    let catalogue = Catalogue::from_roles(&offered);
    let ids = if pass_unknown {
        catalogue.resolve_or_pass(written)
    } else {
        catalogue
            .resolve_all(written)
            .map_err(|problems| Failure::Exit(exit::USAGE, problems.join("\n")))?
    };
    Ok((ids, offered))
}
