//! Files as HR systems and spreadsheets write them, through the binary on the embedded
//! simulator: an HR export read through `--map` (or a profile's `map`) with `--roles` as the
//! batch's default, `;`- and tab-delimited files, Excel's blank rows, Windows line ends and
//! encodings, byte-order marks, leavers files with a header, and `-` for standard input.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{SimState, command, text, with_stdin};

/// The HR export of the issue, as Excel writes it: Windows line ends, trailing empty rows.
const HR_EXPORT: &str = "Email,First Name,Last Name,Department,Title\r\n\
                         ann.hr@corp.example.com,Ann,Lee,Sales,Account Executive\r\n\
                         bob.hr@corp.example.com,Bob,Ray,IT,Engineer\r\n\
                         ,,,,\r\n\
                         ,,,,\r\n";

const HR_MAP: &str = "uid=Email,first_name=First Name,last_name=Last Name";

/// Runs the binary on `state`'s tenant as JSON, `stdin` written to it when given.
fn run_with(state: &SimState, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut all = vec!["--simulate", "-f", "json"];
    all.extend_from_slice(args);
    let mut cmd = command(&all, &state.env());
    cmd.envs(env.iter().copied());
    match stdin {
        Some(input) => with_stdin(cmd, input),
        None => cmd.output().expect("the binary runs"),
    }
}

