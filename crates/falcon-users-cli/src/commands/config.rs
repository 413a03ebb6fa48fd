//! `config profiles|path`: what the config file holds, never a secret.

use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{ConfigCommand, Global};
use crate::exit;
use crate::failure::{Failure, Outcome};
use crate::output::console;
use crate::output::{self, Column, Record, print_all, print_lines};
use crate::profile::{self, Profile};

/// One profile as listed.
#[derive(Debug, Serialize)]
struct ProfileRow {
    name: String,
    default: bool,
    client_id: Option<String>,
    cloud: Option<String>,
    member_cid: Option<String>,
    secret: String,
}

impl From<Profile> for ProfileRow {
    fn from(p: Profile) -> Self {
        ProfileRow {
            secret: p.secret.as_ref().map_or_else(
                || "from --client-secret or FALCON_CLIENT_SECRET".to_owned(),
                ToString::to_string,
            ),
            name: p.name,
            default: p.is_default,
            client_id: p.client_id,
            cloud: p.cloud,
            member_cid: p.member_cid,
        }
    }
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

impl Record for ProfileRow {
    fn columns() -> Vec<Column<Self>> {
        vec![
            Column {
                name: "name",
                cell: |r| r.name.clone(),
            },
            Column {
                name: "default",
                cell: |r| {
                    if r.default {
                        "yes".into()
                    } else {
                        String::new()
                    }
                },
            },
            Column {
                name: "client_id",
                cell: |r| text(&r.client_id),
            },
            Column {
                name: "cloud",
                cell: |r| text(&r.cloud),
            },
            Column {
                name: "member_cid",
                cell: |r| text(&r.member_cid),
            },
            Column {
                name: "secret",
                cell: |r| r.secret.clone(),
            },
        ]
    }
}

/// Runs a `config` subcommand; reads the config file only, connects nowhere.
pub fn run(global: &Global, command: &ConfigCommand) -> Outcome {
    let config = profile::load(global.config.as_deref())?;
    match command {
        ConfigCommand::Profiles => {
            let rows: Vec<ProfileRow> = match config {
                Some(config) => config.profiles.into_iter().map(ProfileRow::from).collect(),
                None => {
                    let place = profile::default_place()
                        .map_or_else(String::new, |p| format!(" at {}", p.display()));
                    console::line(format_args!("no config file{place}: no profiles"));
                    Vec::new()
                }
            };
            print_all(
                output::resolve(global.format.and_then(output::FormatArg::records)),
                &rows,
            )?;
        }
        ConfigCommand::Path => {
            let path = match config {
                Some(config) => config.path,
                None => profile::default_place().ok_or_else(|| {
                    Failure::Exit(
                        exit::USAGE,
                        "no config directory (neither XDG_CONFIG_HOME nor HOME is an absolute \
                         path): set --config or FALCON_CONFIG"
                            .into(),
                    )
                })?,
            };
            print_lines(&[path.display().to_string()])?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
