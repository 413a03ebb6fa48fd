//! Each command's arguments resolved into a typed job: which form of the command runs, holding
//! only what that form reads. Clap has already checked what the grammar states (required and
//! conflicting flags); a job decides the form, so a command never inspects flags to choose.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use falcon_users::types::CombinedUserRolesV2Sort;
use falcon_users::workflows::roster::{ColumnMap, RoleEdit};

use falcon_users::workflows::Fleet;

use crate::cli::{
    AccessArgs, ApplyArgs, AuthCommand, BulkUsers, Command, FleetCommand, GrantsCommand,
    InventoryArgs, OffboardArgs, PlanArgs, ProvisionArgs, ReviewAction, ReviewApplyArgs,
    ReviewArgs, RolesCommand, RosterArgs, UsersCommand,
};
use crate::exit;
use crate::failure::Failure;
use crate::input;
use crate::member_cids::{MemberCids, Use};

/// A command that works against a tenant, its arguments resolved into the job it runs. Made
/// before connecting, so that arguments the grammar cannot refuse are refused without a token
/// request (and without credentials).
#[derive(Debug)]
pub enum Job {
    /// `users ...`.
    Users(UsersCommand),
    /// `roles ...`.
    Roles(RolesCommand),
    /// `grants ...`.
    Grants(Grants),
    /// `provision`.
    Provision(Provision),
    /// `offboard`.
    Offboard(Offboard),
    /// `inventory`.
    Inventory(InventoryArgs),
    /// `children`.
    Children,
    /// `access USER`.
    Access(Access),
    /// `review`.
    Review(ReviewArgs),
    /// `review apply FILE`.
    ReviewApply(ReviewApplyArgs),
    /// `roster`.
    Roster(RosterArgs),
    /// `plan`.
    Plan(PlanArgs),
    /// `apply`.
    Apply(ApplyArgs),
    /// `fleet ...`.
    Fleet(FleetCommand),
    /// `auth ...`.
    Auth(AuthCommand),
}

impl TryFrom<Command> for Job {
    type Error = Failure;

    fn try_from(command: Command) -> Result<Self, Failure> {
        let job = Job::of(command)?;
        job.claim_stdin()
            .map_err(|reason| Failure::Exit(exit::USAGE, reason))?;
        Ok(job)
    }
}

impl Job {
    fn of(command: Command) -> Result<Self, Failure> {
        Ok(match command {
            Command::Users(c) => Job::Users(c),
            Command::Roles(c) => Job::Roles(c),
            Command::Grants(c) => Job::Grants(c.try_into()?),
            Command::Provision(a) => Job::Provision(a.try_into()?),
            Command::Offboard(a) => Job::Offboard(a.into()),
            Command::Inventory(a) => Job::Inventory(a),
            Command::Children => Job::Children,
            Command::Access(a) => Job::Access(a.into()),
            Command::Review(ReviewArgs {
                action: Some(ReviewAction::Apply(a)),
                ..
            }) => Job::ReviewApply(a),
            Command::Review(a) if a.action.is_none() => Job::Review(a),
            Command::Roster(a) => Job::Roster(a),
            Command::Plan(a) => Job::Plan(a),
            Command::Apply(a) => Job::Apply(a),
            Command::Fleet(c) => Job::Fleet(c),
            Command::Auth(c) => Job::Auth(c),
            Command::Sim(_)
            | Command::Config(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::History(_)
            | Command::Review(_) => {
                return Err(Failure::Exit(
                    exit::USAGE,
                    "this command takes no connection".into(),
                ));
            }
        })
    }
}

impl Job {
    /// Claims standard input for the job's file argument given as `-` (see
    /// [`input::claim`]): `-` also given for `--member-cids @-` (read as the arguments were
    /// parsed) is refused here, before connecting.
    fn claim_stdin(&self) -> Result<(), String> {
        let (path, what) = match self {
            Job::Provision(Provision::FromFile(job)) => (&job.file, "roster"),
            Job::Plan(args) => (&args.roster, "roster"),
            Job::Apply(args) => (&args.file, "roster"),
            Job::Offboard(Offboard::Many(OffboardMany {
                from: Some(file), ..
            })) => (file, "list of users"),
            Job::Grants(Grants::Many(EditRoles {
                users: Users::File(file),
                ..
            })) => (file, "list of users"),
            _ => return Ok(()),
        };
        input::claim(path, what)
    }

