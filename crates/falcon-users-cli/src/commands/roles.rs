//! `roles list|get`.

use std::process::ExitCode;

use super::{Ctx, Outcome};
use crate::cli::RolesCommand;
use crate::output::print_all;
use crate::records::RoleRow;

/// Runs a `roles` subcommand.
pub async fn run(ctx: &Ctx, command: RolesCommand) -> Outcome {
    let roles = match command {
        RolesCommand::List => ctx.falcon.roles().await?,
        RolesCommand::Get { ids } => ctx.falcon.get_roles(ids).await?.resources,
    };
    let rows: Vec<RoleRow> = roles.into_iter().map(RoleRow).collect();
    print_all(ctx.format, &rows)?;
    Ok(ExitCode::SUCCESS)
}
