//! Files of evidence ([`falcon_users::workflows::evidence`]): a review's `.json` carries its
//! metadata and digest ([`write_sealed`]); CSV, JSON lines and JSON arrays keep their rows
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
    CidRef, Digesting, Evidence, Part, SealedDocument, Sealing, Verdict, sidecar_name,
    stated_digest,
};
use serde::Serialize;

use super::console;
use super::escape::{EscapedJson, for_terminal};
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

/// Writes `document` (a JSON object) sealed with `evidence` to `out`: the data members as
/// they are, then `evidence` (stating the data's digest), then `digest`. Streams, as a page
/// does ([`super::page::write`]): the document is serialized straight into `out`. Hands back
/// the destination and the document's digest.
pub fn write_sealed<W: Write, T: Serialize>(
    out: W,
    document: &T,
    mut evidence: Evidence,
) -> io::Result<(W, String)> {
    let mut sealed = SealedDocument::new(out);
    EscapedJson::new(io::BufWriter::new(&mut sealed))
        .serialize(document, true)?
        .flush()?;
    evidence.data = sealed.end_data()?;
    sealed.finish(&member(&evidence)?)
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

/// What `review verify -f json` prints: one document a script can act on. `intact` is the
/// verdict; `altered` says where (`data`, `metadata`, `digest`) when it is not; `evidence` is
/// what the file covers, and for an altered file what it claims to (`trusted` false).
pub fn verdict_json(name: &str, verdict: &Verdict) -> serde_json::Value {
    match verdict {
        Verdict::Intact(evidence) => serde_json::json!({
            "file": name,
            "intact": true,
            "altered": null,
            "trusted": true,
            "evidence": evidence,
        }),
        Verdict::Altered { part, claims } => serde_json::json!({
            "file": name,
            "intact": false,
            "altered": match part {
                Part::Data => "data",
                Part::Metadata => "metadata",
                Part::Digest => "digest",
            },
            "trusted": false,
            "evidence": claims,
        }),
        Verdict::NotEvidence(why) => serde_json::json!({
            "file": name,
            "intact": false,
            "not_evidence": why,
        }),
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

#[cfg(test)]
mod tests {
    use falcon_users::Falcon;
    use falcon_users::workflows::evidence::verify;
    use serde_json::json;

    use super::*;

    /// A destination that keeps what it is given and the largest single write: a document
    /// built whole before it is written arrives in one write of its full size.
    #[derive(Default)]
    struct Largest {
        bytes: Vec<u8>,
        largest: usize,
    }

    impl Write for Largest {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.largest = self.largest.max(buf.len());
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_sealed_document_is_written_as_it_is_serialized_with_the_documented_bytes() {
        let falcon = Falcon::builder()
            .client_id("id")
            .client_secret("secret")
            .build()
            .unwrap();
        let evidence = Evidence::new(&falcon, "review").tool("falcon-users-cli", "9.9.9");
        // Some 3 MiB pretty, with tenant strings that need escapes.
        let findings: Vec<_> = (0..20_000)
            .map(|i| {
                json!({
                    "uid": format!("user{i}@example.com"),
                    "why": "never logged in \u{202e}\u{7f}",
                    "roles": ["falcon_administrator", "falconhost_read_only"],
                })
            })
            .collect();
        let document = json!({"summary": {"users": 20_000}, "findings": findings});

        let (out, digest) = write_sealed(Largest::default(), &document, evidence.clone()).unwrap();

        assert!(out.bytes.len() > 2 << 20, "{}", out.bytes.len());
        assert!(
            out.largest <= 64 << 10,
            "a write of {} bytes: the document was built whole",
            out.largest
        );
        // The bytes of the text form, laid out as the README says, and intact.
        let sealing = Sealing::document(&json(&document, true).unwrap()).unwrap();
        let mut expected = evidence;
        expected.data = sealing.data();
        let text = sealing.finish(&member(&expected).unwrap()).unwrap();
        assert_eq!(String::from_utf8(out.bytes).unwrap(), text);
        assert!(
            !text.contains('\u{202e}'),
            "escaped as every JSON output is"
        );
        assert_eq!(stated_digest(text.as_bytes()), Some(digest));
        assert!(matches!(verify(text.as_bytes(), None), Verdict::Intact(_)));
    }
}
