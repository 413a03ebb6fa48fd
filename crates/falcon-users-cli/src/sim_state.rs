//! The embedded simulator's tenant, kept between commands in a state file so that a session
//! (provision, then list, then offboard) sees its own changes. One command at a time owns the
//! file: an exclusive lock on `sim-tenant.lock` beside it is held from loading to saving, so
//! concurrent commands run one after the other instead of overwriting each other's changes.
//! The file is replaced atomically (through [`OutputFile`]), mode `0600`, and carries a format
//! version: a file this build cannot read is an error that names `--sim-reset`, never a reason
//! to start over silently.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use falcon_users_sim::state::State;
use serde::{Deserialize, Serialize};

use crate::commands::Failure;
use crate::console;
use crate::exit;
use crate::output_file::OutputFile;

/// The version of the file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The state file's name, in `falcon-users/` under the state directory.
const FILE_NAME: &str = "sim-tenant.json";

/// Where the state lives when neither `--sim-state` nor `FALCON_SIM_STATE` says:
/// `$XDG_STATE_HOME/falcon-users/sim-tenant.json`, or `$HOME/.local/state/...` when
/// `XDG_STATE_HOME` is unset, empty or relative (the XDG spec says to ignore a relative one).
pub fn default_path(xdg_state_home: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    let absolute = |v: Option<&OsStr>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    let base =
        absolute(xdg_state_home).or_else(|| absolute(home).map(|h| h.join(".local/state")))?;
    Some(base.join("falcon-users").join(FILE_NAME))
}

/// The state file for this command: the override, else [`default_path`] from the environment.
pub fn path(override_path: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(path) = override_path {
        return Ok(path.to_owned());
    }
    default_path(
        std::env::var_os("XDG_STATE_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
    .ok_or_else(|| {
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

/// Why a state file cannot be used, in words for the user (pure: testable as a table).
pub fn parse(bytes: &[u8]) -> Result<State, String> {
    let header: Header =
        serde_json::from_slice(bytes).map_err(|e| format!("it is not a saved tenant ({e})"))?;
    match header.version {
        None => Err("it has no format version".into()),
        Some(FORMAT_VERSION) => serde_json::from_slice::<Saved>(bytes)
            .map(|s| s.state)
            .map_err(|e| format!("it is damaged ({e})")),
        Some(v) => Err(format!(
            "it has format version {v}, and this build reads version {FORMAT_VERSION}"
        )),
    }
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
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        create_private_dir(&dir).map_err(|e| local("create the directory of", e))?;
        let lock_path = path.with_extension("lock");
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
    use super::*;

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
                default_path(*xdg, *home),
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

    #[test]
    fn a_saved_state_reads_back() {
        let state = State {
            parent_cid: "a".repeat(32),
            child_cids: vec!["b".repeat(32)],
            ..State::default()
        };
        let bytes = serde_json::to_vec(&SavedRef {
            version: FORMAT_VERSION,
            state: &state,
        })
        .expect("serializes");
        assert_eq!(parse(&bytes), Ok(state));
    }
}
