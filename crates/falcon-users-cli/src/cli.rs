//! Command-line grammar.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use falcon_users::types::{CombinedUserRolesV2Sort, QueryUserV1Sort};
use falcon_users::workflows::review::FindingKind;
use falcon_users::workflows::roster::ColumnMap;

use crate::expiry;
use crate::member_cids::{self, MemberCids};
use crate::output::FormatArg;

/// User lifecycle work on CrowdStrike Falcon: inventory, provisioning, offboarding, role changes.
///
/// Credentials come from flags, FALCON_CLIENT_ID / FALCON_CLIENT_SECRET / FALCON_CLOUD /
/// FALCON_MEMBER_CID, or a profile of the config file (--profile; see `config profiles`), in
/// that order of precedence. With --simulate (or FALCON_CLOUD=simulator) every command runs against an
/// embedded simulator seeded with a realistic tenant: no Falcon tenant needed. The simulated
/// tenant is kept between commands in $XDG_STATE_HOME/falcon-users/sim-tenant.json
/// (~/.local/state/falcon-users/sim-tenant.json when XDG_STATE_HOME is unset; see --sim-state),
/// so a session sees its own changes; --sim-reset starts over.
#[derive(Debug, Parser)]
#[command(name = "falcon-users", version, propagate_version = true)]
// A build without the simulator says nothing of it.
#[cfg_attr(
    not(feature = "simulator"),
    command(
        long_about = "User lifecycle work on CrowdStrike Falcon: inventory, provisioning, \
        offboarding, role changes.\n\nCredentials come from flags, FALCON_CLIENT_ID / \
        FALCON_CLIENT_SECRET / FALCON_CLOUD / FALCON_MEMBER_CID, or a profile of the config file \
        (--profile; see `config profiles`), in that order of precedence."
    )
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, in a help section of their own after the command's options.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Use this profile of the config file (see `config profiles`) for the client id, cloud,
    /// member CID and secret; flags and environment variables override it.
    #[arg(
        long,
        env = "FALCON_PROFILE",
        global = true,
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub profile: Option<String>,
    /// The config file with the profiles [default: $XDG_CONFIG_HOME/falcon-users/config.toml,
    /// or ~/.config/falcon-users/config.toml].
    #[arg(
        long,
        env = "FALCON_CONFIG",
        global = true,
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// API client id.
    #[arg(long, env = "FALCON_CLIENT_ID", global = true, hide_env_values = true)]
    pub client_id: Option<String>,
    /// API client secret (prefer the environment variable or a profile: flags show up in
    /// process lists).
    #[arg(
        long,
        env = "FALCON_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// Cloud: us-1, us-2, us-3, eu-1, us-gov-1, us-gov-2, a URL, or `simulator`.
    #[cfg_attr(
        not(feature = "simulator"),
        arg(help = "Cloud: us-1, us-2, us-3, eu-1, us-gov-1, us-gov-2, or a URL")
    )]
    #[arg(long, env = "FALCON_CLOUD", global = true, hide_env_values = true)]
    pub cloud: Option<String>,
    /// Flight Control: act in this member CID.
    #[arg(long, env = "FALCON_MEMBER_CID", global = true, hide_env_values = true)]
    pub member_cid: Option<String>,
    /// Output format (default: table on a terminal, json otherwise); html: `review`'s page.
    #[arg(long, short = 'f', global = true, value_enum)]
    pub format: Option<FormatArg>,
    /// Do not ask before destructive changes.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// After changing the tenant, wait up to SECS for the service to show the changes (its
    /// listings lag its writes, by 30 s and more), so that a command run right after sees them;
    /// 0 returns at once. A service without lag costs one read.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 90)]
    pub settle: u64,
    /// More logging on stderr (-v info, -vv debug, -vvv trace). Secrets are never logged.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors on stderr (no progress, counts or notes): for cron and systemd.
    /// What a command prints on stdout is its data, and stays.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Also write a summary of the run as JSON to FILE when it ends, whatever the outcome: the
    /// command, start and end, exit code and its reason, requests, and the counts the command
    /// showed (plan, results, findings); for a monitoring system.
    #[arg(long, global = true, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// The simulator's flags.
    #[command(flatten)]
    pub sim: SimFlags,
}

