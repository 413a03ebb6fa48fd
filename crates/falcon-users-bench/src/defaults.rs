//! Settings as the command line gives them with no flags, so that each default is written once,
//! in its `#[arg]` attribute (the scenarios' and the simulator's alike).

use anyhow::Result;

/// `T` parsed from an empty command line.
pub(crate) fn defaults<T: clap::Args + clap::FromArgMatches>() -> Result<T> {
    let command = T::augment_args(clap::Command::new("defaults"));
    let matches = command.try_get_matches_from(["defaults"])?;
    Ok(T::from_arg_matches(&matches)?)
}
