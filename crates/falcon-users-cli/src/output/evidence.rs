//! Files of evidence ([`falcon_users::workflows::evidence`]): a review's `.json` carries its
//! metadata and digest ([`sealed_document`]); CSV, JSON lines and JSON arrays keep their rows
//! as they were, the metadata in a sidecar `FILE.evidence.json` written with them
//! ([`EvidenceFile`]): a spreadsheet takes `#` lines for rows (Excel and LibreOffice have no
//! comment syntax; pandas needs `comment='#'`), and a line reader of JSON lines would take a
//! metadata line for a row. Everything is rendered as every other output is ([`json`]: the
//! tenant's strings in the metadata, a child's name, are `\uXXXX` escapes where dangerous).
//! A page carries its evidence too ([`super::page`]). [`verdict_lines`] says what `review
//! verify` found.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use falcon_users::workflows::evidence::{
    CidRef, Digesting, Evidence, Sealing, Verdict, sidecar_name, stated_digest,
};
use serde::Serialize;

use super::console;
use super::escape::for_terminal;
use super::file::OutputFile;
use super::json;

/// The sidecar of a data file: `r.csv` → `r.csv.evidence.json`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(sidecar_name(&name))
}

/// `document` (a JSON object) sealed with `evidence`: the data members as they are, then
/// `evidence` (stating the data's digest), then `digest`.
pub fn sealed_document<T: Serialize>(document: &T, mut evidence: Evidence) -> io::Result<String> {
    let sealing = Sealing::document(&json(document, true)?)?;
    evidence.data = sealing.data();
    sealing.finish(&member(&evidence)?)
}

/// `{"evidence": ...}`, pretty, escaped as every JSON output is.
fn member(evidence: &Evidence) -> io::Result<String> {
    #[derive(Serialize)]
    struct Member<'a> {
        evidence: &'a Evidence,
    }
    json(&Member { evidence }, true)
}

/// An output file that is digested as it is written and, when committed with evidence, gets
/// its sidecar; both all or nothing ([`OutputFile`]).
pub struct EvidenceFile {
    target: PathBuf,
    file: Digesting<OutputFile>,
}

impl EvidenceFile {
    /// Starts `target` (nothing is visible under its name until [`EvidenceFile::commit`]).
    pub fn create(target: &Path) -> io::Result<Self> {
        Ok(EvidenceFile {
            target: target.to_owned(),
            file: Digesting::new(OutputFile::create(target)?),
        })
    }

    /// Commits the file, and with `evidence` its sidecar (stating the file's name, size and
    /// digest). The sidecar is written before either is renamed into place, so that a failure
    /// leaves neither changed; the data file is renamed first.
    pub fn commit(self, evidence: Option<Evidence>) -> io::Result<()> {
        let (file, mut data) = self.file.finish();
        let Some(mut evidence) = evidence else {
            return file.commit();
        };
        data.file = self
            .target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        evidence.data = data;
        let path = sidecar_path(&self.target);
        let mut sidecar = OutputFile::create(&path)?;
        let sealed = Sealing::sidecar().finish(&member(&evidence)?)?;
        sidecar.write_all(sealed.as_bytes())?;
        file.commit()?;
        sidecar.commit()?;
        written(&path, &stated_digest(sealed.as_bytes()).unwrap_or_default());
        Ok(())
    }

    /// Commits a sealed document ([`sealed_document`]): it carries its evidence.
    pub fn commit_sealed(mut self, sealed: &str) -> io::Result<()> {
        self.write_all(sealed.as_bytes())?;
        let target = self.target.clone();
        self.file.finish().0.commit()?;
        written(
            &target,
            &stated_digest(sealed.as_bytes()).unwrap_or_default(),
        );
        Ok(())
    }
}

/// Says on stderr which file holds the evidence and its `digest`, to keep elsewhere: a digest
/// kept only in the file can be recomputed by whoever edits it.
pub fn written(path: &Path, digest: &str) {
    console::line(format_args!(
        "evidence: {} ({digest})",
        for_terminal(&path.display().to_string())
    ));
}

impl Write for EvidenceFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// What `review verify` prints: the verdict on `name`, then what the file covers (for an
/// altered file, what it claims to). Not yet escaped: [`super::print_lines`] does.
pub fn verdict_lines(name: &str, verdict: &Verdict) -> Vec<String> {
    match verdict {
        Verdict::Intact(evidence) => {
            let mut lines = vec![format!("{name}: intact")];
            lines.extend(covers(evidence));
            lines
        }
        Verdict::Altered { part, claims } => {
            let mut lines = vec![format!("{name}: ALTERED: {part}")];
            if let Some(evidence) = claims {
                lines.push("what it claims to cover (not to be trusted):".to_owned());
                lines.extend(covers(evidence));
            }
            lines
        }
        Verdict::NotEvidence(why) => vec![format!("{name}: not evidence: {why}")],
    }
}

/// What a file of evidence covers, a line per field.
fn covers(e: &Evidence) -> Vec<String> {
    let cid = |c: &CidRef| {
        let mut text = c.with_checksum.clone().unwrap_or_else(|| c.cid.clone());
        if let Some(name) = &c.name {
            text.push_str(&format!(" ({name})"));
        }
        text
    };
    let tools: Vec<String> = e.tools.iter().map(|(n, v)| format!("{n} {v}")).collect();
    let options: Vec<String> = e.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let members: Vec<String> = e.member_cids.iter().map(cid).collect();
    let mut lines = vec![
        format!("  kind: {}", e.kind),
        format!(
            "  made at: {}",
            e.made_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        format!("  made by: {}", tools.join(", ")),
        format!("  cloud: {} ({})", e.cloud.name, e.cloud.base_url),
        format!(
            "  CID: {}",
            e.cid.as_ref().map_or("unknown".to_owned(), cid)
        ),
        format!(
            "  member CIDs: {}",
            if members.is_empty() {
                "none".to_owned()
            } else {
                members.join(", ")
            }
        ),
        format!("  options: {}", options.join(", ")),
        format!(
            "  requests: {} ({} retried, {} rate limited, {} token requests)",
            e.requests.requests,
            e.requests.retries,
            e.requests.rate_limited,
            e.requests.token_requests
        ),
        format!(
            "  data: {}{} bytes, sha256:{}",
            e.data
                .file
                .as_ref()
                .map(|f| format!("{f}, "))
                .unwrap_or_default(),
            e.data.bytes,
            e.data.sha256
        ),
    ];
    lines.extend(e.notes.iter().map(|n| format!("  note: {n}")));
    lines
}
