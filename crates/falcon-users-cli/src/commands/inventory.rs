//! `inventory`: every user with their grants, streamed to stdout or a file. A file is written
//! all or nothing ([`EvidenceFile`]), with its evidence: a failed or interrupted run leaves the previous one as it was.
//! With `--member-cids`, the fleet's effective access ([`Falcon::effective_access`]): the own
//! CID's users, their grants in each child (a row per user and child), and each child's own
//! users, children worked at once: a child that fails is reported on stderr and the others'
//! rows are written (and a file committed), exit 5.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use std::collections::{BTreeMap, HashMap};

use falcon_users::history::{SnapshotKind, SnapshotMeta, SnapshotWriter};
use falcon_users::workflows::evidence::Evidence;
use falcon_users::workflows::review::RoleBook;
use falcon_users::workflows::roster::Catalogue;
use falcon_users::workflows::{AccessOptions, AccessPart, Fleet, UserAccess};
use falcon_users::{Cid, Falcon, UserQuery, UserStatus};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::InventoryArgs;
use crate::ctx::Ctx;
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::history_file::Recording;
use crate::output::Format;
use crate::output::console;
use crate::output::evidence::EvidenceFile;
use crate::output::requests_summary;
use crate::output::{self, JsonLayout, Layout, RowWriter};
use crate::questions::note_plan;
use crate::records::InventoryRow;

/// Runs `inventory`.
pub async fn run(ctx: &Ctx, args: InventoryArgs) -> Outcome {
    // Checked before any request: a name that tells no format is refused at once.
    let layout = output::layout(
        ctx.explicit_format,
        args.output.as_deref(),
        JsonLayout::Lines,
    )
    .map_err(|why| Failure::Exit(exit::USAGE, why))?;
    // `--save`: opened before the read; a history that cannot be used is reported after the
    // output.
    let mut recording = Recording::default();
    let mut history = recording.open(ctx);
    let mut record = Record {
        writer: history
            .as_mut()
            .and_then(|h| h.begin().map_err(|e| recording.fail(e)).ok()),
        recording: &mut recording,
    };
    let (tally, kept_evidence) = match &args.output {
        Some(path) => {
            let file = EvidenceFile::create(path)?;
            let (file, tally) = stream(ctx, &args, layout, file, &mut record).await?;
            tally.refuse_if_nothing_worked()?;
            // A table is for people; every other file is evidence (taken once every row is
            // read, so that it counts their requests).
            let evidence = match layout.format {
                Format::Table => None,
                _ => Some(evidence(ctx, &args, &tally).await),
            };
            file.commit(evidence.clone())?;
            (tally, evidence)
        }
        None => {
            let out = io::BufWriter::new(io::stdout());
            let tally = stream(ctx, &args, layout, out, &mut record).await?.1;
            tally.refuse_if_nothing_worked()?;
            (tally, None)
        }
    };
    let Record { writer, .. } = record;
    let stats = ctx.falcon.stats();
    let deleted = match tally.deleted {
        0 => String::new(),
        n => format!(" ({n} deleted while the inventory ran, left out)"),
    };
    console::line(format_args!(
        "{} users{deleted}{}; {}",
        tally.written,
        tally.per_cid(),
        requests_summary(&stats)
    ));
    // Recorded once the output is written: a history that fails never costs the inventory.
    if let Some(writer) = writer {
        let evidence = match kept_evidence {
            Some(evidence) => evidence,
            None => evidence(ctx, &args, &tally).await,
        };
        recording.recorded(writer.commit(SnapshotMeta::from_evidence(
            SnapshotKind::Inventory,
            &evidence,
        )));
    }
    if let Some(code) = recording.report("inventory") {
        return Ok(code);
    }
    if tally.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(exit::PARTIAL))
    }
}

