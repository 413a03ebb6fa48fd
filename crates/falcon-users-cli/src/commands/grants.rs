//! `grants list|grant|revoke`.

use std::process::ExitCode;

use falcon_users::GrantQuery;
use futures::TryStreamExt;

use super::{Ctx, Failure, Outcome, resolve_uuid};
use crate::cli::GrantsCommand;
use crate::confirm::confirm;
use crate::exit;
use crate::output::print_all;
use crate::records::GrantRow;

/// Runs a `grants` subcommand.
pub async fn run(ctx: &Ctx, command: GrantsCommand) -> Outcome {
    let falcon = &ctx.falcon;
    match command {
        GrantsCommand::List { user } => {
            let uuid = resolve_uuid(falcon, &user).await?;
            let rows: Vec<GrantRow> = falcon
                .grants(&uuid, GrantQuery::new())
                .map_ok(GrantRow)
                .try_collect()
                .await?;
            print_all(ctx.format, &rows)?;
        }
        GrantsCommand::Grant {
            user,
            roles,
            expires_in_hours,
        } => {
            let uuid = resolve_uuid(falcon, &user).await?;
            let expires_at =
                expires_in_hours.map(|h| chrono::Utc::now() + chrono::Duration::hours(h));
            falcon
                .grant_roles(&uuid, roles.clone(), None, expires_at)
                .await?;
            eprintln!("granted {} to {uuid}", roles.join(", "));
        }
        GrantsCommand::Revoke { user, roles } => {
            let uuid = resolve_uuid(falcon, &user).await?;
            if !confirm(ctx.yes, &format!("revoke {} from {uuid}", roles.join(", "))) {
                return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
            }
            falcon.revoke_roles(&uuid, roles.clone(), None).await?;
            eprintln!("revoked {} from {uuid}", roles.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