/// The embedded simulator's flags, after the other global options.
#[cfg(feature = "simulator")]
#[derive(Debug, Args)]
pub struct SimFlags {
    /// Run against an embedded simulator instead of Falcon.
    #[arg(long, global = true, help_heading = "Simulator")]
    pub simulate: bool,
    /// Keep the simulated tenant in this file [default: $XDG_STATE_HOME/falcon-users/sim-tenant.json,
    /// or ~/.local/state/falcon-users/sim-tenant.json]. One command at a time uses it (others
    /// wait for its lock, `sim-tenant.lock` beside it).
    #[arg(
        long,
        env = "FALCON_SIM_STATE",
        global = true,
        hide_env_values = true,
        value_name = "FILE",
        help_heading = "Simulator"
    )]
    pub sim_state: Option<PathBuf>,
    /// Start over: replace the saved simulated tenant with a newly seeded one (the same tenant
    /// every time for the same --sim-users).
    #[arg(long, global = true, help_heading = "Simulator")]
    pub sim_reset: bool,
    /// Users in a newly seeded simulated tenant (at most 200,000): on first use or with
    /// --sim-reset; a saved tenant keeps the users it has.
    #[arg(
        long,
        global = true,
        default_value_t = 200,
        value_name = "N",
        value_parser = falcon_users_sim::config::parse_users,
        help_heading = "Simulator"
    )]
    pub sim_users: usize,
    /// Make the simulator's reads of users and grants lag its writes by SECS seconds (at most
    /// 3600), as the service's listings lag by 30 s and more. Time is simulated: the command's
    /// waits move the simulator's clock instead of sleeping (-vv logs the simulated time).
    /// Only with --simulate, FALCON_CLOUD=simulator or `sim`.
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        value_parser = falcon_users_sim::config::parse_read_lag,
        help_heading = "Simulator"
    )]
    pub sim_read_lag: Option<std::time::Duration>,
}

/// A build without the embedded simulator still knows its flags, hidden, so that using one is
/// refused with a message naming the missing feature (not clap's bare "unexpected argument").
#[cfg(not(feature = "simulator"))]
#[derive(Debug, Args)]
pub struct SimFlags {
    /// Refused: this build has no simulator.
    #[arg(long, global = true, hide = true)]
    pub simulate: bool,
    /// Refused: this build has no simulator.
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub sim_state: Option<std::ffi::OsString>,
    /// Refused: this build has no simulator.
    #[arg(long, global = true, hide = true)]
    pub sim_reset: bool,
    /// Refused: this build has no simulator.
    #[arg(long, global = true, hide = true, value_name = "N")]
    pub sim_users: Option<std::ffi::OsString>,
    /// Refused: this build has no simulator.
    #[arg(long, global = true, hide = true, value_name = "SECS")]
    pub sim_read_lag: Option<std::ffi::OsString>,
}

