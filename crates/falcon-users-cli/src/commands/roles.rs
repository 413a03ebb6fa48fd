//! `roles list|get`.

use std::process::ExitCode;

use falcon_users::types::DomainRole;
use falcon_users::{Catalogue, Falcon};

use crate::cli::{RoleSort, RolesCommand};
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::output::print_all;
use crate::records::{PermissionRow, RoleRow};

/// Runs a `roles` subcommand.
pub async fn run(ctx: &Ctx, command: RolesCommand) -> Outcome {
    match command {
        RolesCommand::List { sort } => {
            let mut roles = ctx.falcon.roles().await?;
            match sort {
                RoleSort::Id => roles.sort_by(|a, b| a.id.cmp(&b.id)),
                RoleSort::Name => {
                    roles.sort_by_cached_key(|r| (r.display_name.to_lowercase(), r.id.clone()))
                }
            }
            let rows: Vec<RoleRow> = roles.into_iter().map(RoleRow).collect();
            print_all(ctx.format, &rows)?;
        }
        RolesCommand::Get { roles, permissions } => {
            let (ids, offered) = resolve_roles(&ctx.falcon, &roles).await?;
            if permissions {
                let mut rows = Vec::new();
                for id in &ids {
                    let granted = ctx.falcon.role_permissions(id).await?;
                    rows.extend(granted.into_iter().map(|permission| PermissionRow {
                        role_id: id.clone(),
                        permission,
                    }));
                }
                print_all(ctx.format, &rows)?;
            } else {
                let rows: Vec<RoleRow> = ids
                    .iter()
                    .filter_map(|id| offered.iter().find(|r| &r.id == id).cloned())
                    .map(RoleRow)
                    .collect();
                print_all(ctx.format, &rows)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Role ids for roles written by id or display name, with the roles the CID offers (one read
/// of their details serves both the names and the rows shown). Every name that matches no
/// role is reported in one usage error, a line each, with a "did you mean" when one is close.
async fn resolve_roles(
    falcon: &Falcon,
    written: &[String],
) -> Result<(Vec<String>, Vec<DomainRole>), Failure> {
    let offered = falcon.roles().await?;
    let ids = Catalogue::from_roles(&offered)
        .resolve_all(written)
        .map_err(|problems| Failure::Exit(exit::USAGE, problems.join("\n")))?;
    Ok((ids, offered))
}
