//! The embedded simulator's tenant, kept between commands in a state file so that a session
//! (provision, then list, then offboard) sees its own changes. One command at a time owns the
//! file: an exclusive lock on `sim-tenant.lock` beside it is held from loading to saving, so
//! concurrent commands run one after the other instead of overwriting each other's changes.
//! The file is replaced atomically (through [`OutputFile`]), mode `0600`, and carries a format
//! version: a file this build cannot read, or one edited by hand into a tenant that contradicts
//! itself ([`State::problems`]), is an error that names `--sim-reset`, never a reason to start
//! over silently. A state file named like its own lock (`X.lock`) is refused.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use falcon_users_sim::state::State;
use serde::{Deserialize, Serialize};

use crate::base_dir::BaseDir;
use crate::exit;
use crate::failure::Failure;
use crate::output::console;
use crate::output::file::OutputFile;

/// The version of the file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The state file's name, in `falcon-users/` under the state directory.
const FILE_NAME: &str = "sim-tenant.json";

/// The state file for this command: the override, else
/// `$XDG_STATE_HOME/falcon-users/sim-tenant.json` (or `$HOME/.local/state/...`).
pub fn path(override_path: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(path) = override_path {
        return Ok(path.to_owned());
    }
    BaseDir::State.file(FILE_NAME).ok_or_else(|| {
        Failure::Exit(
            exit::USAGE,
            "no state directory for the simulated tenant (neither XDG_STATE_HOME nor HOME is an \
             absolute path): set --sim-state or FALCON_SIM_STATE"
                .into(),
        )
    })
}

/// The file as written.
#[derive(Serialize)]
struct SavedRef<'a> {
    version: u32,
    state: &'a State,
}

/// The file as read: the version first, so that a newer format is named as such rather than
/// reported as a parse error somewhere inside it.
#[derive(Deserialize)]
struct Header {
    version: Option<u32>,
}

#[derive(Deserialize)]
struct Saved {
    state: State,
}

/// The contradictions listed in a refusal; the rest are counted.
const PROBLEMS_SHOWN: usize = 5;

/// Why a state file cannot be used, in words for the user (pure: testable as a table): it is
/// not a saved tenant, of another format version, damaged, or a tenant that contradicts itself.
pub fn parse(bytes: &[u8]) -> Result<State, String> {
    let header: Header =
        serde_json::from_slice(bytes).map_err(|e| format!("it is not a saved tenant ({e})"))?;
    let state = match header.version {
        None => return Err("it has no format version".into()),
        Some(FORMAT_VERSION) => serde_json::from_slice::<Saved>(bytes)
            .map(|s| s.state)
            .map_err(|e| format!("it is damaged ({e})"))?,
        Some(v) => {
            return Err(format!(
                "it has format version {v}, and this build reads version {FORMAT_VERSION}"
            ));
        }
    };
    let problems = state.problems();
    if problems.is_empty() {
        return Ok(state);
    }
    let more = problems.len().saturating_sub(PROBLEMS_SHOWN);
    Err(format!(
        "it is damaged: the tenant contradicts itself ({}{})",
        problems[..problems.len().min(PROBLEMS_SHOWN)].join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        }
    ))
}

/// The lock file beside the state file `path`: the same name with `.lock`. Refused when that is
/// `path` itself (a state file named `X.lock`, in any case): the lock would be the file it
/// guards, read back as an empty tenant and replaced on every save.
pub fn lock_path(path: &Path) -> Result<PathBuf, String> {
    let named_like_lock = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("lock"));
    if named_like_lock {
        return Err(format!(
            "{} cannot hold the simulated tenant: its lock file is the same name with .lock, the \
             file itself; choose a --sim-state (or FALCON_SIM_STATE) that does not end in .lock, \
             such as {}",
            path.display(),
            path.with_extension("json").display()
        ));
    }
    Ok(path.with_extension("lock"))
}

/// The state file, locked for this command.
pub struct Store {
    path: PathBuf,
    // Held until the store is dropped: the lock ends with the file handle.
    _lock: File,
}

impl Store {
    /// Locks the state at `path` (waiting for another command that holds it) and reads it:
    /// `None` when there is none yet or `reset` asks to start over, so the caller seeds one.
    pub fn open(path: PathBuf, reset: bool) -> Result<(Store, Option<State>), Failure> {
        let shown = path.display().to_string();
        let local = |what: &str, e: io::Error| {
            Failure::Exit(exit::LOCAL, format!("cannot {what} {shown}: {e}"))
        };
        let lock_path = lock_path(&path).map_err(|why| Failure::Exit(exit::USAGE, why))?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        create_private_dir(&dir).map_err(|e| local("create the directory of", e))?;
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock = options
            .open(&lock_path)
            .map_err(|e| local("open the lock file of", e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                console::line(format_args!(
                    "waiting for another falcon-users command using {}",
                    path.display()
                ));
                lock.lock().map_err(|e| local("lock", e))?;
            }
            Err(TryLockError::Error(e)) => return Err(local("lock", e)),
        }
        let store = Store { path, _lock: lock };
        if reset {
            return Ok((store, None));
        }
        let bytes = match std::fs::read(&store.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((store, None)),
            Err(e) => return Err(local("read", e)),
        };
        let state = parse(&bytes).map_err(|why| {
            Failure::Exit(
                exit::USAGE,
                format!(
                    "cannot use the simulated tenant in {}: {why}. It is left as it is; run with \
                     --sim-reset to start over with a new tenant (this replaces it)",
                    store.path.display()
                ),
            )
        })?;
        Ok((store, Some(state)))
    }