#[cfg(not(feature = "simulator"))]
impl SimFlags {
    /// The first simulator flag given, if any.
    pub fn given(&self) -> Option<&'static str> {
        [
            (self.simulate, "--simulate"),
            (self.sim_state.is_some(), "--sim-state"),
            (self.sim_reset, "--sim-reset"),
            (self.sim_users.is_some(), "--sim-users"),
            (self.sim_read_lag.is_some(), "--sim-read-lag"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Users: list, get, create, update, delete, reset a password or second factor.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Roles: list the available ones, get details and permissions.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Grants: list a user's roles, grant, revoke, set (one user or many).
    #[command(subcommand)]
    Grants(GrantsCommand),
    /// Create a user and grant roles, checked first; idempotent.
    Provision(ProvisionArgs),
    /// Revoke every grant of a user, then delete them.
    Offboard(OffboardArgs),
    /// Every user with their grants, streamed.
    Inventory(InventoryArgs),
    /// One person's roles in every CID of the fleet, and why each is held.
    ///
    /// Each role with its source: direct, through a Flight Control link (its user group and
    /// CID group), or temporary (until when). By default the handle's own CID and every child (discovered, which needs the scope
    /// "Flight Control: Read" (mssp:read); without it, the own CID alone, with a note).
    Access(AccessArgs),
    /// Flight Control: the parent's child CIDs, with name and status.
    ///
    /// Needs the API client scope "Flight Control: Read" (mssp:read). `--member-cids all`
    /// works through the same children.
    Children,
    /// The access review: findings (user, CID, why) from one inventory read; --fail-on for
    /// scheduled jobs (exit 8).
    ///
    /// Findings, each a row with the user, the CID and why: no-roles, privileged (judged from what
    /// each role permits; when the permissions cannot be read, from the built-in administrator
    /// roles falcon_administrator, user_admin, falconhost_admin, remote_responder_three), stale,
    /// expiring, parent-in-child (a parent user's roles in a child, with --member-cids),
    /// child-cid-grant (a role held outside the user's home CID), inactive-with-roles. A summary
    /// (findings per kind, per role) comes first in a table, on stderr otherwise. Exit 8 when a
    /// finding named by --fail-on was found (5 when a child CID could not be reviewed).
    ///
    /// A file written with -o (.json, .jsonl, .csv) is evidence: it states when, by what,
    /// against which cloud and CIDs and with which options it was made, with a SHA-256 digest
    /// (in the .json itself; beside CSV and JSON lines in FILE.evidence.json). `review verify
    /// FILE` checks it.
    #[command(args_conflicts_with_subcommands = true)]
    Review(ReviewArgs),
    /// The review history: list the snapshots, diff two, who held a role on a date.
    ///
    /// Each `review` (and `inventory --save`) records a snapshot of everyone's effective access
    /// (and the findings) in a local SQLite database: by default
    /// $XDG_DATA_HOME/falcon-users/history.sqlite (or ~/.local/share/...), beside the simulated
    /// tenant under --simulate, or --history FILE. Connects nowhere.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Write the tenant's users as a roster (CSV) to edit, then `plan` and `apply`.
    Roster(RosterArgs),
    /// Plan the changes that make the tenant match a roster (CSV or JSON); changes nothing.
    Plan(PlanArgs),
    /// Apply a saved plan, or plan a roster and apply it, after confirmation.
    Apply(ApplyArgs),
    /// Flight Control access as code: groups and links in a TOML file; export, plan, apply.
    ///
    /// User groups (members), CID groups (child CIDs) and the links between them (roles), in a
    /// file to edit and review; `export`, `plan` and `apply` as for a roster. The fleet here is the parent's Flight Control groups (not `--member-cids`, which picks
    /// the child CIDs other commands work in). Needs the API client scopes "Flight Control:
    /// Read" and, to apply, "Flight Control: Write".
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Authentication checks.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Run the simulator in the foreground and print how to reach it.
    #[cfg_attr(not(feature = "simulator"), command(hide = true))]
    Sim(SimArgs),
    /// The config file's profiles (tenants): list them, show where the file is.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a completion script for bash, zsh, fish, powershell or elvish.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a directory.
    Man(ManArgs),
}

/// `users ...`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List users (optionally filtered with FQL, or by the questions below).
    List {
        /// FQL filter, e.g. "status:'active'".
        #[arg(long)]
        filter: Option<String>,
        /// Stop after this many users.
        #[arg(long)]
        limit: Option<usize>,
        /// Order: a field, optionally with |asc or |desc, e.g. "uid|desc" (fields: cid_name,
        /// created_at, first_name, has_temporary_roles, last_login_at, last_name, name,
        /// status, temporarily_assigned_cids, uid).
        #[arg(long, value_name = "FIELD[|asc|desc]", value_parser = parse_user_sort)]
        sort: Option<QueryUserV1Sort>,
        /// The everyday questions.
        #[command(flatten)]
        questions: UserQuestions,
    },
    /// Show users by UUID or login (email). A user not found is reported on stderr and the
    /// others are printed: exit 5 when some were found, 2 when none was.
    Get {
        /// UUIDs or emails.
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Create a user (no roles; see `provision`).
    Create {
        /// Login (email).
        uid: String,
        /// First name.
        #[arg(long)]
        first_name: Option<String>,
        /// Last name.
        #[arg(long)]
        last_name: Option<String>,
    },
    /// Rename a user.
    Update {
        /// UUID or email.
        user: String,
        /// New first name.
        #[arg(long)]
        first_name: Option<String>,
        /// New last name.
        #[arg(long)]
        last_name: Option<String>,
    },
    /// Delete a user (irreversible; asks unless --yes).
    Delete {
        /// UUID or email.
        user: String,
    },
    /// Send users a password reset (asks unless --yes).
    ResetPassword {
        /// UUIDs or emails.
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Reset users' two-factor authentication: they enrol again at their next login (asks
    /// unless --yes).
    #[command(name = "reset-2fa")]
    Reset2fa {
        /// UUIDs or emails.
        #[arg(required = true)]
        users: Vec<String>,
    },
}

/// A `users list --sort` value as the spec spells it (`uid`, `uid|asc`, `uid|desc`, ...).
/// `--map COLUMN=HEADER,...` (see [`ColumnMap`]).
fn parse_map(text: &str) -> Result<ColumnMap, String> {
    text.parse().map_err(|e: falcon_users::Error| e.to_string())
}

fn parse_user_sort(text: &str) -> Result<QueryUserV1Sort, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "not a sort of users; one of: {}",
            falcon_users::api::operations::QUERY_USER_V1
                .sort_values
                .join(", ")
        )
    })
}

/// A `grants list --sort` value as the spec spells it (`role_name`, `expires_at|desc`, ...).
fn parse_grant_sort(text: &str) -> Result<CombinedUserRolesV2Sort, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "not a sort of grants; one of: {}",
            falcon_users::api::operations::COMBINED_USER_ROLES_V2
                .sort_values
                .join(", ")
        )
    })
}

/// `roles ...`
#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Every role available in the CID.
    List {
        /// Order by id or display name (the service lists roles in no stated order).
        #[arg(long, value_enum, default_value_t = RoleSort::Id)]
        sort: RoleSort,
    },
    /// Role details, or with --permissions the permissions each role confers.
    Get {
        /// Role ids or display names.
        #[arg(required = true)]
        roles: Vec<String>,
        /// List each role's permissions instead (one row per role and permission).
        #[arg(long)]
        permissions: bool,
    },
}

/// The order of `roles list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleSort {
    /// By role id.
    Id,
    /// By display name, ignoring case.
    Name,
}

