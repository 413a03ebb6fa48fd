//! Evidence that describes itself: what a review or an inventory file says about how it was
//! made ([`Evidence`]: when, by which tool, against which cloud and CIDs, with which options,
//! with how many requests), sealed with a SHA-256 digest so that a later edit of any byte, of
//! the data or of the metadata, is found by [`verify`].
//!
//! # The sealed document
//!
//! The metadata and the digest live in a JSON object written pretty (two-space indent), the
//! `evidence` member and then the `digest` member last:
//!
//! ```text
//! {
//!   "summary": ...,                      <- the data members (none in a sidecar)
//!   "findings": ...,
//!   "evidence": { ... },                 <- the metadata
//!   "digest": "sha256:<64 hex digits>"
//! }
//! ```
//!
//! - **`digest`** is the SHA-256 of every byte of the file before the line that holds it (the
//!   file without its last two lines): `sed '$d' FILE | sed '$d' | sha256sum`.
//! - **`evidence.data.sha256`** is the SHA-256 of the data: in a document that carries its
//!   data (a review's `.json`), every byte before the line `  "evidence": {`
//!   (`sed '/^  "evidence": {$/,$d' FILE | sha256sum`); for a file that cannot carry metadata
//!   without changing what its rows mean (CSV, JSON lines, a JSON array), the whole file,
//!   whose metadata is then a **sidecar** `FILE.evidence.json` ([`sidecar_name`]) holding only
//!   `evidence` and `digest` (`sha256sum FILE`).
//!
//! A document is sealed as it is written, however long it is ([`SealedDocument`]; [`Sealing`]
//! is its text form).
//!
//! The data digest tells a changed row from changed metadata; the whole digest covers both.
//! Every byte counts: the digests are over the bytes as written, not over a re-serialization,
//! so a change of spacing or key order is an edit too.
//!
//! A **page** (a review's `.html`, [`SealedPage`]) follows the same rule in HTML's forms: the
//! data is every byte before its metadata block `<script type="application/json"
//! id="evidence">` (that line excluded), the metadata is the JSON in that block, and the
//! digest, in a comment on the last line (`<!-- sha256:<hex> -->`), covers every byte before
//! it: `sed '$d' FILE | sha256sum`.
//!
//! A digest is not a signature: whoever can edit a file can recompute the digests in it. It
//! proves a file unchanged against a copy of its digest kept elsewhere (the CLI prints it).

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::client::Falcon;
use crate::model::cid::Cid;
use crate::workflows::review::Review;

/// The name of this scheme, stated in every [`Evidence`]: a later version of the scheme changes it.
pub const SCHEME: &str = "falcon-users-evidence/1";

/// The suffix of a sidecar: `r.csv` has its metadata in `r.csv.evidence.json`.
pub const SIDECAR_SUFFIX: &str = ".evidence.json";

/// The line (after a line break) that starts the metadata member of a sealed document.
const EVIDENCE_LINE: &[u8] = b"\n  \"evidence\": {\n";
/// What precedes the digest on its line.
const DIGEST_PREFIX: &[u8] = b"  \"digest\": \"sha256:";
/// What follows the digest: the end of its line and the document's closing line.
const DIGEST_SUFFIX: &[u8] = b"\"\n}\n";
/// A SHA-256 in hex.
const HEX_LEN: usize = 64;

/// The line (after a line break) that opens a page's metadata block.
pub const PAGE_EVIDENCE_LINE: &str = "\n<script type=\"application/json\" id=\"evidence\">\n";
/// The line that closes it.
const PAGE_EVIDENCE_END: &[u8] = b"\n</script>\n";
/// What precedes the digest on a page's last line (an HTML comment).
const PAGE_DIGEST_PREFIX: &[u8] = b"<!-- sha256:";
/// What follows it.
const PAGE_DIGEST_SUFFIX: &[u8] = b" -->\n";

/// How a sealed file lays out its metadata and its digest line.
struct Form {
    /// The line (after a line break) that starts the metadata.
    metadata_line: &'static [u8],
    /// What precedes the digest on its line.
    digest_prefix: &'static [u8],
    /// What follows it, to the end of the file.
    digest_suffix: &'static [u8],
    /// The evidence in the metadata, read from its line break on.
    read: fn(&[u8]) -> Option<Evidence>,
}

/// A JSON document, or a sidecar: `evidence` then `digest`, the last members.
const DOCUMENT: Form = Form {
    metadata_line: EVIDENCE_LINE,
    digest_prefix: DIGEST_PREFIX,
    digest_suffix: DIGEST_SUFFIX,
    read: read_member,
};

/// A page (HTML): the metadata in its own JSON block, the digest in a comment on the last line.
const PAGE: Form = Form {
    metadata_line: PAGE_EVIDENCE_LINE.as_bytes(),
    digest_prefix: PAGE_DIGEST_PREFIX,
    digest_suffix: PAGE_DIGEST_SUFFIX,
    read: read_page_block,
};

/// What a file of evidence says about itself: how, when and against what it was made. Every
/// field is stated by the tool that wrote the file; [`verify`] says whether it is still as
/// written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Evidence {
    /// [`SCHEME`].
    pub scheme: String,
    /// What the file is: `review`, `inventory`.
    pub kind: String,
    /// When it was made, from the handle's clock (RFC 3339, UTC, whole seconds).
    pub made_at: DateTime<Utc>,
    /// The programs that made it, with their versions (this library's always; a tool built on
    /// it adds its own with [`Evidence::tool`]).
    pub tools: BTreeMap<String, String>,
    /// The cloud the data was read from.
    pub cloud: CloudRef,
    /// The CID the handle acts in, when it could be read ([`Falcon::own_cid`]).
    pub cid: Option<CidRef>,
    /// Flight Control: the child CIDs covered, with their names when the children could be
    /// listed.
    pub member_cids: Vec<CidRef>,
    /// Every option and threshold the run was made with, by name (e.g. `stale_days`).
    pub options: BTreeMap<String, serde_json::Value>,
    /// What the handle sent, up to the moment the evidence was taken.
    pub requests: Requests,
    /// Where the data is and its digest (set when the file is written).
    pub data: DataRef,
    /// What the reader should know: a CID that could not be read, a child that failed.
    pub notes: Vec<String>,
}