    /// The `--member-cids` of the job (or `grants`' `--cid`), when it has some, whether the job
    /// changes the tenants they name, and the flag's name (for messages): what is resolved against the children once connected
    /// ([`MemberCids::resolve`]), whichever command took it. `plan` counts as a change: its
    /// plan is what `apply` carries out.
    pub fn member_cids_mut(&mut self) -> Option<(&mut MemberCids, Use, &'static str)> {
        let (members, use_) = match self {
            Job::Grants(Grants::List { cids, .. }) => {
                return cids.as_mut().map(|c| (c, Use::Read, "--cid"));
            }
            Job::Grants(Grants::Grant { cids, .. } | Grants::Revoke { cids, .. }) => {
                return cids.as_mut().map(|c| (c, Use::Change, "--cid"));
            }
            Job::Grants(Grants::Many(edit)) => (edit.member_cids.as_mut(), Use::Change),
            Job::Provision(Provision::FromFile(job)) => (job.member_cids.as_mut(), Use::Change),
            Job::Offboard(Offboard::Many(job)) => (job.member_cids.as_mut(), Use::Change),
            Job::Plan(args) => (args.planning.member_cids.as_mut(), Use::Change),
            Job::Apply(args) => (args.planning.member_cids.as_mut(), Use::Change),
            Job::Inventory(args) => (args.member_cids.as_mut(), Use::Read),
            Job::Review(args) => (args.member_cids.as_mut(), Use::Read),
            Job::Roster(args) => (args.member_cids.as_mut(), Use::Read),
            Job::Users(_)
            | Job::Roles(_)
            | Job::Provision(_)
            | Job::Offboard(_)
            | Job::Children
            | Job::ReviewApply(_)
            | Job::Fleet(_)
            // The library discovers (it needs the children's names too): once.
            | Job::Access(_)
            | Job::Auth(_) => (None, Use::Read),
        };
        members.map(|m| (m, use_, "--member-cids"))
    }
}

/// `access USER`: one person, in the own CID and the children `fleet` names.
#[derive(Debug)]
pub struct Access {
    /// UUID or login.
    pub user: String,
    /// The children: discovered (falling back to the own CID without the scope), every child
    /// (`all`: discovery must work), or as listed.
    pub fleet: Fleet,
    /// Children read at once.
    pub children: usize,
}

impl From<AccessArgs> for Access {
    fn from(args: AccessArgs) -> Self {
        let fleet = match args.member_cids {
            None => Fleet::Discover,
            Some(members) if members.is_all() => Fleet::All,
            Some(members) => Fleet::Listed(members.0),
        };
        Access {
            user: args.user,
            fleet,
            children: args.children,
        }
    }
}

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
    /// The roster (CSV or JSON; `-`: standard input).
    pub file: PathBuf,
    /// `--map`: the roster's columns by header.
    pub map: Option<ColumnMap>,
    /// `--roles`: the roles of a row that names none.
    pub roles: Vec<String>,
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
                map: args.map,
                roles: args.roles,
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
    /// `--map`: the file's login column by header.
    pub map: Option<ColumnMap>,
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
            map: args.map,
            missing_ok: args.missing_ok,
            member_cids: args.member_cids,
            dry_run: args.dry_run,
            journal: args.journal,
            concurrency: args.concurrency,
        })
    }
}

/// `grants`: a listing, a change to one user, or one edit for many users.
#[derive(Debug)]
pub enum Grants {
    /// `grants list USER`
    List {
        /// UUID or login.
        user: String,
        /// The child CIDs to list in (`--cid`).
        cids: Option<MemberCids>,
        /// The order.
        sort: Option<CombinedUserRolesV2Sort>,
    },
    /// `grants grant USER ROLE...`
    Grant {
        /// UUID or login.
        user: String,
        /// The roles, by id or display name, as written.
        roles: Vec<String>,
        /// End the grant after this many hours.
        expires_in_hours: Option<u32>,
        /// End the grant at this time.
        expires_at: Option<DateTime<Utc>>,
        /// The child CIDs to grant in (`--cid`).
        cids: Option<MemberCids>,
    },
    /// `grants revoke USER ROLE...`
    Revoke {
        /// UUID or login.
        user: String,
        /// The roles, by id or display name, as written.
        roles: Vec<String>,
        /// The child CIDs to revoke in (`--cid`).
        cids: Option<MemberCids>,
    },
    /// `grants grant|revoke|set ... --users-from FILE | --filter FQL`
    Many(EditRoles),
}

/// One role edit for every user a file names or a filter matches, as one bulk change.
#[derive(Debug)]
pub struct EditRoles {
    /// Grant, revoke or set.
    pub edit: RoleEdit,
    /// The roles, by id or display name, as written.
    pub roles: Vec<String>,
    /// Who.
    pub users: Users,
    /// `--map`: the login column of `--users-from` by header.
    pub map: Option<ColumnMap>,
    /// Look for each user in these member CIDs.
    pub member_cids: Option<MemberCids>,
    /// Append a JSON line per action here.
    pub journal: Option<PathBuf>,
    /// Show what would change, change nothing.
    pub dry_run: bool,
    /// Reads and changes in flight.
    pub concurrency: usize,
}

/// The users of a bulk role edit.
#[derive(Debug)]
pub enum Users {
    /// One login a line, or a table's login column.
    File(PathBuf),
    /// The users an FQL filter matches.
    Filter(String),
}

