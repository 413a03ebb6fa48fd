//! Profiles: named tenants in a TOML config file, each with its client id, cloud, member CID
//! and where its secret comes from (see [`SecretSource`]). Flags and environment variables
//! override a profile's values one by one.
//!
//! ```toml
//! default_profile = "prod"
//!
//! [profiles.prod]
//! client_id = "0123abcd..."
//! cloud = "us-2"
//! secret_command = ["pass", "show", "falcon/prod"]
//!
//! [profiles.child]
//! client_id = "4567ef..."
//! member_cid = "89abcdef0123456789abcdef01234567"
//! client_secret_file = "~/.config/falcon-users/child.secret"
//!
//! # How this tenant's HR export names the roster's columns (`--map` overrides it).
//! [profiles.child.map]
//! uid = "Email"
//! first_name = "First Name"
//! last_name = "Last Name"
//! ```
//!
//! `map` may also be written as `--map` takes it: `map = "uid=Email,first_name=First Name"`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use falcon_users::workflows::roster::ColumnMap;
use serde::Deserialize;

use crate::base_dir::BaseDir;
use crate::exit;
use crate::failure::Failure;
use crate::secret_source::{SecretSource, mode_text, permissions};

/// The config file's name in the user's config directory.
const FILE_NAME: &str = "config.toml";

/// How long a `secret_command` may run unless the profile says otherwise.
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Entry>,
}

/// One `[profiles.NAME]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    client_id: Option<String>,
    cloud: Option<String>,
    member_cid: Option<String>,
    client_secret: Option<Literal>,
    client_secret_env: Option<String>,
    client_secret_file: Option<PathBuf>,
    secret_command: Option<Vec<String>>,
    secret_command_timeout: Option<u64>,
    map: Option<MapSetting>,
}

/// A profile's `map`: a table of column = header, or the text `--map` takes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum MapSetting {
    Text(String),
    Table(BTreeMap<String, String>),
}

/// A secret written into the config file; never printed.
#[derive(Deserialize)]
#[serde(transparent)]
struct Literal(String);

impl fmt::Debug for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One tenant's settings from the config file.
#[derive(Debug)]
pub struct Profile {
    /// The profile's name.
    pub name: String,
    /// Whether it is the file's `default_profile`.
    pub is_default: bool,
    /// The API client id.
    pub client_id: Option<String>,
    /// The cloud, as users type it.
    pub cloud: Option<String>,
    /// The Flight Control member CID.
    pub member_cid: Option<String>,
    /// Where the secret comes from, if the profile says.
    pub secret: Option<SecretSource>,
    /// How this tenant's rosters name their columns, when not as a roster does (`--map`
    /// overrides it).
    pub map: Option<ColumnMap>,
}

/// The profiles of a config file, in name order.
#[derive(Debug)]
pub struct Config {
    /// The file they were read from.
    pub path: PathBuf,
    /// The profiles.
    pub profiles: Vec<Profile>,
    default_profile: Option<String>,
}

/// The config file to read: `--config` / `FALCON_CONFIG` (which must exist), else the default
/// place (which may not). `None`: no file and none asked for.
fn locate(explicit: Option<&Path>) -> Result<Option<PathBuf>, Failure> {
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(usage(format!(
                "the config file {} does not exist or is not a file",
                path.display()
            )));
        }
        return Ok(Some(path.to_owned()));
    }
    Ok(default_place().filter(|p| p.is_file()))
}

/// The config file's default place, from this process's environment:
/// `$XDG_CONFIG_HOME/falcon-users/config.toml`, else `$HOME/.config/falcon-users/config.toml`.
pub fn default_place() -> Option<PathBuf> {
    BaseDir::Config.file(FILE_NAME)
}

/// Reads the config file (`explicit`, or the default place). `None` when there is none.
pub fn load(explicit: Option<&Path>) -> Result<Option<Config>, Failure> {
    let Some(path) = locate(explicit)? else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        usage(format!(
            "could not read the config file {}: {e}",
            path.display()
        ))
    })?;
    parse(&path, &text, permissions(&path)).map(Some)
}

/// The profile to use: `name` (from `--profile` / `FALCON_PROFILE`), else the config file's
/// `default_profile`, else none.
pub fn select(name: Option<&str>, explicit: Option<&Path>) -> Result<Option<Profile>, Failure> {
    let config = load(explicit)?;
    let Some(name) = name.or_else(|| config.as_ref()?.default_profile.as_deref()) else {
        return Ok(None);
    };
    let name = name.to_owned();
    let Some(config) = config else {
        // An explicit --config that does not exist was refused by `load`.
        let place = default_place().map_or_else(
            || "no config directory: set --config or FALCON_CONFIG".to_owned(),
            |p| format!("none at {}", p.display()),
        );
        return Err(usage(format!(
            "unknown profile {name:?}: there is no config file ({place})"
        )));
    };
    let known: Vec<&str> = config.profiles.iter().map(|p| p.name.as_str()).collect();
    let known = if known.is_empty() {
        "it has none".to_owned()
    } else {
        format!("it has {}", known.join(", "))
    };
    let path = config.path.display().to_string();
    config
        .profiles
        .into_iter()
        .find(|p| p.name == name)
        .map(Some)
        .ok_or_else(|| {
            usage(format!(
                "unknown profile {name:?} in the config file {path} ({known})"
            ))
        })
}

