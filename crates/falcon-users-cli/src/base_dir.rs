//! Where the tool keeps its files when no flag says: the XDG base directories (config, state,
//! data), each with its place under `$HOME` when its variable is unset, empty or relative (the
//! XDG spec says to ignore a relative one).

use std::ffi::OsStr;
use std::path::PathBuf;

/// The directory all of this tool's files go in, under a base directory.
const APP_DIR: &str = "falcon-users";

/// One XDG base directory.
#[derive(Debug, Clone, Copy)]
pub enum BaseDir {
    /// `$XDG_CONFIG_HOME`, else `~/.config`: the profiles.
    Config,
    /// `$XDG_STATE_HOME`, else `~/.local/state`: the simulated tenant.
    #[cfg(feature = "simulator")]
    State,
    /// `$XDG_DATA_HOME`, else `~/.local/share`: the review history.
    Data,
}

impl BaseDir {
    /// The environment variable that names it.
    fn variable(self) -> &'static str {
        match self {
            BaseDir::Config => "XDG_CONFIG_HOME",
            #[cfg(feature = "simulator")]
            BaseDir::State => "XDG_STATE_HOME",
            BaseDir::Data => "XDG_DATA_HOME",
        }
    }

    /// Where it is below `$HOME` when its variable does not say.
    fn under_home(self) -> &'static str {
        match self {
            BaseDir::Config => ".config",
            #[cfg(feature = "simulator")]
            BaseDir::State => ".local/state",
            BaseDir::Data => ".local/share",
        }
    }

    /// `<base>/falcon-users/<file>` for the variable's value `xdg` and `home`; `None` when
    /// neither is an absolute path.
    pub fn file_in(self, xdg: Option<&OsStr>, home: Option<&OsStr>, file: &str) -> Option<PathBuf> {
        let absolute = |v: Option<&OsStr>| v.map(PathBuf::from).filter(|p| p.is_absolute());
        let base = absolute(xdg).or_else(|| absolute(home).map(|h| h.join(self.under_home())))?;
        Some(base.join(APP_DIR).join(file))
    }

    /// [`BaseDir::file_in`] from this process's environment.
    pub fn file(self, file: &str) -> Option<PathBuf> {
        self.file_in(
            std::env::var_os(self.variable()).as_deref(),
            std::env::var_os("HOME").as_deref(),
            file,
        )
    }
}