/// The cloud as evidence names it: no credential, no query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudRef {
    /// Its region (`us-1`, ...), the name given to a custom endpoint, or its URL.
    pub name: String,
    /// The API base URL, without any user, password, query or fragment.
    pub base_url: String,
}

/// A CID with what is known of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CidRef {
    /// 32 lowercase hex.
    pub cid: String,
    /// The console's form (`...-XX`), when known.
    pub with_checksum: Option<String>,
    /// Its name in the parent's console, when known.
    pub name: Option<String>,
}

/// The requests a run made ([`Falcon::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Requests {
    /// HTTP requests, token requests and retries included.
    pub requests: u64,
    /// Requests sent again.
    pub retries: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Requests to the token endpoint.
    pub token_requests: u64,
}

/// The data the evidence vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DataRef {
    /// The data file's name, for a sidecar (the data is then the whole file); `None` in a
    /// document that carries its data.
    pub file: Option<String>,
    /// Its length in bytes.
    pub bytes: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

impl Evidence {
    /// Evidence of `kind` from what is at hand without a request: the time on the handle's
    /// clock, this library's version, the cloud, the requests so far. [`Falcon::evidence`]
    /// adds the CIDs.
    pub fn new(falcon: &Falcon, kind: &str) -> Self {
        let made_at = DateTime::<Utc>::from(falcon.clock().now()).trunc_subsecs(0);
        let stats = falcon.stats();
        Evidence {
            scheme: SCHEME.to_owned(),
            kind: kind.to_owned(),
            made_at,
            tools: BTreeMap::from([(
                env!("CARGO_PKG_NAME").to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            )]),
            cloud: CloudRef {
                name: falcon.cloud_label(),
                base_url: without_secrets(falcon.base_url()),
            },
            cid: None,
            member_cids: Vec::new(),
            options: BTreeMap::new(),
            requests: Requests {
                requests: stats.requests,
                retries: stats.retries,
                rate_limited: stats.rate_limited,
                token_requests: stats.token_requests,
            },
            data: DataRef::default(),
            notes: Vec::new(),
        }
    }

    /// Adds the program that wrote the file, with its version.
    pub fn tool(mut self, name: &str, version: &str) -> Self {
        self.tools.insert(name.to_owned(), version.to_owned());
        self
    }

    /// Records an option or threshold (a later value of the same name replaces it).
    pub fn option(mut self, name: &str, value: impl Serialize) -> Self {
        // A value that does not serialize (none of this crate's) is recorded as null, not lost silently.
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.options.insert(name.to_owned(), value);
        self
    }