impl EditRoles {
    /// The bulk edit, when `bulk` names the users; otherwise the words (user and roles) back,
    /// for the one-user form.
    fn of(edit: RoleEdit, roles: Vec<String>, bulk: BulkUsers) -> Result<Self, Vec<String>> {
        let users = match (bulk.users_from, bulk.filter) {
            (Some(file), _) => Users::File(file),
            (None, Some(fql)) => Users::Filter(fql),
            (None, None) => return Err(roles),
        };
        Ok(EditRoles {
            edit,
            roles,
            users,
            map: bulk.map,
            member_cids: bulk.member_cids,
            journal: bulk.journal,
            dry_run: bulk.dry_run,
            concurrency: bulk.concurrency,
        })
    }
}

impl TryFrom<GrantsCommand> for Grants {
    type Error = Failure;

    fn try_from(command: GrantsCommand) -> Result<Self, Failure> {
        Ok(match command {
            GrantsCommand::List { user, cid, sort } => Grants::List {
                user,
                cids: cid,
                sort,
            },
            // With a file or a filter, the first word after `grant` is a role, not a user.
            GrantsCommand::Grant {
                user,
                roles,
                expires_in_hours,
                expires_at,
                cid,
                bulk,
            } => match EditRoles::of(
                RoleEdit::Grant,
                [user].into_iter().chain(roles).collect(),
                bulk,
            ) {
                Ok(many) => Grants::Many(many),
                Err(mut words) => Grants::Grant {
                    user: words.remove(0),
                    roles: words,
                    expires_in_hours,
                    expires_at,
                    cids: cid,
                },
            },
            GrantsCommand::Revoke {
                user,
                roles,
                cid,
                bulk,
            } => match EditRoles::of(
                RoleEdit::Revoke,
                [user].into_iter().chain(roles).collect(),
                bulk,
            ) {
                Ok(many) => Grants::Many(many),
                Err(mut words) => Grants::Revoke {
                    user: words.remove(0),
                    roles: words,
                    cids: cid,
                },
            },
            GrantsCommand::Set { roles, bulk } => {
                Grants::Many(EditRoles::of(RoleEdit::Set, roles, bulk).map_err(|_| {
                    Failure::Exit(
                        exit::USAGE,
                        "grants set needs --users-from FILE or --filter FQL".into(),
                    )
                })?)
            }
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
            "--roles",
            "falcon_console_guest",
            "--map",
            "uid=Email,first_name=First Name",
        ]) {
            Provision::FromFile(job) => {
                assert_eq!(job.file, PathBuf::from("r.csv"));
                assert!(job.dry_run);
                assert_eq!(job.concurrency, 3);
                // The batch's default roles, no longer refused beside --from.
                assert_eq!(job.roles, ["falcon_console_guest"]);
                assert_eq!(
                    job.map.map(|m| m.to_string()).as_deref(),
                    Some("uid=Email,first_name=First Name")
                );
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

    fn grants(args: &[&str]) -> Result<Grants, Failure> {
        let Command::Grants(command) = command(args) else {
            panic!("not grants");
        };
        Grants::try_from(command)
    }

    #[test]
    fn grants_with_a_file_or_a_filter_are_one_edit_whose_first_word_is_a_role() {
        match grants(&[
            "grants",
            "grant",
            "a@x.example",
            "r1",
            "--cid",
            "0123456789abcdef0123456789abcdef",
        ]) {
            Ok(Grants::Grant {
                user, roles, cids, ..
            }) => {
                assert_eq!(
                    (user.as_str(), roles),
                    ("a@x.example", vec!["r1".to_owned()])
                );
                let cids = cids.expect("--cid").0;
                assert_eq!(cids, ["0123456789abcdef0123456789abcdef".parse().unwrap()]);
            }
            other => panic!("{other:?}"),
        }
        match grants(&[
            "grants",
            "revoke",
            "r1",
            "r2",
            "--users-from",
            "u.txt",
            "--dry-run",
        ]) {
            Ok(Grants::Many(job)) => {
                assert_eq!(job.edit, RoleEdit::Revoke);
                assert_eq!(job.roles, ["r1", "r2"]);
                assert!(matches!(job.users, Users::File(ref f) if f == &PathBuf::from("u.txt")));
                assert!(job.dry_run);
            }
            other => panic!("{other:?}"),
        }
        match grants(&["grants", "set", "r1", "--filter", "uid:'*@x.example'"]) {
            Ok(Grants::Many(job)) => {
                assert_eq!(job.edit, RoleEdit::Set);
                assert!(matches!(job.users, Users::Filter(ref f) if f == "uid:'*@x.example'"));
            }
            other => panic!("{other:?}"),
        }
        match grants(&["grants", "set", "r1"]) {
            Err(failure) => {
                assert_eq!(failure.exit_code(), exit::USAGE);
                assert_eq!(
                    failure.to_string(),
                    "grants set needs --users-from FILE or --filter FQL"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
