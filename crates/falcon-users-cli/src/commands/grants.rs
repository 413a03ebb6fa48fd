//! `grants list|grant|revoke`.

use std::process::ExitCode;

use falcon_users::GrantQuery;
use futures::TryStreamExt;

use falcon_users::workflows::roster::RoleEdit;

use super::bulk::edit_roles;
use super::{Ctx, Failure, Outcome, resolve_uuid};
use crate::cli::GrantsCommand;
use crate::confirm::confirm;
use crate::console;
use crate::exit;
use crate::expiry;
use crate::output::print_all;
use crate::records::GrantRow;

/// Runs a `grants` subcommand.
pub async fn run(ctx: &Ctx, command: GrantsCommand) -> Outcome {
    let falcon = &ctx.falcon;
    match command {
        GrantsCommand::List { user, cid } => {
            let uuid = resolve_uuid(falcon, &user).await?;
            let query = match cid {
                Some(cid) => GrantQuery::new().cid(cid),
                None => GrantQuery::new(),
            };
            let rows: Vec<GrantRow> = falcon
                .grants(&uuid, query)
                .map_ok(GrantRow)
                .try_collect()
                .await?;
            print_all(ctx.format, &rows)?;
        }
        GrantsCommand::Grant {
            user, roles, bulk, ..
        } if bulk.is_given() => {
            return edit_roles(
                ctx,
                RoleEdit::Grant,
                [user].into_iter().chain(roles).collect(),
                &bulk,
            )
            .await;
        }
        GrantsCommand::Revoke {
            user, roles, bulk, ..
        } if bulk.is_given() => {
            return edit_roles(
                ctx,
                RoleEdit::Revoke,
                [user].into_iter().chain(roles).collect(),
                &bulk,
            )
            .await;
        }
        GrantsCommand::Set { roles, bulk } => {
            if !bulk.is_given() {
                return Err(Failure::Exit(
                    exit::USAGE,
                    "grants set needs --users-from FILE or --filter FQL".into(),
                ));
            }
            return edit_roles(ctx, RoleEdit::Set, roles, &bulk).await;
        }
        GrantsCommand::Grant {
            user,
            roles,
            expires_in_hours,
            expires_at,
            cid,
            ..
        } => {
            no_roles(&roles)?;
            let uuid = resolve_uuid(falcon, &user).await?;
            let expires_at = expires_at
                .or_else(|| expires_in_hours.map(|h| expiry::in_hours(h, chrono::Utc::now())));
            ctx.changes.begin();
            falcon
                .grant_roles(&uuid, roles.clone(), cid.as_ref(), expires_at)
                .await?;
            match expires_at {
                Some(at) => console::line(format_args!(
                    "granted {} to {uuid} until {}",
                    roles.join(", "),
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )),
                None => console::line(format_args!(
                    "granted {} to {uuid}{}",
                    roles.join(", "),
                    in_cid(cid.as_ref())
                )),
            }
        }
        GrantsCommand::Revoke {
            user, roles, cid, ..
        } => {
            no_roles(&roles)?;
            let uuid = resolve_uuid(falcon, &user).await?;
            if !confirm(ctx.yes, &format!("revoke {} from {uuid}", roles.join(", "))).await {
                return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
            }
            ctx.changes.begin();
            falcon
                .revoke_roles(&uuid, roles.clone(), cid.as_ref())
                .await?;
            console::line(format_args!(
                "revoked {} from {uuid}{}",
                roles.join(", "),
                in_cid(cid.as_ref())
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// ` in CID x` for a change made in a child CID, nothing otherwise.
fn in_cid(cid: Option<&falcon_users::Cid>) -> String {
    cid.map(|c| format!(" in CID {c}")).unwrap_or_default()
}

/// The single-user form needs at least one role (the bulk forms take the first from `user`).
fn no_roles(roles: &[String]) -> Result<(), Failure> {
    if roles.is_empty() {
        return Err(Failure::Exit(exit::USAGE, "name at least one role".into()));
    }
    Ok(())
}
