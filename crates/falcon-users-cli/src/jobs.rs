//! Each command's arguments resolved into a typed job: which form of the command runs, holding
//! only what that form reads. Clap has already checked what the grammar states (required and
//! conflicting flags); a job decides the form, so a command never inspects flags to choose.

use std::path::PathBuf;

use crate::cli::{OffboardArgs, ProvisionArgs};
use crate::exit;
use crate::failure::Failure;
use crate::member_cids::MemberCids;

/// `provision`: one user, or every row of a roster.
#[derive(Debug)]
pub enum Provision {
    /// `provision LOGIN --roles ...`
    One(ProvisionOne),
    /// `provision --from FILE`
    FromFile(ProvisionFromFile),
}

/// One user created and granted roles by the provisioning workflow.
#[derive(Debug)]
pub struct ProvisionOne {
    /// The login (email).
    pub uid: String,
    /// The roles, by id or display name, as written.
    pub roles: Vec<String>,
    /// First and last name, when both were given.
    pub names: Option<(String, String)>,
    /// Keep the user when the grant fails.
    pub keep_on_failure: bool,
    /// Use the legacy create operation.
    pub legacy: bool,
}

/// Every row of a roster, provisioned as one bulk change.
#[derive(Debug)]
pub struct ProvisionFromFile {
    /// The roster (CSV or JSON).
    pub file: PathBuf,
    /// Show what would be done, change nothing.
    pub dry_run: bool,
    /// The member CIDs the rows may name.
    pub member_cids: Option<MemberCids>,
    /// Append a JSON line per action here.
    pub journal: Option<PathBuf>,
    /// Changes in flight.
    pub concurrency: usize,
}

impl TryFrom<ProvisionArgs> for Provision {
    type Error = Failure;

    fn try_from(args: ProvisionArgs) -> Result<Self, Failure> {
        if let Some(file) = args.from {
            return Ok(Provision::FromFile(ProvisionFromFile {
                file,
                dry_run: args.dry_run,
                member_cids: args.member_cids,
                journal: args.journal,
                concurrency: args.concurrency,
            }));
        }
        // Clap requires a login without --from; a job built otherwise still gets a usage error.
        let uid = args.uid.ok_or_else(|| {
            Failure::Exit(
                exit::USAGE,
                "give a login and --roles, or --from FILE".into(),
            )
        })?;
        Ok(Provision::One(ProvisionOne {
            uid,
            roles: args.roles,
            names: args.first_name.zip(args.last_name),
            keep_on_failure: args.keep_on_failure,
            legacy: args.legacy,
        }))
    }
}

/// `offboard`: one user by the offboarding workflow, or several as one bulk change.
#[derive(Debug)]
pub enum Offboard {
    /// One user named, none of the bulk flags.
    One {
        /// The user (UUID or login).
        user: String,
        /// Show the plan, change nothing.
        dry_run: bool,
    },
    /// Several users, a file of them, or a flag only the bulk form has.
    Many(OffboardMany),
}

/// Users offboarded as one bulk change: one confirmation, one result table.
#[derive(Debug)]
pub struct OffboardMany {
    /// The users named on the command line.
    pub users: Vec<String>,
    /// A file of more users.
    pub from: Option<PathBuf>,
    /// An absent user is not a failure.
    pub missing_ok: bool,
    /// Look for each user in these member CIDs.
    pub member_cids: Option<MemberCids>,
    /// Show the plan, change nothing.
    pub dry_run: bool,
    /// Append a JSON line per action here.
    pub journal: Option<PathBuf>,
    /// Changes in flight.
    pub concurrency: usize,
}

impl From<OffboardArgs> for Offboard {
    fn from(mut args: OffboardArgs) -> Self {
        let bulk_flag = args.from.is_some()
            || args.missing_ok
            || args.member_cids.is_some()
            || args.journal.is_some();
        if args.users.len() == 1 && !bulk_flag {
            return Offboard::One {
                user: args.users.remove(0),
                dry_run: args.dry_run,
            };
        }
        Offboard::Many(OffboardMany {
            users: args.users,
            from: args.from,
            missing_ok: args.missing_ok,
            member_cids: args.member_cids,
            dry_run: args.dry_run,
            journal: args.journal,
            concurrency: args.concurrency,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn command(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("falcon-users").chain(args.iter().copied()))
            .expect("valid arguments")
            .command
    }

    fn provision(args: &[&str]) -> Provision {
        let Command::Provision(args) = command(args) else {
            panic!("not provision");
        };
        Provision::try_from(args).expect("a job")
    }

    fn offboard(args: &[&str]) -> Offboard {
        let Command::Offboard(args) = command(args) else {
            panic!("not offboard");
        };
        Offboard::from(args)
    }

    #[test]
    fn provision_is_one_user_or_a_roster() {
        match provision(&[
            "provision",
            "a@x.example",
            "--roles",
            "r1,Role Two",
            "--first-name",
            "A",
            "--last-name",
            "B",
            "--legacy",
        ]) {
            Provision::One(one) => {
                assert_eq!(one.uid, "a@x.example");
                assert_eq!(one.roles, ["r1", "Role Two"]);
                assert_eq!(one.names, Some(("A".into(), "B".into())));
                assert!(one.legacy && !one.keep_on_failure);
            }
            other => panic!("{other:?}"),
        }
        // A first name alone names nobody: the workflow is given no names.
        match provision(&[
            "provision",
            "a@x.example",
            "--roles",
            "r",
            "--first-name",
            "A",
        ]) {
            Provision::One(one) => assert_eq!(one.names, None),
            other => panic!("{other:?}"),
        }
        match provision(&[
            "provision",
            "--from",
            "r.csv",
            "--dry-run",
            "--concurrency",
            "3",
        ]) {
            Provision::FromFile(job) => {
                assert_eq!(job.file, PathBuf::from("r.csv"));
                assert!(job.dry_run);
                assert_eq!(job.concurrency, 3);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn offboard_is_one_user_unless_a_bulk_flag_or_several_users() {
        assert!(matches!(
            offboard(&["offboard", "a@x.example", "--dry-run"]),
            Offboard::One { user, dry_run: true } if user == "a@x.example"
        ));
        for args in [
            &["offboard", "a@x.example", "b@x.example"][..],
            &["offboard", "a@x.example", "--missing-ok"],
            &["offboard", "a@x.example", "--journal", "j.jsonl"],
            &[
                "offboard",
                "a@x.example",
                "--member-cids",
                "0123456789abcdef0123456789abcdef",
            ],
            &["offboard", "--from", "users.txt"],
        ] {
            assert!(
                matches!(offboard(args), Offboard::Many(_)),
                "{args:?} is a bulk offboard"
            );
        }
    }
}