/// `grants ...`
#[derive(Debug, Subcommand)]
pub enum GrantsCommand {
    /// A user's grants.
    List {
        /// UUID or email.
        user: String,
        /// Flight Control: in these child CIDs (a parent user's roles there) instead of the
        /// handle's own: one CID, comma-separated CIDs, @FILE (one a line) or `all` (every
        /// child); with several, a child that cannot be read is reported and the others'
        /// grants listed (exit 5).
        #[arg(long, value_name = "CHILDREN", value_parser = member_cids::parse)]
        cid: Option<MemberCids>,
        /// Order: cid, expires_at, role_name, type or user_uuid, optionally with |asc or |desc
        /// [default: role_name].
        #[arg(long, value_name = "FIELD[|asc|desc]", value_parser = parse_grant_sort)]
        sort: Option<CombinedUserRolesV2Sort>,
    },
    /// Grant roles to a user, or (--users-from, --filter) to many.
    Grant {
        /// UUID or email (with --users-from or --filter: the first role).
        user: String,
        /// Role ids or display names.
        roles: Vec<String>,
        /// End the grant after this many hours (1 to 168; at the edges the time is kept a
        /// minute inside the window, so that it is still valid when the service checks it).
        #[arg(long, value_name = "HOURS", value_parser = expiry::hours_parser(), conflicts_with_all = ["expires_at", "users_from", "filter"])]
        expires_in_hours: Option<u32>,
        /// End the grant at this time: RFC 3339 (2030-01-02T15:04:05Z), 1 hour to 7 days from now.
        #[arg(long, value_name = "TIME", value_parser = expiry::parse_at, conflicts_with_all = ["users_from", "filter"])]
        expires_at: Option<DateTime<Utc>>,
        /// Flight Control: in these child CIDs (a parent user's roles there) instead of the
        /// handle's own: one CID, comma-separated CIDs, @FILE (one a line) or `all` (every
        /// child). Each is checked against the children before any change; with several, one
        /// result row per CID and exit 5 when some failed.
        #[arg(long, value_name = "CHILDREN", value_parser = member_cids::parse, conflicts_with_all = ["users_from", "filter"])]
        cid: Option<MemberCids>,
        /// Many users at once.
        #[command(flatten)]
        bulk: BulkUsers,
    },
    /// Revoke roles from a user, or (--users-from, --filter) from many (asks unless --yes).
    /// A role the user does not hold is reported "not held" and left alone (exit 0).
    Revoke {
        /// UUID or email (with --users-from or --filter: the first role).
        user: String,
        /// Role ids or display names.
        roles: Vec<String>,
        /// Flight Control: in these child CIDs (a parent user's roles there) instead of the
        /// handle's own: one CID, comma-separated CIDs, @FILE (one a line) or `all` (every
        /// child). Each is checked against the children before any change; with several, one
        /// result row per CID and exit 5 when some failed.
        #[arg(long, value_name = "CHILDREN", value_parser = member_cids::parse, conflicts_with_all = ["users_from", "filter"])]
        cid: Option<MemberCids>,
        /// Many users at once.
        #[command(flatten)]
        bulk: BulkUsers,
    },
    /// Give many users exactly these roles: grant the missing, revoke the others (asks unless
    /// --yes).
    Set {
        /// Role ids or display names.
        #[arg(required = true)]
        roles: Vec<String>,
        /// The users (--users-from or --filter is required).
        #[command(flatten)]
        bulk: BulkUsers,
    },
}