/// What an inventory file states about itself: the CIDs, every option, the children that
/// failed and the users left out.
async fn evidence(ctx: &Ctx, args: &InventoryArgs, tally: &Tally) -> Evidence {
    let member_cids: Vec<Cid> = args
        .member_cids
        .as_ref()
        .map(|m| m.0.clone())
        .unwrap_or_default();
    let listed: Vec<String> = member_cids.iter().map(ToString::to_string).collect();
    let mut evidence = ctx
        .falcon
        .evidence("inventory", &member_cids)
        .await
        .tool(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .option("filter", &args.filter)
        .option("sort", args.sort.map(|s| s.to_string()))
        .option("role", &args.questions.role)
        .option("privileged", args.questions.privileged)
        .option("never_logged_in", args.questions.never_logged_in)
        .option("last_login_before", args.questions.last_login_before)
        .option("created_before", args.questions.created_before)
        .option(
            "status",
            args.questions
                .status
                .map(|s| UserStatus::from(s).to_string()),
        )
        .option("member_cids", listed)
        .option("concurrency", args.concurrency)
        .option("children", args.children);
    for (cid, code) in &tally.failed {
        evidence = evidence.note(format!(
            "child CID {cid} could not be read (exit {code}): its rows are missing"
        ));
    }
    if let Some(note) = &tally.links_unread {
        evidence = evidence.note(note.clone());
    }
    if tally.deleted > 0 {
        evidence = evidence.note(format!(
            "{} users deleted while the inventory ran are left out",
            tally.deleted
        ));
    }
    evidence
}

/// Rows written, and users left out because they were deleted while the inventory ran (their
/// rows would show them without roles, which is not what they held); with `--member-cids`,
/// rows per child and the children that failed, with their exit codes.
#[derive(Debug, Default)]
struct Tally {
    written: u64,
    own: u64,
    deleted: u64,
    by_cid: BTreeMap<Cid, u64>,
    failed: Vec<(Cid, u8)>,
    /// Why the Flight Control links were not read, as said on stderr.
    links_unread: Option<String>,
}

impl Tally {
    /// `: 30 in the own CID, 22 in 2 child CIDs (a: 10, b: 12); failed: c` for a fleet (a
    /// child's count: the own CID's users holding roles there and its own users), nothing
    /// otherwise.
    fn per_cid(&self) -> String {
        if self.by_cid.is_empty() {
            return String::new();
        }
        let in_children: u64 = self.by_cid.values().sum();
        let counts: Vec<String> = self
            .by_cid
            .iter()
            .filter(|(cid, _)| !self.failed.iter().any(|(f, _)| f == *cid))
            .map(|(cid, n)| format!("{cid}: {n}"))
            .collect();
        let mut text = format!(
            ": {} in the own CID, {in_children} in {} child CIDs ({})",
            self.own,
            self.by_cid.len() - self.failed.len(),
            counts.join(", ")
        );
        if !self.failed.is_empty() {
            let failed: Vec<String> = self.failed.iter().map(|(c, _)| c.to_string()).collect();
            text.push_str(&format!("; failed: {}", failed.join(", ")));
        }
        text
    }

    /// Every child failed: nothing to keep, and the failure's own exit code (the first
    /// child's) tells what went wrong, not "partly done".
    fn refuse_if_nothing_worked(&self) -> Result<(), Failure> {
        match self.failed.first() {
            Some((_, code)) if self.failed.len() == self.by_cid.len() => Err(Failure::Exit(
                *code,
                format!("every child CID failed ({})", self.failed.len()),
            )),
            _ => Ok(()),
        }
    }
}

/// Role display names per CID, read the first time a grant comes without one (the service
/// names them in grants listings; the catalogue is the fallback, one read per CID). A CID
/// whose roles cannot be read leaves such grants unnamed, with one warning.
#[derive(Default)]
struct RoleNames {
    by_cid: HashMap<Option<Cid>, Catalogue>,
}

impl RoleNames {
    async fn fill(&mut self, falcon: &Falcon, cid: Option<&Cid>, row: &mut UserAccess) {
        if row
            .roles
            .iter()
            .all(|a| a.grant.role_name.as_deref().is_some_and(|n| !n.is_empty()))
        {
            return;
        }
        let key = cid.cloned();
        if !self.by_cid.contains_key(&key) {
            let read = match cid {
                None => falcon.roles().await,
                Some(cid) => falcon.for_member(cid).roles().await,
            };
            let catalogue = match read {
                Ok(roles) => Catalogue::from_roles(&roles),
                Err(err) => {
                    console::line(format_args!(
                        "warning: role names could not be read{}: {err}",
                        cid.map(|c| format!(" in {c}")).unwrap_or_default()
                    ));
                    Catalogue::default()
                }
            };
            self.by_cid.insert(key.clone(), catalogue);
        }
        let catalogue = &self.by_cid[&key];
        for grant in row.roles.iter_mut().map(|a| &mut a.grant) {
            if grant.role_name.as_deref().is_none_or(str::is_empty) {
                grant.role_name = catalogue.name(&grant.role_id).map(str::to_owned);
            }
        }
    }
}

/// Where `--save` records each row (nothing more once the history failed).
struct Record<'h, 'r> {
    writer: Option<SnapshotWriter<'h>>,
    recording: &'r mut Recording,
}

impl Record<'_, '_> {
    /// Records a row read in `cid`; an inventory judges no role, so privilege is the
    /// built-in administrator roles' ([`RoleBook`]'s fallback).
    fn row(&mut self, cid: &str, row: &UserAccess) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        let book = RoleBook::default();
        if let Err(e) = writer.user_access(cid, row, |id| Some(book.is_privileged(id))) {
            self.recording.fail(e);
            self.writer = None;
        }
    }
}