fn run(state: &SimState, args: &[&str]) -> Output {
    run_with(state, args, &[], None)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// The `outcome` of each row of a result table, by login.
fn outcomes(out: &Output) -> Vec<(String, String)> {
    json(out)
        .as_array()
        .expect("a result table")
        .iter()
        .map(|r| {
            (
                r["uid"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(u, o)| ((*u).to_owned(), (*o).to_owned()))
        .collect()
}

fn write(dir: &Path, name: &str, body: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The user with login `uid` (first name and the role ids they hold), if any.
fn user(state: &SimState, uid: &str) -> Option<(String, Vec<String>)> {
    let filter = format!("uid:'{uid}'");
    let out = run(state, &["inventory", "--filter", &filter]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout).lines().next()?.to_owned();
    let row: Value = serde_json::from_str(&line).unwrap();
    let roles = row["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["role_id"].as_str().unwrap().to_owned())
        .collect();
    Some((
        row["first_name"].as_str().unwrap_or_default().to_owned(),
        roles,
    ))
}

/// The Done-when walk-through: the HR export provisions through `--map` with the batch's
/// role, dry run first (nothing changes), then for real, then its `;`-delimited variant
/// (another locale's Excel) finds everything done.
#[test]
fn an_hr_export_provisions_through_a_mapping_dry_run_first_then_idempotently() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let comma = write(dir.path(), "hr_joiners.csv", HR_EXPORT);
    let semicolon = write(dir.path(), "hr_joiners_de.csv", HR_EXPORT.replace(',', ";"));
    let provision = |file: &str, extra: &[&str]| {
        let mut args = vec![
            "provision",
            "--from",
            file,
            "--map",
            HR_MAP,
            "--roles",
            "falcon_console_guest",
        ];
        args.extend_from_slice(extra);
        run(&state, &args)
    };

    let dry = provision(&comma, &["--dry-run"]);
    let said = text(&dry.stderr);
    assert!(dry.status.success(), "{said}");
    assert_eq!(json(&dry)["changes"].as_array().unwrap().len(), 2, "{said}");
    // The extra columns, named once; the blank rows skipped, not refused.
    assert_eq!(
        said.matches("ignored columns (the mapping does not name them): Department, Title")
            .count(),
        1,
        "{said}"
    );
    assert!(said.contains("2 blank rows skipped"), "{said}");
    assert!(
        !said.contains("delimiter"),
        "a comma is not worth a word: {said}"
    );
    assert_eq!(
        user(&state, "ann.hr@corp.example.com"),
        None,
        "the dry run changed nothing"
    );

    let done = provision(&comma, &["--yes"]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert_eq!(
        outcomes(&done),
        pairs(&[
            ("ann.hr@corp.example.com", "done"),
            ("bob.hr@corp.example.com", "done")
        ])
    );
    assert_eq!(
        user(&state, "ann.hr@corp.example.com"),
        Some(("Ann".to_owned(), vec!["falcon_console_guest".to_owned()]))
    );

    let again = provision(&semicolon, &["--yes"]);
    let said = text(&again.stderr);
    assert!(again.status.success(), "{said}");
    assert!(
        said.contains("hr_joiners_de.csv: read with ';' as the delimiter"),
        "{said}"
    );
    assert!(said.contains("0 done, 2 already done"), "{said}");
    assert_eq!(
        outcomes(&again),
        pairs(&[
            ("ann.hr@corp.example.com", "already done"),
            ("bob.hr@corp.example.com", "already done")
        ])
    );
}

/// A leavers export with a header offboards by its login column: named by `--map`, or
/// recognised by its name; its other columns are not read. A leavers list saved with a
/// byte-order mark reads as without.
#[test]
fn a_leavers_file_with_a_header_offboards_by_its_login_column() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let roster = write(
        dir.path(),
        "r.csv",
        "uid,roles\na@corp.example.com,falcon_console_guest\nb@corp.example.com,falcon_console_guest\nc@corp.example.com,falcon_console_guest\n",
    );
    let made = run(&state, &["--yes", "provision", "--from", &roster]);
    assert!(made.status.success(), "{}", text(&made.stderr));

    let leavers = write(
        dir.path(),
        "leavers.csv",
        "Email,Last Day\na@corp.example.com,2026-12-31\n",
    );
    let dry = run(
        &state,
        &[
            "offboard",
            "--from",
            &leavers,
            "--map",
            "uid=Email",
            "--dry-run",
        ],
    );
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let changes = json(&dry)["changes"].as_array().unwrap().clone();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["uid"], "a@corp.example.com");
    assert!(
        text(&dry.stderr).contains("ignored columns (the mapping does not name them): Last Day"),
        "{}",
        text(&dry.stderr)
    );
    // Without --map: the column named Email is the login column.
    let out = run(&state, &["--yes", "offboard", "--from", &leavers]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(outcomes(&out), pairs(&[("a@corp.example.com", "done")]));

    // `;`-delimited, with a byte-order mark: the same.
    let bom = write(
        dir.path(),
        "leavers_de.csv",
        "\u{feff}Last Day;E-Mail\r\n2026-12-31;b@corp.example.com\r\n;\r\n",
    );
    let out = run(&state, &["--yes", "offboard", "--from", &bom]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(outcomes(&out), pairs(&[("b@corp.example.com", "done")]));
    // A plain list with a byte-order mark.
    let plain = write(dir.path(), "leavers.txt", "\u{feff}c@corp.example.com\r\n");
    let out = run(&state, &["--yes", "offboard", "--from", &plain]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(outcomes(&out), pairs(&[("c@corp.example.com", "done")]));
}

/// `-` reads standard input for a roster (CSV or JSON, told by its first character) and a
/// list of users; given for two inputs of one command, it is refused before connecting.
#[test]
fn standard_input_is_read_for_rosters_and_lists_and_refused_twice() {
    let state = SimState::new();
    let tabs = HR_EXPORT.replace(',', "\t");
    let out = run_with(
        &state,
        &[
            "--yes",
            "provision",
            "--from",
            "-",
            "--map",
            HR_MAP,
            "--roles",
            "falcon_console_guest",
        ],
        &[],
        Some(tabs.as_bytes()),
    );
    let said = text(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("standard input: read with tabs as the delimiter"),
        "{said}"
    );
    assert_eq!(
        outcomes(&out),
        pairs(&[
            ("ann.hr@corp.example.com", "done"),
            ("bob.hr@corp.example.com", "done")
        ])
    );
    // A JSON roster on standard input; a row's own roles win over --roles.
    let json_roster = br#"[{"uid": "cat.hr@corp.example.com", "roles": "falcon_console_guest"}, {"uid": "dan.hr@corp.example.com"}]"#;
    let out = run_with(
        &state,
        &[
            "--yes",
            "provision",
            "--from",
            "-",
            "--roles",
            "Falcon Analyst",
        ],
        &[],
        Some(json_roster),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let roles = |uid| user(&state, uid).unwrap().1;
    assert_eq!(roles("cat.hr@corp.example.com"), ["falcon_console_guest"]);
    assert_eq!(roles("dan.hr@corp.example.com").len(), 1);
    assert_ne!(roles("dan.hr@corp.example.com"), ["falcon_console_guest"]);

    let out = run_with(
        &state,
        &["--yes", "offboard", "--from", "-"],
        &[],
        Some(b"ann.hr@corp.example.com\nbob.hr@corp.example.com\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        outcomes(&out),
        pairs(&[
            ("ann.hr@corp.example.com", "done"),
            ("bob.hr@corp.example.com", "done")
        ])
    );

    let twice = run_with(
        &state,
        &[
            "offboard",
            "--from",
            "-",
            "--member-cids",
            "@-",
            "--dry-run",
        ],
        &[],
        Some(b"0123456789abcdef0123456789abcdef\n"),
    );
    let said = text(&twice.stderr);
    assert_eq!(twice.status.code(), Some(2), "{said}");
    assert!(
        said.contains(
            "`-` (standard input) is given for both the CID list and the list of users: \
             standard input can be read once"
        ),
        "{said}"
    );
    // `apply -` has nowhere beside its roster for the journal: it must be named.
    let apply = run_with(&state, &["--yes", "apply", "-"], &[], Some(b"uid\n"));
    assert_eq!(apply.status.code(), Some(2), "{}", text(&apply.stderr));
    assert!(
        text(&apply.stderr).contains("--journal"),
        "{}",
        text(&apply.stderr)
    );
}

/// What goes wrong with spreadsheet files is refused with the row, the column and what to do.
#[test]
fn spreadsheet_mistakes_are_refused_with_the_row_and_what_to_do() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let hr = write(dir.path(), "hr.csv", HR_EXPORT);

    // A Windows-1252 é on row 2 (Windows line ends): row 2 named, and how to fix the file.
    let mut latin = b"Email,First Name,Last Name\r\nann@corp.example.com,Jos".to_vec();
    latin.extend_from_slice(b"\xe9,Lee\r\n");
    let latin = write(dir.path(), "latin.csv", latin);
    let out = run(
        &state,
        &["provision", "--from", &latin, "--map", HR_MAP, "--dry-run"],
    );
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("row 2, first_name: byte 0xE9 is not UTF-8 text")
            && said.contains("Windows-1252")
            && said.contains("save it as UTF-8"),
        "{said}"
    );
    // The same byte in a list of users names its line.
    let mut list = b"a@corp.example.com\r\njos".to_vec();
    list.extend_from_slice(b"\xe9@corp.example.com\r\n");
    let list = write(dir.path(), "leavers.txt", list);
    let out = run(&state, &["offboard", "--from", &list, "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 2: byte 0xE9 is not UTF-8 text"),
        "{}",
        text(&out.stderr)
    );

    // A mapping naming a header the file lacks: the column, the closest header, all of them.
    let out = run(
        &state,
        &[
            "provision",
            "--from",
            &hr,
            "--map",
            "uid=Emial",
            "--dry-run",
        ],
    );
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("row 1, uid: the column mapping reads uid from \"Emial\", which the file does not have; did you mean Email? (its headers: Email, First Name, Last Name, Department, Title)"),
        "{said}"
    );
    // A mapping naming no roster column: refused as an argument, with the closest.
    let out = run(
        &state,
        &["provision", "--from", &hr, "--map", "frist_name=First Name"],
    );
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("did you mean first_name?"), "{said}");

    // Without a mapping the roster's columns are required, and the refusal says how to map.
    let out = run(&state, &["provision", "--from", &hr, "--dry-run"]);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("unknown column \"Email\"")
            && said.contains("hint:")
            && said.contains("--map"),
        "{said}"
    );
    assert_eq!(said.matches("hint:").count(), 1, "{said}");

    // A byte-order mark and Excel's trailing rows in a roster of the roster's own columns.
    let bom = write(
        dir.path(),
        "bom.csv",
        "\u{feff}uid,roles\r\nbom@corp.example.com,falcon_console_guest\r\n,\r\n",
    );
    let out = run(&state, &["provision", "--from", &bom, "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(json(&out)["changes"][0]["uid"], "bom@corp.example.com");
}

/// A profile's `map` reads its tenant's HR export without `--map`; `--map` wins over it; a
/// roster of the roster's own columns is still read as it is.
#[test]
fn a_profile_map_reads_the_hr_export_and_the_flag_wins() {
    let state = SimState::new();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("config").join("falcon-users");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = config_dir.join("config.toml");
    std::fs::write(
        &config,
        "[profiles.hr]\ncloud = \"simulator\"\n[profiles.hr.map]\nuid = \"Email\"\nfirst_name = \"First Name\"\nlast_name = \"Last Name\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let config_home = dir.path().join("config");
    let env = [
        ("XDG_CONFIG_HOME", config_home.to_str().unwrap()),
        ("FALCON_PROFILE", "hr"),
    ];
    let hr = write(dir.path(), "hr.csv", HR_EXPORT);
    let profile = run_with(
        &state,
        &[
            "provision",
            "--from",
            &hr,
            "--roles",
            "falcon_console_guest",
            "--dry-run",
        ],
        &env,
        None,
    );
    let said = text(&profile.stderr);
    assert!(profile.status.success(), "{said}");
    assert!(
        said.contains("ignored columns (the mapping does not name them): Department, Title"),
        "{said}"
    );
    let first_names: Vec<Value> = json(&profile)["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["after"]["first_name"].clone())
        .collect();
    assert_eq!(first_names, ["Ann", "Bob"], "{}", text(&profile.stdout));

    let flag = run_with(
        &state,
        &[
            "provision",
            "--from",
            &hr,
            "--map",
            "uid=Email",
            "--roles",
            "falcon_console_guest",
            "--dry-run",
        ],
        &env,
        None,
    );
    let said = text(&flag.stderr);
    assert!(flag.status.success(), "{said}");
    assert!(
        said.contains("ignored columns (the mapping does not name them): First Name, Last Name, Department, Title"),
        "the flag's mapping, not the profile's: {said}"
    );

    let own = write(
        dir.path(),
        "own.csv",
        "uid,first_name\nown@corp.example.com,Own\n",
    );
    let out = run_with(
        &state,
        &["provision", "--from", &own, "--dry-run"],
        &env,
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}
