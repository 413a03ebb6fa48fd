//! `users list|get|create|update|delete`.

use std::process::ExitCode;

use falcon_users::UserQuery;
use falcon_users::types::DomainCreateUserRequest;
use futures::{StreamExt, TryStreamExt};

use super::{Ctx, Failure, Outcome, resolve_uuid};
use crate::cli::UsersCommand;
use crate::confirm::confirm;
use crate::console;
use crate::exit;
use crate::output::print_all;
use crate::records::UserRow;

/// Runs a `users` subcommand.
pub async fn run(ctx: &Ctx, command: UsersCommand) -> Outcome {
    let falcon = &ctx.falcon;
    match command {
        UsersCommand::List { filter, limit } => {
            let mut query = UserQuery::new();
            if let Some(f) = filter {
                query = query.filter(f);
            }
            let users: Vec<UserRow> = falcon
                .users(query)
                .take(limit.unwrap_or(usize::MAX))
                .map_ok(UserRow)
                .try_collect()
                .await?;
            print_all(ctx.format, &users)?;
        }
        UsersCommand::Get { users } => {
            let mut uuids = Vec::new();
            for user in &users {
                uuids.push(resolve_uuid(falcon, user).await?);
            }
            let found = falcon.get_users(uuids).await?;
            for e in &found.errors {
                console::line(format_args!("warning: {} (code {})", e.message, e.code));
            }
            let rows: Vec<UserRow> = found.resources.into_iter().map(UserRow).collect();
            print_all(ctx.format, &rows)?;
        }
        UsersCommand::Create {
            uid,
            first_name,
            last_name,
        } => {
            ctx.changes.begin();
            let user = falcon
                .create_user(DomainCreateUserRequest {
                    cid: None,
                    first_name,
                    last_name,
                    password: None,
                    uid: Some(uid),
                })
                .await?;
            print_all(ctx.format, &[UserRow(user)])?;
        }
        UsersCommand::Update {
            uuid,
            first_name,
            last_name,
        } => {
            ctx.changes.begin();
            let user = falcon
                .update_user(&uuid, first_name.as_deref(), last_name.as_deref())
                .await?;
            print_all(ctx.format, &[UserRow(user)])?;
        }
        UsersCommand::Delete { uuid } => {
            if !confirm(ctx.yes, &format!("delete user {uuid} permanently")).await {
                return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
            }
            ctx.changes.begin();
            falcon.delete_user(&uuid).await?;
            console::line(format_args!("deleted {uuid}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
