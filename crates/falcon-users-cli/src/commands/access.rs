//! `access USER`: one person's roles in the own CID and every child, each with why it is held.

use std::process::ExitCode;

use falcon_users::workflows::AccessOptions;

use crate::ctx::Ctx;
use crate::exit;
use crate::failure::Outcome;
use crate::jobs::Access;
use crate::output::console;
use crate::output::{print_all, requests_summary};
use crate::records::AccessRow;

/// Prints every role of the person (own CID first, then each child), the note when the
/// children could not be listed, each child that could not be read (exit 5), and a summary.
pub async fn run(ctx: &Ctx, job: Access) -> Outcome {
    let options = AccessOptions::new().fleet(job.fleet).children(job.children);
    let report = ctx.falcon.access_of(job.user.trim(), &options).await?;
    if let Some(why) = &report.scope.not_discovered {
        console::line(format_args!(
            "note: the children could not be listed, so this is the own CID alone: {why}"
        ));
    }
    let rows: Vec<AccessRow> = report.roles.iter().map(AccessRow::from).collect();
    print_all(ctx.format, &rows)?;
    for (cid, err) in &report.failed {
        console::line(format_args!("error: child CID {cid}: {err}"));
    }
    let cids = 1 + report.scope.children.len();
    let who = report.user.uid.as_deref().unwrap_or(job.user.trim());
    console::line(format_args!(
        "{} roles of {who} in {cids} CIDs{}; {}",
        rows.len(),
        if report.failed.is_empty() {
            String::new()
        } else {
            format!(" ({} could not be read)", report.failed.len())
        },
        requests_summary(&ctx.falcon.stats())
    ));
    if report.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(exit::PARTIAL))
    }
}
