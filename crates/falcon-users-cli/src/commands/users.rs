//! `users list|get|create|update|delete|reset-password|reset-2fa`.

use std::process::ExitCode;

use falcon_users::types::{DomainCreateUserRequest, DomainUser, DomainUserActionActionName};
use falcon_users::workflows::InventoryOptions;
use falcon_users::{Falcon, UserQuery, UserRef, UserUpdate};
use futures::{StreamExt, TryStreamExt, future};

use crate::cli::UsersCommand;
use crate::confirm::confirm;
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::output::console;
use crate::output::plan::{Verb, count_outcomes};
use crate::output::print_all;
use crate::questions::note_plan;
use crate::records::UserRow;

/// Runs a `users` subcommand.
pub async fn run(ctx: &Ctx, command: UsersCommand) -> Outcome {
    let falcon = &ctx.falcon;
    match command {
        UsersCommand::List {
            filter,
            limit,
            sort,
            questions,
        } => {
            let mut query = UserQuery::new();
            if let Some(f) = filter {
                query = query.filter(f);
            }
            if let Some(sort) = sort {
                query = query.sort(sort);
            }
            let query = questions.narrow(query);
            let options = questions.inventory(InventoryOptions::new());
            let plan = options.filter_plan(&query);
            note_plan(&plan);
            // A question about grants needs each user's grants: the inventory reads them.
            let users = match plan.on_grants.is_empty() {
                true => falcon.users(query),
                false => falcon
                    .inventory(query, options)
                    .try_filter(|row| future::ready(!row.deleted))
                    .map_ok(|row| row.user)
                    .boxed(),
            };
            let users: Vec<UserRow> = users
                .take(limit.unwrap_or(usize::MAX))
                .map_ok(UserRow)
                .try_collect()
                .await?;
            print_all(ctx.format, &users)?;
        }
        UsersCommand::Get { users } => return get(ctx, &users).await,
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
            count_outcomes([Verb::Done]);
            print_all(ctx.format, &[UserRow(user)])?;
        }
        UsersCommand::Update {
            user,
            first_name,
            last_name,
        } => {
            let mut change = UserUpdate::new();
            if let Some(first) = first_name {
                change = change.first_name(first);
            }
            if let Some(last) = last_name {
                change = change.last_name(last);
            }
            ctx.changes.begin();
            let user = falcon.update_user(&user, change).await?;
            count_outcomes([Verb::Done]);
            print_all(ctx.format, &[UserRow(user)])?;
        }
        UsersCommand::Delete { user } => {
            // Resolved before asking, so that the prompt names a user who exists.
            let uuid = falcon.user_uuid(&user).await?;
            let who = named(&user, &uuid);
            if !confirm(ctx.yes, &format!("delete user {who} permanently")).await {
                return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
            }
            ctx.changes.begin();
            falcon.delete_user(UserRef::Uuid(uuid)).await?;
            count_outcomes([Verb::Done]);
            console::line(format_args!("deleted {who}"));
        }
        UsersCommand::ResetPassword { users } => {
            return act(ctx, &users, DomainUserActionActionName::ResetPassword).await;
        }
        UsersCommand::Reset2fa { users } => {
            return act(ctx, &users, DomainUserActionActionName::Reset2fa).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `login (uuid)` for a user named by login, the UUID alone otherwise.
fn named(written: &str, uuid: &str) -> String {
    if UserRef::from(written).is_login() {
        format!("{} ({uuid})", written.trim())
    } else {
        uuid.to_owned()
    }
}

/// `users get`: every user found is printed, every one missing reported; exit 5 when some are
/// missing, 2 when all are.
async fn get(ctx: &Ctx, users: &[String]) -> Outcome {
    let (found, missing) = look_up(&ctx.falcon, users).await?;
    for who in &missing {
        match who {
            UserRef::Uid(uid) => {
                console::line(format_args!("no user with login {uid} in this CID"))
            }
            UserRef::Uuid(uuid) => console::line(format_args!("no user {uuid} in this CID")),
        }
    }
    let rows: Vec<UserRow> = found.into_iter().map(UserRow).collect();
    print_all(ctx.format, &rows)?;
    Ok(ExitCode::from(get_exit(rows.len(), missing.len())))
}

/// The exit code of `users get` for how many users were found and how many were not.
fn get_exit(found: usize, missing: usize) -> u8 {
    match (found, missing) {
        (_, 0) => 0,
        (0, _) => exit::USAGE,
        _ => exit::PARTIAL,
    }
}

/// The users named (in the order named, each once) and those not found, in as few requests as
/// the API allows. What the service says besides (an envelope's `errors`) is shown as warnings.
async fn look_up(
    falcon: &Falcon,
    users: &[String],
) -> Result<(Vec<DomainUser>, Vec<UserRef>), Failure> {
    let (found, missing) = falcon.resolve_users(users).await?;
    for e in &found.errors {
        console::line(format_args!("warning: {} (code {})", e.message, e.code));
    }
    Ok((found.resources, missing))
}

/// `users reset-password|reset-2fa`: every user resolved first (a login nobody has stops it
/// before any change), then confirmed, then one `userActionV1` for all.
async fn act(ctx: &Ctx, users: &[String], action: DomainUserActionActionName) -> Outcome {
    let falcon = &ctx.falcon;
    let mut uuids = Vec::new();
    let mut names = Vec::new();
    for written in users {
        let uuid = falcon.user_uuid(written).await?;
        names.push(named(written, &uuid));
        uuids.push(uuid);
    }
    let what = match action {
        DomainUserActionActionName::ResetPassword => "reset the password of",
        DomainUserActionActionName::Reset2fa => "reset two-factor authentication of",
    };
    if !confirm(ctx.yes, &format!("{what} {}", names.join(", "))).await {
        return Err(Failure::Exit(exit::NOT_CONFIRMED, "not confirmed".into()));
    }
    ctx.changes.begin();
    falcon.user_action(uuids, action).await?;
    let done = match action {
        DomainUserActionActionName::ResetPassword => "password reset",
        DomainUserActionActionName::Reset2fa => "two-factor authentication reset",
    };
    count_outcomes(names.iter().map(|_| Verb::Done));
    for name in names {
        console::line(format_args!("{done}: {name}"));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_exits_partial_only_when_some_were_found() {
        let cases = [
            ((2, 0), 0),
            ((0, 0), 0),
            ((1, 1), exit::PARTIAL),
            ((0, 2), exit::USAGE),
        ];
        for ((found, missing), code) in cases {
            assert_eq!(
                get_exit(found, missing),
                code,
                "{found} found, {missing} missing"
            );
        }
    }
}
