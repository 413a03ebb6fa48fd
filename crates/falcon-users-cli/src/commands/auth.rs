//! `auth check`: token, cloud and scopes.

use std::process::ExitCode;

use falcon_users::UserQuery;
use falcon_users::types::DomainCreateUserRequest;
use serde_json::json;

use super::{Ctx, Outcome};
use crate::cli::{AuthCommand, Format};

/// Runs an `auth` subcommand.
pub async fn run(ctx: &Ctx, command: AuthCommand) -> Outcome {
    let AuthCommand::Check = command;
    let falcon = &ctx.falcon;
    falcon.authenticate().await?;
    let read = falcon
        .query_user_ids(&UserQuery::new().page_size(1), 0)
        .await
        .is_ok();
    // `validate_only` asks whether a create would be allowed without creating anything.
    let write = falcon
        .api()
        .create_user_v1()
        .validate_only(true)
        .body(DomainCreateUserRequest {
            cid: None,
            first_name: None,
            last_name: None,
            password: None,
            uid: Some("scope-check@example.invalid".into()),
        })
        .send()
        .await
        .map_or_else(|e| e.status().is_some_and(|s| s.as_u16() != 403), |_| true);
    let base = falcon.base_url();
    match ctx.format {
        Format::Json => println!(
            "{}",
            json!({"token": "ok", "base_url": base.as_str(), "member_cid": falcon.member_cid().map(ToString::to_string),
                   "scopes": {"user-management:read": read, "user-management:write": write}})
        ),
        _ => {
            println!("token:     ok");
            println!("api:       {base}");
            if let Some(cid) = falcon.member_cid() {
                println!("member:    {cid}");
            }
            println!("read:      {}", if read { "yes" } else { "no" });
            println!("write:     {}", if write { "yes" } else { "no" });
        }
    }
    Ok(ExitCode::SUCCESS)
}