/// Writes every row to `out` (and to the history with `--save`); hands `out` back with the
/// tally once all are written.
async fn stream<W: Write>(
    ctx: &Ctx,
    args: &InventoryArgs,
    layout: Layout,
    out: W,
    record: &mut Record<'_, '_>,
) -> Result<(W, Tally), Failure> {
    // JSON and CSV rows are written as they come; a table is printed, aligned, at the end.
    let mut writer = RowWriter::<InventoryRow, W>::new(out, layout)?;
    let mut names = RoleNames::default();
    // A table reaches stdout only at the end, so it too has progress while it is read.
    let progress = if io::stderr().is_terminal() {
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
    if let Some(sort) = args.sort {
        query = query.sort(sort);
    }
    let query = args.questions.narrow(query);
    let mut tally = Tally::default();
    let fleet = match &args.member_cids {
        None => Fleet::Own,
        Some(children) => {
            tally.by_cid = children.0.iter().map(|c| (c.clone(), 0)).collect();
            Fleet::Listed(children.0.clone())
        }
    };
    let options = args.questions.access(
        AccessOptions::new()
            .fleet(fleet)
            .concurrency(args.concurrency)
            .children(args.children),
    );
    note_plan(&options.inventory.filter_plan(&query));
    let access = ctx.falcon.effective_access(query, &options).await?;
    if let Some(why) = &access.scope.links_unread {
        let note = falcon_users::workflows::LinkReach::unread_note(why);
        console::line(format_args!("note: {note}"));
        tally.links_unread = Some(note);
    }
    let mut rows = access.rows;
    while let Some(item) = rows.next().await {
        // The child the row's grants are held in (`None`: the handle's own CID).
        let cid = item.part.child().cloned();
        let mut item = match (item.outcome, &item.part) {
            (Ok(row), _) => row,
            (Err(err), AccessPart::Own) => return Err(err.into()),
            (Err(err), AccessPart::ParentUsersIn(cid) | AccessPart::ChildUsers(cid)) => {
                // That child's reading ends here; the others go on.
                console::line(format_args!("error: child CID {cid}: {err}"));
                if !tally.failed.iter().any(|(f, _)| f == cid) {
                    tally.failed.push((cid.clone(), exit::for_error(&err)));
                }
                continue;
            }
        };
        if item.deleted {
            tally.deleted += 1;
            continue;
        }
        names.fill(&ctx.falcon, cid.as_ref(), &mut item).await;
        // The own CID's rows are the user's home CID.
        let row_cid = cid.as_ref().map(Cid::as_str).or(item.user.cid.as_deref());
        record.row(row_cid.unwrap_or_default(), &item);
        writer.write(&InventoryRow::from(item))?;
        tally.written += 1;
        match cid.and_then(|c| tally.by_cid.get_mut(&c)) {
            Some(n) => *n += 1,
            None => tally.own += 1,
        }
        progress.inc(1);
    }
    // Cleared first: the table must not be drawn over by the bar's last frame.
    progress.finish_and_clear();
    let out = writer.finish()?;
    Ok((out, tally))
}
