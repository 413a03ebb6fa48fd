//! `inventory`: every user with their grants, streamed to stdout or a file.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use falcon_users::UserQuery;
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Ctx, Outcome};
use crate::cli::{Format, InventoryArgs};
use crate::output::RowWriter;
use crate::records::InventoryRow;

/// Runs `inventory`.
pub async fn run(ctx: &Ctx, args: InventoryArgs) -> Outcome {
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(io::BufWriter::new(io::stdout())),
    };
    // A table of a stream is printed as tab-separated lines; JSON as one object per line.
    let format = ctx.format;
    let mut writer = RowWriter::<InventoryRow>::new(out, format)?;
    let progress =
        if io::stderr().is_terminal() && (args.output.is_some() || format != Format::Table) {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos} users [{elapsed}] {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut query = UserQuery::new();
    if let Some(filter) = args.filter {
        query = query.filter(filter);
    }
    let mut stream = ctx.falcon.inventory(query, args.concurrency);
    let mut count = 0u64;
    while let Some(item) = stream.try_next().await? {
        writer.write(&InventoryRow::from(item))?;
        count += 1;
        progress.inc(1);
    }
    writer.finish()?;
    progress.finish_and_clear();
    let stats = ctx.falcon.stats();
    eprintln!(
        "{count} users; {} requests ({} retried, {} rate limited)",
        stats.requests, stats.retries, stats.rate_limited
    );
    Ok(ExitCode::SUCCESS)
}