    /// Adds a note for the reader.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// `url` without what could be a secret: user, password, query, fragment.
fn without_secrets(mut url: url::Url) -> String {
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

impl Falcon {
    /// The [`Evidence`] of a run of `kind` that covered the handle's CID and `member_cids`:
    /// the CID read from the service ([`Falcon::own_cid`], one request) and, when there are
    /// member CIDs, their names ([`Falcon::children`]); then the time and the requests so
    /// far (these reads included). Never fails: what cannot be read is left out, with a note
    /// saying why (the API client may lack the scope "Sensor Download: Read" or "Flight
    /// Control: Read").
    ///
    /// Take it once the run's requests are done, so that they are counted.
    pub async fn evidence(&self, kind: &str, member_cids: &[Cid]) -> Evidence {
        let mut notes = Vec::new();
        let cid = match self.own_cid().await {
            Ok(own) => Some(CidRef {
                cid: own.cid.to_string(),
                with_checksum: Some(own.with_checksum),
                name: None,
            }),
            Err(err) => {
                notes.push(format!("the own CID could not be read: {err}"));
                None
            }
        };
        let children = if member_cids.is_empty() {
            Vec::new()
        } else {
            self.children().await.unwrap_or_else(|err| {
                notes.push(format!("the child CIDs' names could not be read: {err}"));
                Vec::new()
            })
        };
        let member_cids = member_cids
            .iter()
            .map(|cid| {
                let child = children.iter().find(|c| &c.cid == cid);
                CidRef {
                    cid: cid.to_string(),
                    with_checksum: child.map(|c| c.with_checksum()),
                    name: child.and_then(|c| c.name.clone()),
                }
            })
            .collect();
        let mut evidence = Evidence::new(self, kind);
        evidence.cid = cid;
        evidence.member_cids = member_cids;
        evidence.notes = notes;
        evidence
    }
}

/// A writer that passes bytes through and keeps their SHA-256 and count: the data of a file
/// is digested as it is written, however long it is.
pub struct Digesting<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Digesting<W> {
    /// Digests what goes to `inner`.
    pub fn new(inner: W) -> Self {
        Digesting {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The digest of what was written so far (no file name).
    fn so_far(&self) -> DataRef {
        DataRef {
            file: None,
            bytes: self.bytes,
            sha256: hex(&self.hasher.clone().finalize()),
        }
    }

    /// The destination, and the digest of what was written to it (no file name).
    pub fn finish(self) -> (W, DataRef) {
        let data = DataRef {
            file: None,
            bytes: self.bytes,
            sha256: hex(&self.hasher.finalize()),
        };
        (self.inner, data)
    }
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Only what the destination took is digested.
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The name of the sidecar of a data file named `name` (`r.csv` → `r.csv.evidence.json`).
pub fn sidecar_name(name: &str) -> String {
    format!("{name}{SIDECAR_SUFFIX}")
}

/// A sealed document being put together from text rendered by the caller (who escapes it
/// for its destination): first the data, then the metadata member, then the digest. The
/// text form of [`SealedDocument`], for documents small enough to hold.
///
/// ```
/// use falcon_users::workflows::evidence::{Sealing, verify, Verdict};
/// let sealing = Sealing::document("{\n  \"rows\": 2\n}").unwrap();
/// let data = sealing.data();
/// assert_eq!(data.sha256, falcon_users::workflows::evidence::sha256(b"{\n  \"rows\": 2,\n"));
/// // The caller renders `{"evidence": ...}` pretty, with `data` in it; here by hand.
/// let member = format!(
///     "{{\n  \"evidence\": {{\n    \"data\": {{\n      \"sha256\": \"{}\"\n    }}\n  }}\n}}",
///     data.sha256
/// );
/// let sealed = sealing.finish(&member).unwrap();
/// assert!(sealed.ends_with("\"\n}\n"));
/// // Not evidence of this crate (its metadata has none of the fields), but sealed.
/// assert!(matches!(verify(sealed.as_bytes(), None), Verdict::NotEvidence(_)));
/// ```
pub struct Sealing {
    document: SealedDocument<Vec<u8>>,
    data: DataRef,
}

impl std::fmt::Debug for Sealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealing")
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

impl Sealing {
    /// Starts a document that carries its data: `rendered` is a pretty JSON object (`{`, its
    /// members at two spaces, `}`) without `evidence` or `digest`.
    pub fn document(rendered: &str) -> io::Result<Self> {
        let mut document = SealedDocument::new(Vec::new());
        document.write_all(rendered.trim_end().as_bytes())?;
        let data = document.end_data()?;
        Ok(Sealing { document, data })
    }

    /// Starts the sidecar of a data file: its metadata alone.
    pub fn sidecar() -> Self {
        Sealing {
            document: SealedDocument::sidecar(Vec::new()),
            data: DataRef::default(),
        }
    }

    /// The data's digest, for [`Evidence::data`] (in a sidecar: nothing; the data file's
    /// digest comes from [`Digesting`]).
    pub fn data(&self) -> DataRef {
        self.data.clone()
    }

    /// The sealed document: the data, the metadata from `rendered` (the pretty JSON of an
    /// object whose only member is `evidence`), and the digest of both.
    pub fn finish(self, rendered: &str) -> io::Result<String> {
        let (bytes, _) = self.document.finish(rendered)?;
        String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// A sealed JSON document written as it is made, however long it is (the layout above). The
/// caller writes the data, a pretty JSON object (`{`, its members at two spaces, `}`) without
/// `evidence` or `digest`, escaped for its destination; [`SealedDocument::end_data`] turns its
/// closing `}` into the separator before the metadata and gives the data's digest, for
/// [`Evidence::data`]; [`SealedDocument::finish`] writes the metadata member and the digest.
/// Only the last two bytes written are held back (they may be that closing `}`).
///
/// ```
/// use std::io::Write;
/// use falcon_users::workflows::evidence::{SealedDocument, sha256};
/// let mut document = SealedDocument::new(Vec::new());
/// document.write_all(b"{\n  \"rows\": ").unwrap();
/// document.write_all(b"2\n}").unwrap();
/// let data = document.end_data().unwrap();
/// assert_eq!(data.sha256, sha256(b"{\n  \"rows\": 2,\n"));
/// ```
pub struct SealedDocument<W> {
    out: Digesting<W>,
    /// `None` once the data has ended.
    data: Option<DataTail>,
}

/// What a document's data still owes: its last bytes, held back, and whether it opened as a
/// pretty object.
struct DataTail {
    held: Vec<u8>,
    opening: Vec<u8>,
}

/// The opening of the data: a pretty JSON object.
const DATA_OPENING: &[u8] = b"{\n";
/// Its closing, which becomes [`DATA_SEPARATOR`].
const DATA_CLOSING: &[u8] = b"\n}";
/// What ends the data before the metadata member.
const DATA_SEPARATOR: &[u8] = b",\n";

impl<W: Write> SealedDocument<W> {
    /// Starts a document that carries its data, written to `out`.
    pub fn new(out: W) -> Self {
        SealedDocument {
            out: Digesting::new(out),
            data: Some(DataTail {
                held: Vec::with_capacity(2 * DATA_CLOSING.len()),
                opening: Vec::with_capacity(DATA_OPENING.len()),
            }),
        }
    }

    /// Starts a sidecar written to `out`: its metadata alone.
    pub fn sidecar(out: W) -> Self {
        let mut out = Digesting::new(out);
        // Into a Vec or a file not yet written: the opening is taken whole or the finish fails.
        let _ = out.write_all(DATA_OPENING);
        SealedDocument { out, data: None }
    }

    /// Ends the data (its closing `}` becomes `,` and a line break); its digest and length.
    /// Refused when the data was not a pretty JSON object.
    pub fn end_data(&mut self) -> io::Result<DataRef> {
        if let Some(tail) = self.data.take() {
            if tail.opening != DATA_OPENING
                || tail.held != DATA_CLOSING
                || self.out.bytes < DATA_OPENING.len() as u64
            {
                return Err(not_pretty("the data"));
            }
            self.out.write_all(DATA_SEPARATOR)?;
        }
        Ok(self.out.so_far())
    }

    /// Writes the metadata member from `rendered` (the pretty JSON of an object whose only
    /// member is `evidence`, stating [`SealedDocument::end_data`]'s digest), then the digest
    /// line; hands back the destination and the digest (`sha256:<hex>`).
    pub fn finish(mut self, rendered: &str) -> io::Result<(W, String)> {
        self.end_data()?;
        let member = rendered
            .trim_end()
            .strip_prefix("{\n  \"evidence\": {\n")
            .and_then(|rest| rest.strip_suffix("\n}"))
            .ok_or_else(|| not_pretty("the metadata"))?;
        // The line break that ends the data begins the member's line.
        self.out.write_all(&EVIDENCE_LINE[1..])?;
        self.out.write_all(member.as_bytes())?;
        self.out.write_all(DATA_SEPARATOR)?;
        let digest = self.out.so_far().sha256;
        self.out.write_all(DIGEST_PREFIX)?;
        self.out.write_all(digest.as_bytes())?;
        self.out.write_all(DIGEST_SUFFIX)?;
        self.out.flush()?;
        Ok((self.out.finish().0, format!("sha256:{digest}")))
    }
}

impl<W: Write> Write for SealedDocument<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(tail) = &mut self.data else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the data of a sealed document has ended",
            ));
        };
        let wanted = DATA_OPENING.len().saturating_sub(tail.opening.len());
        tail.opening
            .extend_from_slice(&buf[..wanted.min(buf.len())]);
        // Everything but the last bytes goes on; those are held until more comes or the data ends.
        let keep = DATA_CLOSING.len();
        if buf.len() >= keep {
            self.out.write_all(&tail.held)?;
            self.out.write_all(&buf[..buf.len() - keep])?;
            tail.held.clear();
            tail.held.extend_from_slice(&buf[buf.len() - keep..]);
        } else {
            tail.held.extend_from_slice(buf);
            let over = tail.held.len().saturating_sub(keep);
            self.out.write_all(&tail.held[..over])?;
            tail.held.drain(..over);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A page (HTML) sealed as it is written, however long it is. The caller writes the data,
/// every byte of the page before its metadata block (markup, styles, scripts, data blocks;
/// escaped for a page by the caller), then ends it ([`SealedPage::end_data`]: its digest, for
/// [`Evidence::data`]), and [`SealedPage::finish`] writes the rest:
///
/// ```text
/// <!DOCTYPE html> ...                            <- the data, up to and with a line break
/// <script type="application/json" id="evidence">
/// { ...the Evidence... }                         <- the metadata (JSON without `<`)
/// </script>
/// </body></html>                                 <- the tail the caller gives
/// <!-- sha256:<64 hex digits> -->                <- the digest of every byte before this line
/// ```
///
/// By hand: `sed '$d' FILE | sha256sum` is the digest; the data's is that of every line
/// before the metadata block's first (`sed '/^<script type="application\/json" id="evidence">$/,$d' FILE | sha256sum`).
///
/// ```
/// use std::io::Write;
/// use falcon_users::workflows::evidence::{SealedPage, Verdict, verify};
/// let mut page = SealedPage::new(Vec::new());
/// page.write_all(b"<!DOCTYPE html><title>t</title><body>").unwrap();
/// let data = page.end_data().unwrap();
/// assert_eq!(data.bytes, 38);
/// let (bytes, digest) = page.finish("{}", "</body>\n").unwrap();
/// assert!(String::from_utf8(bytes.clone()).unwrap().ends_with(&format!("<!-- {digest} -->\n")));
/// // Sealed, but `{}` is not this crate's metadata.
/// assert!(matches!(verify(&bytes, None), Verdict::NotEvidence(_)));
/// ```
pub struct SealedPage<W> {
    out: Digesting<W>,
}

impl<W: Write> SealedPage<W> {
    /// Starts a page written to `out`.
    pub fn new(out: W) -> Self {
        SealedPage {
            out: Digesting::new(out),
        }
    }

    /// Ends the data with a line break; its digest and length.
    pub fn end_data(&mut self) -> io::Result<DataRef> {
        self.out.write_all(b"\n")?;
        Ok(self.out.so_far())
    }

    /// Writes the metadata block holding `rendered` (the JSON of the page's [`Evidence`],
    /// stating [`SealedPage::end_data`]'s digest), then `tail`, then the digest line; hands
    /// back the destination and the digest (`sha256:<hex>`). `rendered` may hold no `<`
    /// (written `\u003c`, as JSON allows), so that no `</script>` ends the block early.
    pub fn finish(mut self, rendered: &str, tail: &str) -> io::Result<(W, String)> {
        if rendered.contains('<') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the metadata of a page holds a `<`: write it as \\u003c",
            ));
        }
        // The line break that ends the data begins the block's line.
        self.out.write_all(&PAGE.metadata_line[1..])?;
        self.out.write_all(rendered.trim_end().as_bytes())?;
        self.out.write_all(PAGE_EVIDENCE_END)?;
        self.out.write_all(tail.as_bytes())?;
        if !tail.is_empty() && !tail.ends_with('\n') {
            self.out.write_all(b"\n")?;
        }
        let digest = self.out.so_far().sha256;
        self.out.write_all(PAGE_DIGEST_PREFIX)?;
        self.out.write_all(digest.as_bytes())?;
        self.out.write_all(PAGE_DIGEST_SUFFIX)?;
        self.out.flush()?;
        Ok((self.out.finish().0, format!("sha256:{digest}")))
    }
}

impl<W: Write> Write for SealedPage<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn not_pretty(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} is not a JSON object written pretty"),
    )
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every byte is as written; what the evidence covers.
    Intact(Box<Evidence>),
    /// Something changed since the file was written.
    Altered {
        /// Where.
        part: Part,
        /// What the file claims to cover, when its metadata can still be read (not to be
        /// trusted: it may be what was changed).
        claims: Option<Box<Evidence>>,
    },
    /// Not a file of evidence (no metadata and no digest), with why.
    NotEvidence(String),
}

