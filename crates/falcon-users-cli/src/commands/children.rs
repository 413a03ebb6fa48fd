//! `children`: the Flight Control parent's child CIDs.

use std::process::ExitCode;

use crate::ctx::Ctx;
use crate::failure::Outcome;
use crate::output::print_all;
use crate::records::ChildRow;

/// Lists every child with its name and status, in the service's order.
pub async fn run(ctx: &Ctx) -> Outcome {
    let rows: Vec<ChildRow> = ctx
        .falcon
        .children()
        .await?
        .into_iter()
        .map(ChildRow::from)
        .collect();
    print_all(ctx.format, &rows)?;
    Ok(ExitCode::SUCCESS)
}