/// The users of a bulk `grants` command.
#[derive(Debug, Args)]
pub struct BulkUsers {
    /// The users of this file (`-`: standard input): one login per line, or a table with a
    /// header whose login column is named uid, login, email, user (or as --map names it).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "filter",
        group = "users_source"
    )]
    pub users_from: Option<PathBuf>,
    /// With --users-from: the file's login column, as `uid=HEADER` (such as uid=Email)
    /// [default: the profile's `map`, else a column named uid, login, email or user].
    #[arg(long, value_name = "uid=HEADER", value_parser = parse_map, requires = "users_from")]
    pub map: Option<ColumnMap>,
    /// The users this FQL filter matches (such as uid:'*@corp.example.com').
    #[arg(long, value_name = "FQL", group = "users_source")]
    pub filter: Option<String>,
    /// Flight Control: work in these member CIDs instead of the handle's own, each with its
    /// own token and rate budget (comma-separated, @FILE with one per line, or `all` for every
    /// child); every user
    /// named is looked for in each of them, by login. Results are labelled by CID.
    #[arg(long, value_name = "LIST", value_parser = member_cids::parse, requires = "users_source")]
    pub member_cids: Option<MemberCids>,
    /// Append a JSON line per action to this file (time, CID, user, action, outcome, trace id),
    /// as `apply` does.
    #[arg(long, value_name = "FILE", requires = "users_source")]
    pub journal: Option<PathBuf>,
    /// Show what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Reads and changes in flight.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// `provision ...`
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// Login (email).
    #[arg(required_unless_present = "from", conflicts_with = "from")]
    pub uid: Option<String>,
    /// Roles to grant, by id or display name (comma-separated or repeated). With --from: the
    /// roles of every row that names none (a row's own roles win).
    #[arg(long, value_delimiter = ',', required_unless_present = "from")]
    pub roles: Vec<String>,
    /// First name.
    #[arg(long, conflicts_with = "from")]
    pub first_name: Option<String>,
    /// Last name.
    #[arg(long, conflicts_with = "from")]
    pub last_name: Option<String>,
    /// Keep the user when the grant fails (default: delete it again).
    #[arg(long, conflicts_with = "from")]
    pub keep_on_failure: bool,
    /// Use the legacy CreateUser operation.
    #[arg(long, conflicts_with = "from")]
    pub legacy: bool,
    /// Provision every row of a roster (CSV or JSON, as for `plan`; `-`: standard input):
    /// created with its roles, or, when the login exists, given the roles it lacks.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// With --from: read the roster's columns from these headers, COLUMN=HEADER pairs
    /// separated by commas (uid=Email,first_name=First Name,last_name=Last Name,roles=Roles;
    /// a header holding a comma in double quotes); the columns it does not name are ignored
    /// [default: the profile's `map`, for a file whose header is not a roster's own].
    #[arg(long, value_name = "COLUMN=HEADER,...", value_parser = parse_map, requires = "from")]
    pub map: Option<ColumnMap>,
    /// With --from: show what would be done, change nothing.
    #[arg(long, requires = "from")]
    pub dry_run: bool,
    /// With --from: the member CIDs its rows may name in their `cid` column (comma-separated,
    /// @FILE, or `all` for every child); a row naming another CID is refused, as `plan` does.
    #[arg(long, value_name = "LIST", value_parser = member_cids::parse, requires = "from")]
    pub member_cids: Option<MemberCids>,
    /// With --from: append a JSON line per action to this file, as `apply` does.
    #[arg(long, value_name = "FILE", requires = "from")]
    pub journal: Option<PathBuf>,
    /// With --from: changes in flight.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// `offboard ...`
#[derive(Debug, Args)]
pub struct OffboardArgs {
    /// UUIDs or emails (several: one confirmation and one result table for all).
    #[arg(required_unless_present = "from")]
    pub users: Vec<String>,
    /// A file of users (`-`: standard input): one login per line, or a table with a header
    /// (a leavers export) whose login column is named uid, login, email, user (or as --map
    /// names it); its other columns are ignored.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// With --from: the file's login column, as `uid=HEADER` (such as uid=Email)
    /// [default: the profile's `map`, else a column named uid, login, email or user].
    #[arg(long, value_name = "uid=HEADER", value_parser = parse_map, requires = "from")]
    pub map: Option<ColumnMap>,
    /// A user who does not exist is reported "absent", not as a failure.
    #[arg(long)]
    pub missing_ok: bool,
    /// Flight Control: offboard in these member CIDs instead of the handle's own (comma-
    /// separated, @FILE with one per line, or `all` for every child): each user, named by login, is looked for in
    /// every one of them and offboarded where homed; one found in none is absent.
    #[arg(long, value_name = "LIST", value_parser = member_cids::parse)]
    pub member_cids: Option<MemberCids>,
    /// Show the plan, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Append a JSON line per action to this file (time, CID, user, action, outcome, trace id),
    /// as `apply` does.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Changes in flight.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// `inventory ...`
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// FQL filter on users.
    #[arg(long)]
    pub filter: Option<String>,
    /// Order of the users, as for `users list --sort` (e.g. "uid|desc").
    #[arg(long, value_name = "FIELD[|asc|desc]", value_parser = parse_user_sort)]
    pub sort: Option<QueryUserV1Sort>,
    /// The everyday questions, as for `users list`.
    #[command(flatten)]
    pub questions: UserQuestions,
    /// Write here instead of stdout: all or nothing (a temporary file beside it, mode 0600,
    /// renamed over it only when the run succeeds). The format comes from -f, else from the
    /// name: .csv, .json (one array), .jsonl (JSON lines), .txt (a table); any other name
    /// needs -f. Other than a table, the file's evidence (when, what, options, SHA-256) is
    /// written beside it in FILE.evidence.json; `review verify FILE` checks it.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Grants listings in flight (per CID with --member-cids).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Flight Control: the users of these child CIDs instead, each child with its own token
    /// and rate budget, several at once; the `cid` column tells whose each row is. LIST is
    /// comma-separated CIDs, @FILE (one CID a line, `#` comments) or `all` (every child). A
    /// child that fails is reported and the others' rows are still written (exit 5).
    #[arg(long, value_name = "LIST", value_parser = member_cids::parse)]
    pub member_cids: Option<MemberCids>,
    /// Child CIDs worked at once with --member-cids.
    #[arg(long, default_value_t = 8, value_name = "N", requires = "member_cids")]
    pub children: usize,
    /// Also record a snapshot of everyone's effective access in the history (see `history`).
    /// Not with a question (--role, --never-logged-in, ...): a snapshot of some users would
    /// read as everyone else losing their access.
    #[arg(long, conflicts_with_all = ["role", "privileged", "never_logged_in", "last_login_before", "created_before", "status"])]
    pub save: bool,
    /// The history database to record in with --save [default: see `history`].
    #[arg(long, value_name = "FILE", requires = "save")]
    pub history: Option<PathBuf>,
}