/// Where a file of evidence was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The data: its bytes are not those `evidence.data.sha256` states.
    Data,
    /// The metadata, or the digest that vouches for it (the two cannot be told apart: the
    /// digest is all that vouches for the metadata).
    Metadata,
    /// The digest line is missing or malformed, or the document no longer ends with it.
    Digest,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Data => "the data is not what was digested",
            Part::Metadata => "the metadata or its digest was changed",
            Part::Digest => "the digest line is missing or damaged",
        })
    }
}

/// Verifies a file of evidence: `file` alone for a document that carries its data (a
/// review's `.json` or `.html`), or a data file and its `sidecar`. Reads nothing but the
/// bytes given.
///
/// Intact when the digest on the document's digest line is the SHA-256 of every byte before
/// it and the data's bytes have the SHA-256 its metadata states; altered when either differs
/// or the digest line is damaged; not evidence when there is no digest and no metadata.
pub fn verify(file: &[u8], sidecar: Option<&[u8]>) -> Verdict {
    let form = match sidecar {
        Some(_) => &DOCUMENT,
        None => form_of(file),
    };
    // The data, and where the metadata starts (at the line break before it): in a sidecar
    // the whole file and right after `{`, else the bytes up to the metadata's line.
    let (document, data, metadata_at) = match sidecar {
        Some(sidecar) => (
            sidecar,
            Some(file),
            sidecar.starts_with(b"{\n").then_some(1),
        ),
        None => match find(file, form.metadata_line) {
            Some(at) => (file, Some(&file[..=at]), Some(at)),
            None => (file, None, None),
        },
    };
    // Read on its own, so that neither a damaged row nor a damaged digest line hides what
    // the file claims to cover.
    let claims = metadata_at.and_then(|at| (form.read)(&document[at..]));
    let Some(body_len) = sealed_body(form, document) else {
        // A document that names a digest or carries metadata was evidence once.
        return if sidecar.is_some()
            || metadata_at.is_some()
            || contains(document, form.digest_prefix)
        {
            Verdict::Altered {
                part: Part::Digest,
                claims: claims.map(Box::new),
            }
        } else {
            Verdict::NotEvidence(
                "it has neither metadata nor a digest (files written before evidence was \
                 added, tables and stdout have none)"
                    .to_owned(),
            )
        };
    };
    let stated = &document[body_len + form.digest_prefix.len()..][..HEX_LEN];
    let whole_intact = sha256(&document[..body_len]).as_bytes() == stated;
    let Some(evidence) = claims else {
        return if whole_intact {
            Verdict::NotEvidence("it is sealed, but its metadata is not evidence".to_owned())
        } else {
            Verdict::Altered {
                part: Part::Metadata,
                claims: None,
            }
        };
    };
    let data_intact = data.is_some_and(|d| {
        sha256(d) == evidence.data.sha256 && d.len() as u64 == evidence.data.bytes
    });
    match (data_intact, whole_intact) {
        (true, true) => Verdict::Intact(Box::new(evidence)),
        (false, _) => Verdict::Altered {
            part: Part::Data,
            claims: Some(Box::new(evidence)),
        },
        (true, false) => Verdict::Altered {
            part: Part::Metadata,
            claims: Some(Box::new(evidence)),
        },
    }
}

