//! `inventory`: every user with their grants, streamed to stdout or a file. A file is written
//! all or nothing ([`OutputFile`]): a failed or interrupted run leaves the previous one as it was.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use falcon_users::UserQuery;
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Ctx, Failure, Outcome};
use crate::cli::{Format, InventoryArgs};
use crate::console;
use crate::output::RowWriter;
use crate::output_file::OutputFile;
use crate::records::InventoryRow;

/// Runs `inventory`.
pub async fn run(ctx: &Ctx, args: InventoryArgs) -> Outcome {
    let tally = match &args.output {
        Some(path) => {
            let file = OutputFile::create(path)?;
            let (file, tally) = stream(ctx, &args, file).await?;
            file.commit()?;
            tally
        }
        None => {
            stream(ctx, &args, io::BufWriter::new(io::stdout()))
                .await?
                .1
        }
    };
    let stats = ctx.falcon.stats();
    let deleted = match tally.deleted {
        0 => String::new(),
        n => format!(" ({n} deleted while the inventory ran, left out)"),
    };
    console::line(format_args!(
        "{} users{deleted}; {} requests ({} retried, {} rate limited)",
        tally.written, stats.requests, stats.retries, stats.rate_limited
    ));
    Ok(ExitCode::SUCCESS)
}

/// Rows written, and users left out because they were deleted while the inventory ran (their
/// rows would show them without roles, which is not what they held).
#[derive(Debug, Default)]
struct Tally {
    written: u64,
    deleted: u64,
}

/// Writes every row to `out`; hands `out` back with the tally once all are written.
async fn stream<W: Write>(ctx: &Ctx, args: &InventoryArgs, out: W) -> Result<(W, Tally), Failure> {
    // A table of a stream is printed as tab-separated lines; JSON as one object per line.
    let format = ctx.format;
    let mut writer = RowWriter::<InventoryRow, W>::new(out, format)?;
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
    if let Some(filter) = &args.filter {
        query = query.filter(filter.clone());
    }
    let mut rows = ctx.falcon.inventory(query, args.concurrency);
    let mut tally = Tally::default();
    while let Some(item) = rows.try_next().await? {
        if item.deleted {
            tally.deleted += 1;
            continue;
        }
        writer.write(&InventoryRow::from(item))?;
        tally.written += 1;
        progress.inc(1);
    }
    let out = writer.finish()?;
    progress.finish_and_clear();
    Ok((out, tally))
}