/// `access USER`
#[derive(Debug, Args)]
pub struct AccessArgs {
    /// UUID or email.
    pub user: String,
    /// Flight Control: the children to look in besides the own CID: comma-separated CIDs,
    /// @FILE (one CID a line) or `all` (every child; an error when they cannot be listed)
    /// [default: every child when they can be listed, else the own CID alone].
    #[arg(long, value_name = "LIST", value_parser = member_cids::parse)]
    pub member_cids: Option<MemberCids>,
    /// Child CIDs read at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub children: usize,
}

/// `review ...`
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// `stale`: no login for this many days, or never logged in and created that long ago.
    #[arg(long, default_value_t = 90, value_name = "DAYS")]
    pub stale_days: u32,
    /// `expiring`: temporary grants ending within this many days (the service lets them run
    /// 7 days at most, so 7 reports every temporary grant).
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    pub expiring_days: u32,
    /// Flight Control: also review these child CIDs (comma-separated, @FILE, or `all` for
    /// every child), each with its
    /// own token; the parent's users holding roles there are `parent-in-child` findings.
    #[arg(long, value_name = "LIST", value_parser = member_cids::parse)]
    pub member_cids: Option<MemberCids>,
    /// The privileged roles (ids, comma-separated), instead of judging each role by its
    /// permissions.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub privileged_roles: Option<Vec<String>>,
    /// Exit 8 when any finding of these kinds is found (comma-separated): no-roles,
    /// privileged, stale, expiring, parent-in-child, child-cid-grant, inactive-with-roles.
    #[arg(long, value_name = "FINDING", value_delimiter = ',', value_parser = parse_finding)]
    pub fail_on: Vec<FindingKind>,
    /// Write the findings here instead of stdout, all or nothing (mode 0600). The format
    /// comes from -f, else from the name: .csv, .json, .jsonl, .txt (a table), .html (a
    /// page with charts and a findings table, self-contained). Other than a table, the file
    /// is evidence: a .json and a .html carry it, CSV and JSON lines have FILE.evidence.json
    /// beside them; `review verify FILE` checks it.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Grants listings in flight (per CID).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Child CIDs worked at once with --member-cids.
    #[arg(long, default_value_t = 4, value_name = "N", requires = "member_cids")]
    pub children: usize,
    /// The history database the review's snapshot is recorded in [default: see `history`].
    /// A history that cannot be written is reported after the review's output, exit 7.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Record no snapshot in the history.
    #[arg(long, conflicts_with = "history")]
    pub no_history: bool,
    /// Also write a decision sheet here (CSV, all or nothing, mode 0600; its evidence in
    /// FILE.evidence.json names the review): a row per finding (a finding about roles: a row
    /// per role) with empty `decision` (keep, revoke or offboard) and `comment` columns for the
    /// reviewer; `review apply FILE` carries the decisions out. Needs the history.
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    pub decisions: Option<PathBuf>,
    /// `review verify FILE` or `review apply FILE` instead of a review.
    #[command(subcommand)]
    pub action: Option<ReviewAction>,
}

/// What `review` does besides reviewing.
#[derive(Debug, Subcommand)]
pub enum ReviewAction {
    /// Whether a review or inventory file is intact (exit 0), altered since it was written
    /// (exit 9), or not evidence (exit 2); and what it covers.
    ///
    /// FILE is a review's .json, or a .csv, .jsonl or inventory .json with its
    /// FILE.evidence.json beside it (naming either works). Connects nowhere.
    Verify(VerifyArgs),
    /// Carry out the decisions of a sheet `review --decisions` wrote and a reviewer filled in,
    /// and sign the review off in the history.
    ///
    /// `revoke` takes the row's role from the user in the row's CID, `offboard` revokes every
    /// role and deletes the user, `keep` changes nothing. The sheet is refused as a whole,
    /// before any change, with every bad row: undecided (unless --skip-undecided) or unknown
    /// decisions, rows that are not the review's findings (edited, or from another review or
    /// tenant), and rows the tenant no longer matches (the user gone, the role no longer held,
    /// the login now another user's). The plan is shown, then carried out as `apply` does
    /// (confirmation or --yes, guardrails, a journal; interrupted, the same command finishes
    /// it: what the journal says was done is not stale); the sign-off
    /// (reviewer, time, each decision, comment and result) and a new snapshot are recorded in
    /// the history: `history show REVIEW` prints them, `history diff REVIEW AFTER` the changes.
    Apply(ReviewApplyArgs),
}