/// The evidence a sidecar states, when the sidecar itself is as written (its digest line
/// vouches for every byte before it), whatever became of its data file since: for a file
/// written to be filled in (a review's decision sheet), whose sidecar must still say what it
/// was made from. [`verify`] judges the data first, so a sidecar altered beside altered data
/// reads there as altered data; this judges the sidecar alone. `None`: altered, or not a
/// sidecar of evidence.
///
/// ```
/// use falcon_users::workflows::evidence::sidecar_evidence;
/// assert!(sidecar_evidence(b"{}\n").is_none());
/// ```
pub fn sidecar_evidence(sidecar: &[u8]) -> Option<Evidence> {
    let body = sealed_body(&DOCUMENT, sidecar)?;
    let stated = &sidecar[body + DOCUMENT.digest_prefix.len()..][..HEX_LEN];
    if sha256(&sidecar[..body]).as_bytes() != stated || !sidecar.starts_with(b"{\n") {
        return None;
    }
    (DOCUMENT.read)(&sidecar[1..])
}

/// The form of a file: a page when it ends with a page's digest line, or (damaged) has a
/// page's metadata block or names a page's digest; else a JSON document.
fn form_of(file: &[u8]) -> &'static Form {
    let page = sealed_body(&PAGE, file).is_some()
        || (sealed_body(&DOCUMENT, file).is_none()
            && (contains(file, PAGE.metadata_line) || contains(file, PAGE_DIGEST_PREFIX)));
    if page { &PAGE } else { &DOCUMENT }
}

/// The digest a sealed document or page states on its digest line (`sha256:<hex>`), as
/// written: to keep elsewhere (a ticket, a log), since whoever can edit a file can also
/// recompute a digest kept in it.
pub fn stated_digest(document: &[u8]) -> Option<String> {
    let form = form_of(document);
    let at = sealed_body(form, document)? + form.digest_prefix.len();
    let hex = std::str::from_utf8(&document[at..][..HEX_LEN]).ok()?;
    Some(format!("sha256:{hex}"))
}

/// The length of what the digest covers, when `document` ends with a well-formed digest line
/// of `form` (for a JSON document, and the closing line).
fn sealed_body(form: &Form, document: &[u8]) -> Option<usize> {
    let tail = form.digest_prefix.len() + HEX_LEN + form.digest_suffix.len();
    let start = document.len().checked_sub(tail)?;
    let line = &document[start..];
    let well_formed = line.starts_with(form.digest_prefix)
        && line.ends_with(form.digest_suffix)
        && line[form.digest_prefix.len()..][..HEX_LEN]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        && (start == 0 || document[start - 1] == b'\n');
    well_formed.then_some(start)
}

/// The evidence of a metadata member (`\n  "evidence": {...}` up to the digest line), when
/// it parses as this scheme's.
fn read_member(from: &[u8]) -> Option<Evidence> {
    #[derive(Deserialize)]
    struct Carrier {
        evidence: Evidence,
    }
    let end = rfind(from, b",\n  \"digest\"")?;
    let object = [&b"{"[..], &from[..end], &b"\n}"[..]].concat();
    serde_json::from_slice::<Carrier>(&object)
        .ok()
        .map(|c| c.evidence)
        .filter(|e| e.scheme == SCHEME)
}