    /// Replaces the file with `state`, atomically, mode `0600`.
    pub fn save(&self, state: &State) -> Result<(), Failure> {
        let write = || -> io::Result<()> {
            let mut file = OutputFile::create(&self.path)?;
            serde_json::to_writer(
                &mut file,
                &SavedRef {
                    version: FORMAT_VERSION,
                    state,
                },
            )?;
            file.write_all(b"\n")?;
            file.commit()
        };
        write().map_err(|e| {
            Failure::Exit(
                exit::LOCAL,
                format!(
                    "cannot save the simulated tenant to {}: {e}",
                    self.path.display()
                ),
            )
        })
    }
}

/// Creates `dir` and its parents, the new ones `0700` on Unix (the tenant holds names and
/// logins).
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;
    use falcon_users_sim::state::Tenant;

    #[test]
    fn the_default_path_follows_xdg_then_home() {
        let os = |s: &'static str| Some(OsStr::new(s));
        let cases: &[(Option<&OsStr>, Option<&OsStr>, Option<&str>)] = &[
            (
                os("/x/state"),
                os("/home/a"),
                Some("/x/state/falcon-users/sim-tenant.json"),
            ),
            (
                None,
                os("/home/a"),
                Some("/home/a/.local/state/falcon-users/sim-tenant.json"),
            ),
            (
                os(""),
                os("/home/a"),
                Some("/home/a/.local/state/falcon-users/sim-tenant.json"),
            ),
            (
                os("relative/state"),
                os("/home/a"),
                Some("/home/a/.local/state/falcon-users/sim-tenant.json"),
            ),
            (None, None, None),
            (None, os("relative-home"), None),
            (
                os("/x/state"),
                None,
                Some("/x/state/falcon-users/sim-tenant.json"),
            ),
        ];
        for (xdg, home, want) in cases {
            assert_eq!(
                BaseDir::State.file_in(*xdg, *home, FILE_NAME),
                want.map(PathBuf::from),
                "XDG_STATE_HOME={xdg:?} HOME={home:?}"
            );
        }
    }

    #[test]
    fn a_file_this_build_cannot_read_says_why() {
        let cases: &[(&str, &str)] = &[
            ("", "not a saved tenant"),
            ("{not json", "not a saved tenant"),
            ("[1, 2]", "not a saved tenant"),
            ("{}", "no format version"),
            (r#"{"version": 2, "state": {}}"#, "format version 2"),
            (r#"{"version": 1}"#, "damaged"),
            (r#"{"version": 1, "state": {"tenants": 3}}"#, "damaged"),
        ];
        for (bytes, want) in cases {
            let err = parse(bytes.as_bytes()).expect_err(bytes);
            assert!(err.contains(want), "{bytes:?}: {err}");
        }
    }

    /// A parent and a child, each with its tenant.
    fn two_cids() -> State {
        let (parent, child) = ("a".repeat(32), "b".repeat(32));
        State {
            tenants: [&parent, &child]
                .into_iter()
                .map(|cid| {
                    let tenant = Tenant {
                        cid: cid.clone(),
                        ..Tenant::default()
                    };
                    (cid.clone(), tenant)
                })
                .collect(),
            parent_cid: parent.clone(),
            child_cids: vec![child.clone()],
            ..State::default()
        }
    }

    #[test]
    fn a_tenant_that_contradicts_itself_is_damaged_and_every_problem_is_named() {
        let mut state = two_cids();
        state.child_cids.push("c".repeat(32));
        state.parent_cid = "d".repeat(32);
        let bytes = serde_json::to_vec(&SavedRef {
            version: FORMAT_VERSION,
            state: &state,
        })
        .expect("serializes");
        let err = parse(&bytes).expect_err("refused");
        assert!(
            err.starts_with("it is damaged: the tenant contradicts itself ("),
            "{err}"
        );
        for expected in [
            "the parent CID \"dddddddddddddddddddddddddddddddd\" has no tenant",
            "child CID cccccccccccccccccccccccccccccccc has no tenant",
            "CID aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa has a tenant but is neither",
        ] {
            assert!(err.contains(expected), "{expected}: {err}");
        }
        for n in 0..10 {
            state.child_cids.push(format!("{n:032}"));
        }
        let bytes = serde_json::to_vec(&SavedRef {
            version: FORMAT_VERSION,
            state: &state,
        })
        .expect("serializes");
        let err = parse(&bytes).expect_err("refused");
        assert!(err.ends_with("; and 8 more)"), "{err}");
    }

    #[test]
    fn a_state_file_named_like_its_lock_is_refused() {
        for (path, lock) in [
            ("/s/sim-tenant.json", Some("/s/sim-tenant.lock")),
            ("/s/sim-tenant", Some("/s/sim-tenant.lock")),
            ("rel/x.state", Some("rel/x.lock")),
            ("/s/x.lock", None),
            ("/s/x.LOCK", None),
            ("x.lock", None),
        ] {
            match (lock_path(Path::new(path)), lock) {
                (Ok(got), Some(want)) => assert_eq!(got, Path::new(want), "{path}"),
                (Err(why), None) => {
                    assert!(why.starts_with(&format!("{path} cannot hold")), "{why}");
                    assert!(why.contains("--sim-state"), "{why}");
                }
                (got, want) => panic!("{path}: {got:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn a_saved_state_reads_back() {
        let state = two_cids();
        let bytes = serde_json::to_vec(&SavedRef {
            version: FORMAT_VERSION,
            state: &state,
        })
        .expect("serializes");
        assert_eq!(parse(&bytes), Ok(state));
    }
}