/// `review apply FILE`
#[derive(Debug, Args)]
pub struct ReviewApplyArgs {
    /// The decision sheet (with its FILE.evidence.json beside it).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Who signs the review off [default: the user name in $USER, else $LOGNAME].
    #[arg(long, value_name = "NAME")]
    pub reviewer: Option<String>,
    /// Leave rows with an empty decision out instead of refusing the sheet (a decision that is
    /// not keep, revoke or offboard is refused all the same).
    #[arg(long)]
    pub skip_undecided: bool,
    /// Show the plan, change nothing, record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Refuse a plan that offboards more users than this.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_offboard: usize,
    /// Refuse a plan that leaves more users than this without any role.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_strip: usize,
    /// Append a JSON line per action here [default: FILE.journal.jsonl].
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Reads and changes in flight.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// The history holding the review, where the sign-off is recorded [default: see
    /// `history`].
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
}

/// `review verify FILE`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The file of evidence (or its sidecar FILE.evidence.json).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `history ...`
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Every snapshot, oldest first: id, when, kind, CID, counts.
    List(HistoryFile),
    /// A review and its sign-offs (`review apply`): who decided, when, each decision and
    /// comment and what became of it, and the snapshot taken after: the evidence of a
    /// completed review (-f json: one document).
    Show {
        /// The review's snapshot id.
        id: i64,
        /// The database.
        #[command(flatten)]
        file: HistoryFile,
    },
    /// What changed between two snapshots: joiners, leavers, roles gained and lost (privileged
    /// gains marked), per CID; a summary on stderr.
    Diff {
        /// The earlier snapshot's id [default: the one before the latest of the same CID].
        from: Option<i64>,
        /// The later snapshot's id [default: the latest].
        to: Option<i64>,
        /// The database.
        #[command(flatten)]
        file: HistoryFile,
    },
    /// Who held a role on a date, from the snapshots around it: each holder with the stretch
    /// of snapshots that shows it held, and whether that covers the date for sure.
    WhoHad {
        /// The role, by id or display name.
        role: String,
        /// The date (YYYY-MM-DD, the whole day, UTC) or a time (RFC 3339).
        #[arg(long, value_name = "DATE", value_parser = parse_when)]
        on: When,
        /// The CID whose snapshots answer [default: the latest snapshot's].
        #[arg(long)]
        cid: Option<String>,
        /// The database.
        #[command(flatten)]
        file: HistoryFile,
    },
}

/// Where the history is.
#[derive(Debug, Args)]
pub struct HistoryFile {
    /// The history database [default: $XDG_DATA_HOME/falcon-users/history.sqlite, or
    /// ~/.local/share/falcon-users/history.sqlite; under --simulate, history.sqlite beside
    /// the simulated tenant's state file].
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
}

/// A moment, or a day (from its start to its last second), in UTC.
#[derive(Debug, Clone, Copy)]
pub struct When {
    /// The start.
    pub from: DateTime<Utc>,
    /// The end (the start, for a moment).
    pub to: DateTime<Utc>,
}

/// The everyday questions about users, the same in `users list` and `inventory`. The service
/// answers `--status`; the others are answered on the users read (and, for `--role` and
/// `--privileged`, their grants), which a note on stderr says.
#[derive(Debug, Clone, Default, Args)]
pub struct UserQuestions {
    /// Only users holding this role: its id or display name (e.g. "Falcon Administrator").
    #[arg(long, value_name = "ID|NAME", help_heading = "Questions")]
    pub role: Option<String>,
    /// Only users holding a privileged role, judged as `review` judges privilege.
    #[arg(long, help_heading = "Questions")]
    pub privileged: bool,
    /// Only users who never logged in.
    #[arg(long, conflicts_with = "last_login_before", help_heading = "Questions")]
    pub never_logged_in: bool,
    /// Only users whose last login was before DATE: YYYY-MM-DD (the start of that day, UTC)
    /// or an RFC 3339 time. Users who never logged in are not included (--never-logged-in).
    #[arg(long, value_name = "DATE", value_parser = parse_before, help_heading = "Questions")]
    pub last_login_before: Option<DateTime<Utc>>,
    /// Only users created before DATE (as for --last-login-before).
    #[arg(long, value_name = "DATE", value_parser = parse_before, help_heading = "Questions")]
    pub created_before: Option<DateTime<Utc>>,
    /// Only users with this status.
    #[arg(long, value_enum, help_heading = "Questions")]
    pub status: Option<StatusArg>,
}

/// A user status as `--status` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// May sign in.
    Active,
    /// May not sign in.
    Inactive,
}

/// The moment a `--…-before DATE` names: a day's start (UTC), or an RFC 3339 time.
fn parse_before(text: &str) -> Result<DateTime<Utc>, String> {
    parse_when(text).map(|when| when.from)
}

/// `2026-09-30` (that whole day, UTC) or an RFC 3339 time.
fn parse_when(text: &str) -> Result<When, String> {
    let text = text.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let from = day.and_time(chrono::NaiveTime::MIN).and_utc();
        return Ok(When {
            from,
            to: from + chrono::Duration::days(1) - chrono::Duration::seconds(1),
        });
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| {
            let at = t.with_timezone(&Utc);
            When { from: at, to: at }
        })
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