/// The evidence of a page's metadata block (its opening line up to `</script>`), when it
/// parses as this scheme's.
fn read_page_block(from: &[u8]) -> Option<Evidence> {
    let json = from.strip_prefix(PAGE.metadata_line)?;
    let end = find(json, PAGE_EVIDENCE_END)?;
    serde_json::from_slice::<Evidence>(&json[..end])
        .ok()
        .filter(|e| e.scheme == SCHEME)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

impl Evidence {
    /// Records every option and threshold of `review`: `stale_days`, `expiring_days`,
    /// `judged_at` ([`Review::now`]; `null`: the handle's clock when the review ran), `filter`, `privileged_roles` (`null`: each role judged by its permissions),
    /// `member_cids`, `concurrency`, `children`.
    pub fn review_options(self, review: &Review) -> Self {
        let member_cids: Vec<String> = review.member_cids.iter().map(Cid::to_string).collect();
        self.option("stale_days", review.stale_days)
            .option("expiring_days", review.expiring_days)
            .option("judged_at", review.now)
            .option("filter", review.query.filter_text())
            .option("privileged_roles", &review.privileged_roles)
            .option("member_cids", member_cids)
            .option("concurrency", review.concurrency)
            .option("children", review.children)
    }

    /// The review this evidence records ([`Evidence::review_options`]), to run again: its
    /// thresholds, privileged roles and the member CIDs the evidence covers; everything else
    /// (the clock, the query, how much at once) as a new [`Review`] has it. An option missing
    /// or unreadable keeps the default.
    pub fn recorded_review(&self) -> Review {
        let option = |name: &str| self.options.get(name);
        let days = |name: &str| {
            option(name)
                .and_then(serde_json::Value::as_u64)
                .and_then(|d| u32::try_from(d).ok())
        };
        let members: Vec<Cid> = self
            .member_cids
            .iter()
            .filter_map(|c| c.cid.parse().ok())
            .collect();
        let mut review = Review::new().member_cids(members);
        if let Some(d) = days("stale_days") {
            review = review.stale_days(d);
        }
        if let Some(d) = days("expiring_days") {
            review = review.expiring_days(d);
        }
        let privileged: Option<Vec<String>> = option("privileged_roles")
            .and_then(|v| serde_json::from_value::<Option<Vec<String>>>(v.clone()).ok())
            .flatten();
        if let Some(roles) = privileged {
            review = review.privileged_roles(roles);
        }
        review
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::model::cloud::Cloud;

    /// A handle on a manual clock a year ahead of the system's (so the evidence's time can
    /// only come from it), on a custom endpoint whose URL carries a query and a fragment
    /// (which may not reach the evidence; a user or password the builder refuses); and that
    /// clock's time as evidence states it.
    fn falcon() -> (Falcon, String) {
        let clock = ManualClock::new();
        clock.advance(Duration::from_millis(365 * 86_400_000 + 500));
        let made_at =
            DateTime::<Utc>::from(clock.now()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let url: url::Url = "https://127.0.0.1:8443/api?token=s3cret#x".parse().unwrap();
        let falcon = Falcon::builder()
            .client_id("id")
            .client_secret("secret")
            .cloud(Cloud::Us2)
            .endpoint_override(Cloud::Us2, url)
            .clock(Arc::new(clock))
            .build()
            .unwrap();
        (falcon, made_at)
    }

    fn evidence() -> Evidence {
        evidence_of(&falcon().0)
    }

    fn evidence_of(falcon: &Falcon) -> Evidence {
        let mut evidence = Evidence::new(falcon, "review")
            .tool("falcon-users-cli", "9.9.9")
            .review_options(&Review::new().stale_days(60))
            .note("a child failed");
        evidence.member_cids.push(CidRef {
            cid: "0123456789abcdef0123456789abcdef".into(),
            with_checksum: Some("0123456789ABCDEF0123456789ABCDEF-C4".into()),
            name: Some("Acme \u{1b}[31m =cmd|' /C calc'!A0".into()),
        });
        evidence
    }

    /// What the CLI does: the data rendered pretty, the metadata member rendered pretty.
    fn sealed(evidence: &mut Evidence) -> String {
        let data =
            serde_json::json!({"summary": {"users": 2}, "findings": [{"uid": "ann@example.com"}]});
        let sealing = Sealing::document(&serde_json::to_string_pretty(&data).unwrap()).unwrap();
        evidence.data = sealing.data();
        let member = serde_json::to_string_pretty(&serde_json::json!({ "evidence": evidence }));
        sealing.finish(&member.unwrap()).unwrap()
    }

    /// The review recorded is the review read back: thresholds, privileged roles, member
    /// CIDs; unrecorded options keep a new review's defaults.
    #[test]
    fn the_recorded_review_reads_back_as_it_was_recorded() {
        let member: Cid = "0123456789abcdef0123456789abcdef".parse().unwrap();
        let review = Review::new()
            .stale_days(30)
            .expiring_days(3)
            .privileged_roles(["falcon_administrator".to_owned()]);
        let mut evidence = Evidence::new(&falcon().0, "review").review_options(&review);
        evidence.member_cids.push(CidRef {
            cid: member.to_string(),
            with_checksum: None,
            name: None,
        });
        let back = evidence.recorded_review();
        assert_eq!((back.stale_days, back.expiring_days), (30, 3));
        assert_eq!(
            back.privileged_roles,
            Some(vec!["falcon_administrator".to_owned()])
        );
        assert_eq!(back.member_cids, vec![member]);
        evidence.options.clear();
        let fresh = evidence.recorded_review();
        let new = Review::new();
        assert_eq!(
            (
                fresh.stale_days,
                fresh.expiring_days,
                fresh.privileged_roles
            ),
            (new.stale_days, new.expiring_days, new.privileged_roles)
        );
    }

    #[test]
    fn evidence_states_time_tools_cloud_options_and_requests_without_secrets() {
        let (falcon, made_at) = falcon();
        let mut evidence = evidence_of(&falcon);
        let text = sealed(&mut evidence);
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let meta = &doc["evidence"];
        assert_eq!(meta["scheme"], SCHEME);
        assert_eq!(meta["kind"], "review");
        assert_eq!(meta["made_at"], made_at);
        assert_eq!(meta["tools"]["falcon-users"], env!("CARGO_PKG_VERSION"));
        assert_eq!(meta["tools"]["falcon-users-cli"], "9.9.9");
        assert_eq!(meta["cloud"]["base_url"], "https://127.0.0.1:8443/api");
        for key in [
            "stale_days",
            "expiring_days",
            "judged_at",
            "filter",
            "privileged_roles",
            "member_cids",
            "concurrency",
            "children",
        ] {
            assert!(meta["options"].get(key).is_some(), "{key}: {meta}");
        }
        assert_eq!(meta["options"]["stale_days"], 60);
        assert_eq!(meta["requests"]["requests"], 0);
        assert_eq!(
            meta["member_cids"][0]["with_checksum"],
            "0123456789ABCDEF0123456789ABCDEF-C4"
        );
        assert_eq!(meta["notes"][0], "a child failed");
        assert!(!text.contains("s3cret"), "{text}");
        // The data members come first and stay as they were; the digest is the last member.
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert_eq!(doc["findings"][0]["uid"], "ann@example.com");
        assert!(doc["digest"].as_str().unwrap().starts_with("sha256:"));
    }

    #[test]
    fn a_sealed_document_verifies_intact_and_says_what_it_covers() {
        let mut evidence = evidence();
        let text = sealed(&mut evidence);
        // The digest is that of every byte before its line, as the README recomputes it.
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let body: String = lines[..lines.len() - 2].concat();
        assert_eq!(
            verify(text.as_bytes(), None),
            Verdict::Intact(Box::new(evidence))
        );
        assert!(text.contains(&format!(
            "\"digest\": \"sha256:{}\"",
            sha256(body.as_bytes())
        )));
    }

    #[test]
    fn a_one_byte_edit_anywhere_in_a_document_is_found_and_placed() {
        let mut evidence = evidence();
        let text = sealed(&mut evidence).into_bytes();
        // The line break that ends the data and starts the metadata's line belongs to both.
        let metadata_from = find(&text, EVIDENCE_LINE).unwrap();
        let digest_from = text.len() - DIGEST_PREFIX.len() - HEX_LEN - DIGEST_SUFFIX.len();
        for at in 0..text.len() {
            // A byte changed to another printable one, and (a change of spacing) a space.
            for with in [if text[at] == b'0' { b'1' } else { b'0' }, b' '] {
                if text[at] == with {
                    continue;
                }
                let mut edited = text.clone();
                edited[at] = with;
                let verdict = verify(&edited, None);
                let Verdict::Altered { part, .. } = verdict else {
                    panic!("byte {at} set to {with:?}: {verdict:?}");
                };
                if at < metadata_from {
                    // The data's digest no longer matches, or a broken document is a broken seal.
                    assert!(
                        matches!(part, Part::Data | Part::Digest),
                        "byte {at}: {part:?}"
                    );
                } else if at < digest_from {
                    assert!(
                        matches!(part, Part::Metadata | Part::Data | Part::Digest),
                        "byte {at}: {part:?}"
                    );
                }
            }
        }
        // A row changed in a way that keeps the document valid: the data.
        let edited = String::from_utf8(text.clone())
            .unwrap()
            .replace("ann@", "bob@");
        assert!(matches!(
            verify(edited.as_bytes(), None),
            Verdict::Altered {
                part: Part::Data,
                claims: Some(_)
            }
        ));
        // The metadata changed, the document valid: the metadata.
        let edited = String::from_utf8(text.clone())
            .unwrap()
            .replace("\"stale_days\": 60", "\"stale_days\": 90");
        assert!(matches!(
            verify(edited.as_bytes(), None),
            Verdict::Altered {
                part: Part::Metadata,
                claims: Some(_)
            }
        ));
        // A digit of the digest, changed to another hex digit (`^= 1` would turn an `a` or an
        // `f` into a non-digit, a damaged line): the metadata or its digest.
        let mut edited = text.clone();
        let digit = &mut edited[digest_from + DIGEST_PREFIX.len()];
        *digit = if *digit == b'0' { b'1' } else { b'0' };
        assert!(matches!(
            verify(&edited, None),
            Verdict::Altered {
                part: Part::Metadata,
                ..
            }
        ));
        // The digest line cut off.
        let cut = &text[..digest_from];
        assert!(matches!(
            verify(cut, None),
            Verdict::Altered {
                part: Part::Digest,
                ..
            }
        ));
    }

    /// What the CLI does for a page: the data (markup and a data block), then the metadata.
    fn sealed_page(evidence: &mut Evidence) -> Vec<u8> {
        let mut page = SealedPage::new(Vec::new());
        page.write_all(
            b"<!DOCTYPE html>\n<body>\n<script type=\"application/json\" id=\"review\">\n\
              {\"findings\":[{\"uid\":\"ann@example.com\",\"name\":\"\\u003cimg\"}]}\n</script>",
        )
        .unwrap();
        evidence.data = page.end_data().unwrap();
        let rendered = serde_json::to_string_pretty(&evidence).unwrap();
        page.finish(&rendered, "</body>\n</html>\n").unwrap().0
    }

    #[test]
    fn a_sealed_page_verifies_intact_and_its_digests_are_recomputed_as_documented() {
        let mut evidence = evidence();
        let page = sealed_page(&mut evidence);
        assert_eq!(
            verify(&page, None),
            Verdict::Intact(Box::new(evidence.clone()))
        );
        let text = String::from_utf8(page.clone()).unwrap();
        // `sed '$d' FILE | sha256sum`: every line but the last.
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let body = lines[..lines.len() - 1].concat();
        let digest = format!("sha256:{}", sha256(body.as_bytes()));
        assert_eq!(lines[lines.len() - 1], format!("<!-- {digest} -->\n"));
        assert_eq!(stated_digest(&page), Some(digest));
        // The data: every line before the metadata block's.
        let block = lines
            .iter()
            .position(|l| *l == "<script type=\"application/json\" id=\"evidence\">\n")
            .unwrap();
        assert_eq!(
            evidence.data.sha256,
            sha256(lines[..block].concat().as_bytes())
        );
        // A `<` in the metadata could end its block: refused.
        let mut page = SealedPage::new(Vec::new());
        page.end_data().unwrap();
        assert!(page.finish("{\"a\": \"</script>\"}", "").is_err());
    }

    #[test]
    fn a_one_byte_edit_anywhere_in_a_page_is_found_and_placed() {
        let mut evidence = evidence();
        let page = sealed_page(&mut evidence);
        let metadata_from = find(&page, PAGE.metadata_line).unwrap();
        for at in 0..page.len() {
            for with in [if page[at] == b'0' { b'1' } else { b'0' }, b' '] {
                if page[at] == with {
                    continue;
                }
                let mut edited = page.clone();
                edited[at] = with;
                let verdict = verify(&edited, None);
                let Verdict::Altered { part, .. } = verdict else {
                    panic!("byte {at} set to {with:?}: {verdict:?}");
                };
                if at < metadata_from {
                    assert!(
                        matches!(part, Part::Data | Part::Digest),
                        "byte {at}: {part:?}"
                    );
                }
            }
        }
        // A name changed in the data block: the data.
        let edited = String::from_utf8(page.clone())
            .unwrap()
            .replace("ann@", "bob@");
        assert!(matches!(
            verify(edited.as_bytes(), None),
            Verdict::Altered {
                part: Part::Data,
                claims: Some(_)
            }
        ));
        // The metadata changed: the metadata.
        let edited = String::from_utf8(page.clone())
            .unwrap()
            .replace("\"stale_days\": 60", "\"stale_days\": 90");
        assert!(matches!(
            verify(edited.as_bytes(), None),
            Verdict::Altered {
                part: Part::Metadata,
                claims: Some(_)
            }
        ));
        // The digest comment cut off, or the page as it would be without one.
        let cut =
            &page[..page.len() - PAGE_DIGEST_PREFIX.len() - HEX_LEN - PAGE_DIGEST_SUFFIX.len()];
        assert!(matches!(
            verify(cut, None),
            Verdict::Altered {
                part: Part::Digest,
                claims: Some(_)
            }
        ));
        assert!(matches!(
            verify(b"<!DOCTYPE html>\n<p>hello</p>\n", None),
            Verdict::NotEvidence(_)
        ));
    }

    #[test]
    fn a_data_file_with_its_sidecar_verifies_and_any_edit_of_either_is_found() {
        let mut writer = Digesting::new(Vec::new());
        writer
            .write_all(b"uuid,uid\nu-1,ann@example.com\n")
            .unwrap();
        let (csv, mut data) = writer.finish();
        data.file = Some("r.csv".into());
        let mut evidence = evidence();
        evidence.data = data;
        let member = serde_json::to_string_pretty(&serde_json::json!({ "evidence": &evidence }));
        let sidecar = Sealing::sidecar()
            .finish(&member.unwrap())
            .unwrap()
            .into_bytes();
        assert_eq!(
            verify(&csv, Some(&sidecar)),
            Verdict::Intact(Box::new(evidence))
        );
        for at in 0..csv.len() {
            let mut edited = csv.clone();
            edited[at] ^= 0x20;
            assert!(
                matches!(
                    verify(&edited, Some(&sidecar)),
                    Verdict::Altered {
                        part: Part::Data,
                        ..
                    }
                ),
                "data byte {at}"
            );
        }
        for at in 0..sidecar.len() {
            let mut edited = sidecar.clone();
            edited[at] = if edited[at] == b'0' { b'1' } else { b'0' };
            let verdict = verify(&csv, Some(&edited));
            assert!(
                matches!(verdict, Verdict::Altered { .. }),
                "sidecar byte {at}: {verdict:?}"
            );
        }
        // A row added at the end.
        let mut longer = csv.clone();
        longer.extend_from_slice(b"u-2,eve@example.com\n");
        assert!(matches!(
            verify(&longer, Some(&sidecar)),
            Verdict::Altered {
                part: Part::Data,
                ..
            }
        ));
    }

    #[test]
    fn files_without_metadata_or_digest_are_not_evidence() {
        for file in [
            &b"uuid,uid\nu-1,a\n"[..],
            b"{\"summary\": {}}\n",
            b"",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(verify(file, None), Verdict::NotEvidence(_)),
                "{file:?}"
            );
        }
    }

    #[test]
    fn a_document_not_written_pretty_is_refused_when_sealing() {
        assert!(Sealing::document("{\"a\":1}").is_err());
        assert!(Sealing::document("[\n  1\n]").is_err());
        assert!(
            Sealing::document("{\n  \"a\": 1\n}")
                .unwrap()
                .finish("{\"evidence\":{}}")
                .is_err()
        );
    }

    #[test]
    fn a_document_streamed_in_pieces_of_any_size_is_sealed_byte_for_byte_as_its_text_is() {
        let mut evidence = evidence();
        let text = sealed(&mut evidence);
        // The same data and metadata as `sealed` renders them.
        let data =
            serde_json::json!({"summary": {"users": 2}, "findings": [{"uid": "ann@example.com"}]});
        let rendered = serde_json::to_string_pretty(&data).unwrap();
        let member = serde_json::to_string_pretty(&serde_json::json!({ "evidence": evidence }));
        for piece in [1, 2, 3, 5, 64, rendered.len()] {
            let mut document = SealedDocument::new(Vec::new());
            for chunk in rendered.as_bytes().chunks(piece) {
                document.write_all(chunk).unwrap();
            }
            assert_eq!(document.end_data().unwrap(), evidence.data, "{piece}");
            let (bytes, digest) = document.finish(member.as_ref().unwrap()).unwrap();
            assert_eq!(String::from_utf8(bytes.clone()).unwrap(), text, "{piece}");
            assert_eq!(stated_digest(&bytes), Some(digest));
            assert!(matches!(verify(&bytes, None), Verdict::Intact(_)));
        }
        // Refused as the text form refuses: not a pretty object, or data after its end.
        for bad in ["{\"a\":1}", "[\n  1\n]", "{\n}", ""] {
            let mut document = SealedDocument::new(Vec::new());
            document.write_all(bad.as_bytes()).unwrap();
            assert!(document.end_data().is_err(), "{bad:?}");
        }
        let mut document = SealedDocument::new(Vec::new());
        document.write_all(rendered.as_bytes()).unwrap();
        document.end_data().unwrap();
        assert!(document.write_all(b"more").is_err());
    }
}