/// The config file's text turned into profiles. `mode`: the file's permission bits. Others
/// who may change the file could make it run any command or send the secret anywhere, so
/// that is refused whatever it holds; a secret written into it must be the owner's alone.
fn parse(path: &Path, text: &str, mode: u32) -> Result<Config, Failure> {
    if mode & 0o022 != 0 {
        return Err(usage(format!(
            "the config file {} may be changed by others (mode {}), who could make it run \
             commands or send secrets elsewhere; run `chmod go-w {}`",
            path.display(),
            mode_text(mode),
            path.display()
        )));
    }
    let file: File = toml::from_str(text).map_err(|e| {
        usage(format!(
            "the config file {} is invalid: {e}",
            path.display()
        ))
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut profiles = Vec::with_capacity(file.profiles.len());
    for (name, entry) in file.profiles {
        let secret = secret_source(&name, entry_sources(&entry, base), mode, path)?;
        let map = entry
            .map
            .as_ref()
            .map(column_map)
            .transpose()
            .map_err(|e| usage(format!("profile {name:?} in {}: map: {e}", path.display())))?;
        profiles.push(Profile {
            map,
            is_default: file.default_profile.as_deref() == Some(name.as_str()),
            name,
            client_id: entry.client_id,
            cloud: entry.cloud,
            member_cid: entry.member_cid,
            secret,
        });
    }
    if let Some(default) = &file.default_profile
        && !profiles.iter().any(|p| &p.name == default)
    {
        return Err(usage(format!(
            "the config file {} names default_profile {default:?}, which it does not define",
            path.display()
        )));
    }
    Ok(Config {
        path: path.to_owned(),
        profiles,
        default_profile: file.default_profile,
    })
}

/// The column mapping a profile's `map` writes, checked as `--map` is.
fn column_map(setting: &MapSetting) -> Result<ColumnMap, falcon_users::Error> {
    match setting {
        MapSetting::Text(text) => text.parse(),
        MapSetting::Table(table) => table
            .iter()
            .try_fold(ColumnMap::new(), |map, (column, header)| {
                map.with(column, header)
            }),
    }
}

/// Every secret source a profile names (at most one is allowed).
fn entry_sources(entry: &Entry, base: &Path) -> Vec<SecretSource> {
    let timeout = entry
        .secret_command_timeout
        .map_or(DEFAULT_COMMAND_TIMEOUT, Duration::from_secs);
    let mut sources = Vec::new();
    if let Some(Literal(secret)) = &entry.client_secret {
        sources.push(SecretSource::Literal(secret.clone().into()));
    }
    if let Some(var) = &entry.client_secret_env {
        sources.push(SecretSource::Env(var.clone()));
    }
    if let Some(file) = &entry.client_secret_file {
        sources.push(SecretSource::File(resolve_path(file, base)));
    }
    if let Some(argv) = &entry.secret_command {
        sources.push(SecretSource::Command {
            argv: argv.clone(),
            timeout,
        });
    }
    sources
}

/// The one secret source of profile `name`, checked.
fn secret_source(
    name: &str,
    mut sources: Vec<SecretSource>,
    mode: u32,
    path: &Path,
) -> Result<Option<SecretSource>, Failure> {
    if sources.len() > 1 {
        return Err(usage(format!(
            "profile {name:?} in {} names more than one of client_secret, client_secret_env, \
             client_secret_file and secret_command; keep one",
            path.display()
        )));
    }
    let source = sources.pop();
    match &source {
        Some(SecretSource::Literal(_)) if mode & 0o077 != 0 => Err(usage(format!(
            "profile {name:?}: the config file {} holds a client_secret but others may read it \
             (mode {}); run `chmod 600 {}`, or move the secret to client_secret_file, \
             client_secret_env or secret_command",
            path.display(),
            mode_text(mode),
            path.display()
        ))),
        Some(SecretSource::Command { argv, .. }) if argv.first().is_none_or(String::is_empty) => {
            Err(usage(format!(
                "profile {name:?} in {}: secret_command is empty; give the program and its \
                 arguments, e.g. [\"pass\", \"show\", \"falcon/prod\"]",
                path.display()
            )))
        }
        _ => Ok(source),
    }
}

/// `~/x` below `HOME`; a relative path below the config file's directory.
fn resolve_path(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

fn usage(message: String) -> Failure {
    Failure::Exit(exit::USAGE, message)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    fn parsed(text: &str, mode: u32) -> Result<Config, String> {
        parse(Path::new("/cfg/falcon-users/config.toml"), text, mode).map_err(|e| e.to_string())
    }

    #[test]
    fn default_path_follows_xdg_then_home() {
        let cases: [(Option<&str>, Option<&str>, Option<&str>); 5] = [
            (
                Some("/x"),
                Some("/home/a"),
                Some("/x/falcon-users/config.toml"),
            ),
            (
                None,
                Some("/home/a"),
                Some("/home/a/.config/falcon-users/config.toml"),
            ),
            (
                Some("relative"),
                Some("/home/a"),
                Some("/home/a/.config/falcon-users/config.toml"),
            ),
            (None, Some("relative"), None),
            (None, None, None),
        ];
        for (xdg, home, want) in cases {
            let got = BaseDir::Config.file_in(xdg.map(OsStr::new), home.map(OsStr::new), FILE_NAME);
            assert_eq!(got.as_deref(), want.map(Path::new), "{xdg:?} {home:?}");
        }
    }

    #[test]
    fn profiles_are_read_with_their_secret_sources() {
        let config = parsed(
            r#"
            default_profile = "b"
            [profiles.a]
            client_id = "id-a"
            cloud = "us-2"
            secret_command = ["pass", "show", "a"]
            secret_command_timeout = 5
            [profiles.b]
            client_id = "id-b"
            member_cid = "0123456789abcdef0123456789abcdef"
            client_secret_file = "b.secret"
            [profiles.c]
            client_secret_env = "C_SECRET"
            [profiles.d]
            "#,
            0o644,
        )
        .expect("valid");
        let names: Vec<(&str, bool)> = config
            .profiles
            .iter()
            .map(|p| (p.name.as_str(), p.is_default))
            .collect();
        assert_eq!(
            names,
            [("a", false), ("b", true), ("c", false), ("d", false)]
        );
        let secrets: Vec<String> = config
            .profiles
            .iter()
            .map(|p| p.secret.as_ref().map_or("-".into(), ToString::to_string))
            .collect();
        assert_eq!(
            secrets,
            [
                "command pass",
                "file /cfg/falcon-users/b.secret",
                "environment variable C_SECRET",
                "-"
            ]
        );
        assert!(matches!(
            config.profiles[0].secret,
            Some(SecretSource::Command { timeout, .. }) if timeout == Duration::from_secs(5)
        ));
    }

    #[test]
    fn a_profile_map_is_a_table_or_the_text_of_map_and_is_checked() {
        let config = parsed(
            r#"
            [profiles.hr]
            map = { uid = "Email", first_name = "First Name" }
            [profiles.text]
            map = 'uid=Email,last_name="Last, Name"'
            [profiles.none]
            "#,
            0o600,
        )
        .expect("valid");
        let maps: Vec<Option<String>> = config
            .profiles
            .iter()
            .map(|p| p.map.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(
            maps,
            [
                Some("first_name=First Name,uid=Email".to_owned()),
                None,
                Some("uid=Email,last_name=\"Last, Name\"".to_owned()),
            ]
        );
        for (text, want) in [
            (
                "[profiles.a.map]\nuid = \"Email\"\nfrist_name = \"First\"",
                "profile \"a\" in /cfg/falcon-users/config.toml: map: invalid column mapping: unknown roster column \"frist_name\"; did you mean first_name?",
            ),
            (
                "[profiles.a]\nmap = \"Email\"",
                "\"Email\" is not COLUMN=HEADER",
            ),
        ] {
            let err = parsed(text, 0o600).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn bad_config_files_are_refused_with_the_reason() {
        let cases = [
            ("[profiles.a]\nclient_idd = \"x\"", 0o600, "unknown field"),
            ("default_profile = \"zz\"", 0o600, "does not define"),
            (
                "[profiles.a]\nclient_secret_env = \"X\"\nsecret_command = [\"x\"]",
                0o600,
                "more than one",
            ),
            (
                "[profiles.a]\nsecret_command = []",
                0o600,
                "secret_command is empty",
            ),
            (
                "[profiles.a]\nsecret_command = \"pass show x\"",
                0o600,
                "invalid type",
            ),
            (
                "[profiles.a]\nclient_secret = \"s3cr3t-literal\"",
                0o644,
                "others may read it (mode 0644)",
            ),
            (
                "[profiles.a]\nsecret_command = [\"pass\"]",
                0o664,
                "may be changed by others (mode 0664)",
            ),
            ("", 0o602, "chmod go-w"),
        ];
        for (text, mode, want) in cases {
            let err = parsed(text, mode).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
            assert!(!err.contains("s3cr3t-literal"), "{err}");
        }
        let private = parsed("[profiles.a]\nclient_secret = \"s3cr3t-literal\"", 0o600)
            .expect("a private file may hold a secret");
        assert!(!format!("{private:?}").contains("s3cr3t-literal"));
    }
}