/// A finding kind as `--fail-on` takes it.
fn parse_finding(text: &str) -> Result<FindingKind, String> {
    text.parse()
}

/// `roster ...`
#[derive(Debug, Args)]
pub struct RosterArgs {
    /// Flight Control: also write the users of these member CIDs (comma-separated, @FILE, or
    /// `all` for every child),
    /// each row with its `cid`.
    #[arg(long, value_name = "LIST", value_parser = member_cids::parse)]
    pub member_cids: Option<MemberCids>,
    /// Write here instead of stdout, all or nothing (mode 0600).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Grants listings in flight.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// How a roster is planned (`plan`, and `apply` of a roster).
#[derive(Debug, Args)]
pub struct PlanningArgs {
    /// additive: only create users and grant roles; exact: also revoke the roles the roster
    /// does not list [default: additive]. With a saved plan, it must be the plan's mode.
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Offboard the users in --scope that the roster does not list.
    #[arg(long, requires = "scope")]
    pub prune: bool,
    /// FQL on users: whom the roster speaks for, e.g. "uid:'*@corp.example.com'".
    #[arg(long, value_name = "FQL")]
    pub scope: Option<String>,
    /// Refuse a plan that offboards more users than this (`apply` holds a saved plan to it too).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_offboard: usize,
    /// Refuse a plan that leaves more existing users than this without any role (`apply` holds
    /// a saved plan to it too).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_strip: usize,
    /// Grants listings (reading) or changes (applying) in flight.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Flight Control: also manage these member CIDs (comma-separated, @FILE with one per
    /// line, or `all` for every child): read, and pruned with --prune; a roster row naming any
    /// other CID is refused.
    #[arg(long, value_name = "LIST", value_parser = member_cids::parse)]
    pub member_cids: Option<MemberCids>,
    /// Read the roster's columns from these headers, COLUMN=HEADER pairs separated by commas
    /// (uid=Email,first_name=First Name,last_name=Last Name,roles=Roles); the columns it does
    /// not name are ignored [default: the profile's `map`, for a file whose header is not a
    /// roster's own].
    #[arg(long, value_name = "COLUMN=HEADER,...", value_parser = parse_map)]
    pub map: Option<ColumnMap>,
}

/// `plan ...`
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The roster: a .csv (header row: uid, first_name, last_name, roles, cid, expires_at,
    /// or the headers --map names) or a .json array; `-`: standard input.
    pub roster: PathBuf,
    #[command(flatten)]
    pub planning: PlanningArgs,
    /// Save the plan here (JSON), to `apply` later.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `apply ...`
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `plan -o`, or a roster to plan and apply in one go (`-`: a roster from
    /// standard input, with --journal and --yes).
    pub file: PathBuf,
    #[command(flatten)]
    pub planning: PlanningArgs,
    /// Append a JSON line per action here [default: FILE.journal.jsonl].
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
}

/// `fleet ...`
#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Write the parent's user groups (members by login), CID groups (child CIDs, each with the
    /// child's name for the reader) and links (roles) as an access file (TOML).
    Export {
        /// Write here instead of stdout, all or nothing (mode 0600).
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Plan the changes that make the groups and links match an access file, and show who
    /// gains and who loses which role in which child; changes nothing.
    Plan {
        /// The access file (TOML, as `fleet export` writes it).
        file: PathBuf,
        /// Save the plan here (JSON), to `fleet apply` later.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        limits: FleetLimits,
    },
    /// Apply a saved plan, or plan an access file and apply it, after confirmation; every
    /// step journaled. Running it again after an interruption finishes what is left.
    Apply {
        /// A plan saved by `fleet plan -o` (.json), or an access file to plan and apply.
        file: PathBuf,
        #[command(flatten)]
        limits: FleetLimits,
        /// Append a JSON line per step here [default: FILE.journal.jsonl].
        #[arg(long, value_name = "FILE")]
        journal: Option<PathBuf>,
    },
}

/// The guardrail of `fleet plan` and `fleet apply`.
#[derive(Debug, Args)]
pub struct FleetLimits {
    /// Refuse a plan that takes access (any role in any child) away from more users than this
    /// (`fleet apply` holds a saved plan to it too).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_removals: usize,
}

/// Whether a plan may take roles away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Only add.
    Additive,
    /// Make roles exactly the roster's.
    Exact,
}

/// `auth ...`
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Get a token and report the cloud, and which scopes work.
    Check,
}

/// `sim ...`
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Seed of the generated tenant.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// `config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The profiles of the config file: name, client id, cloud, member CID and where the
    /// secret comes from (never the secret itself).
    Profiles,
    /// The config file in use (--config, FALCON_CONFIG, or the default place).
    Path,
}

/// `completions SHELL`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `man [--out DIR]`
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (falcon-users.1, falcon-users-users.1,
    /// falcon-users-users-list.1, ...) into this directory instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}
