//! End-to-end tests of `cargo xtask spec-diff`: the built binary runs on the small hand-made
//! fixture pair in `tests/fixtures/` (a Swagger 2.0 upstream and the equivalent OpenAPI 3.0 spec)
//! and on modified copies of it, and checks exit codes and the reported keys.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tempfile::TempDir;

const UPSTREAM: &str = "upstream.swagger.json";
const OURS: &str = "ours.openapi.json";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Value {
    let path = manifest_dir().join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path).expect("fixture is readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The result of one `xtask spec-diff` run.
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// Fails unless some stdout line has `marker` (`DRIFT` or `explained`) and exactly `key`.
    fn assert_line(&self, marker: &str, key: &str) {
        let found = self.stdout.lines().any(|line| {
            let mut words = line.split_whitespace();
            words.next() == Some(marker) && words.next() == Some(key)
        });
        assert!(found, "no `{marker} {key}` line in:\n{}", self.stdout);
    }

    fn assert_drift(&self, key: &str) {
        self.assert_line("DRIFT", key);
    }

    /// The keys of all reported differences, in report order.
    fn keys(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                match words.next() {
                    Some("DRIFT" | "explained") => words.next(),
                    _ => None,
                }
            })
            .collect()
    }

    fn summary(&self) -> &str {
        self.stdout
            .lines()
            .rev()
            .find(|line| line.starts_with("spec-diff:") && line.contains("unexplained"))
            .unwrap_or_else(|| panic!("no summary line in:\n{}", self.stdout))
    }
}

/// Runs the binary on explicit paths.
fn run_paths(upstream: &Path, ours: &Path, curation: &Path) -> Outcome {
    run_paths_with(upstream, ours, curation, &[])
}

/// Runs the binary on explicit paths, with extra options.
fn run_paths_with(upstream: &Path, ours: &Path, curation: &Path, options: &[&str]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("spec-diff")
        .arg(upstream)
        .arg("--spec")
        .arg(ours)
        .arg("--curation")
        .arg(curation)
        .args(options)
        .output()
        .expect("xtask runs");
    Outcome {
        code: output.status.code().expect("xtask exits normally"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Writes the documents (and the curation text, if any) to a temporary directory and runs the
/// binary on them.
fn run_docs(upstream: &Value, ours: &Value, curation: Option<&str>) -> Outcome {
    run_docs_with(upstream, ours, curation, &[])
}

/// [`run_docs`] with extra options.
fn run_docs_with(
    upstream: &Value,
    ours: &Value,
    curation: Option<&str>,
    options: &[&str],
) -> Outcome {
    let dir = TempDir::new().expect("temp dir");
    let write = |name: &str, text: &str| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    };
    let upstream = write(UPSTREAM, &upstream.to_string());
    let ours = write(OURS, &ours.to_string());
    let curation = match curation {
        Some(text) => write("CURATION.md", text),
        None => dir.path().join("CURATION.md"),
    };
    run_paths_with(&upstream, &ours, &curation, options)
}

/// Runs the fixture upstream against a modified copy of our fixture.
fn run_modified(modify: impl FnOnce(&mut Value), curation: Option<&str>) -> Outcome {
    let mut ours = fixture(OURS);
    modify(&mut ours);
    run_docs(&fixture(UPSTREAM), &ours, curation)
}

/// The operation at `path`/`method` of a document.
fn op<'a>(doc: &'a mut Value, path: &str, method: &str) -> &'a mut Value {
    &mut doc["paths"][path][method]
}

fn schema<'a>(doc: &'a mut Value, name: &str) -> &'a mut Value {
    &mut doc["components"]["schemas"][name]
}

/// Removes the parameter called `name` from an operation.
fn remove_param(op: &mut Value, name: &str) {
    let params = op["parameters"].as_array_mut().expect("parameters");
    params.retain(|param| {
        param["name"] != name && param["$ref"] != format!("#/components/parameters/{name}")
    });
}

fn param<'a>(op: &'a mut Value, name: &str) -> &'a mut Value {
    op["parameters"]
        .as_array_mut()
        .expect("parameters")
        .iter_mut()
        .find(|param| param["name"] == name)
        .expect("parameter exists")
}

const QUERY: &str = "/things/queries/things/v1";
const ENTITIES: &str = "/things/entities/things/v1";
const TOKEN: &str = "/oauth2/token";

#[test]
fn identical_fixtures_have_no_drift() {
    let outcome = run_docs(&fixture(UPSTREAM), &fixture(OURS), None);
    assert_eq!(outcome.code, 0, "{}{}", outcome.stdout, outcome.stderr);
    assert!(outcome.keys().is_empty(), "{}", outcome.stdout);
    assert!(
        outcome.summary().contains("0 unexplained"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn deleted_parameter_is_unexplained_drift() {
    let outcome = run_modified(|ours| remove_param(op(ours, QUERY, "get"), "filter"), None);
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    outcome.assert_drift("param.missing:queryThingsV1:query.filter");
    assert_eq!(outcome.keys(), ["param.missing:queryThingsV1:query.filter"]);
    assert!(
        outcome.summary().contains("1 unexplained"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn curation_pattern_explains_deleted_parameter() {
    let curation = "\
# Curation

## Explained drift

- `param.missing:*:query.filter` — the fixture drops `filter` on purpose.

## Other notes
";
    let outcome = run_modified(
        |ours| remove_param(op(ours, QUERY, "get"), "filter"),
        Some(curation),
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stdout);
    outcome.assert_line("explained", "param.missing:queryThingsV1:query.filter");
    assert!(
        outcome.summary().contains("1 explained"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.summary().contains("0 unexplained"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn patterns_outside_the_section_or_partial_do_not_explain() {
    let curation = "\
- `param.missing:*` — not in the section
## Explained drift
- `param.missing:queryThingsV1` — matches only a prefix of the key
";
    let outcome = run_modified(
        |ours| remove_param(op(ours, QUERY, "get"), "filter"),
        Some(curation),
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    outcome.assert_drift("param.missing:queryThingsV1:query.filter");
}

#[test]
fn stale_pattern_is_a_warning_not_a_failure() {
    let curation = "## Explained drift\n- `op.missing:goneV1` — no longer differs\n";
    let outcome = run_docs(&fixture(UPSTREAM), &fixture(OURS), Some(curation));
    assert_eq!(outcome.code, 0, "{}", outcome.stdout);
    assert!(
        outcome
            .stdout
            .lines()
            .any(|line| line.starts_with("warning:") && line.contains("op.missing:goneV1")),
        "{}",
        outcome.stdout
    );
}

#[test]
fn parameter_type_required_array_and_style_changes() {
    let outcome = run_modified(
        |ours| {
            let query = op(ours, QUERY, "get");
            param(query, "limit")["schema"]["format"] = json!("int64");
            param(query, "offset")["required"] = json!(true);
            let ids = param(op(ours, ENTITIES, "get"), "ids");
            ids["explode"] = json!(false);
            let validate = param(op(ours, ENTITIES, "post"), "validate_only");
            validate["schema"] = json!({"type": "array", "items": {"type": "boolean"}});
        },
        None,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    outcome.assert_drift("param.type:queryThingsV1:query.limit");
    outcome.assert_drift("param.required:queryThingsV1:query.offset");
    outcome.assert_drift("param.style:getThingsV1:query.ids");
    outcome.assert_drift("param.array:createThingV1:query.validate_only");
    // Same element type: array-ness alone is one finding, not also a type change.
    assert_eq!(outcome.keys().len(), 4, "{}", outcome.stdout);
    assert!(
        outcome
            .stdout
            .contains("integer(int32), ours integer(int64)"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn missing_extra_moved_and_remethoded_operations() {
    let outcome = run_modified(
        |ours| {
            let paths = ours["paths"].as_object_mut().expect("paths");
            let query = paths.remove(QUERY).expect("query path");
            paths.insert("/things/queries/things/v2".into(), query);
            let entities = paths[ENTITIES].as_object_mut().expect("entities");
            entities.remove("post").expect("create");
            let get = entities.remove("get").expect("get");
            entities.insert("put".into(), get);
            let mut extra = paths[TOKEN]["post"].clone();
            extra["operationId"] = json!("oauth2Extra");
            paths.insert("/oauth2/extra".into(), json!({ "post": extra }));
        },
        None,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    outcome.assert_drift("op.missing:createThingV1");
    outcome.assert_drift("op.path:queryThingsV1");
    outcome.assert_drift("op.method:getThingsV1");
    outcome.assert_drift("op.extra:oauth2Extra");
    assert!(
        outcome
            .stdout
            .contains("upstream /things/queries/things/v1, ours /things/queries/things/v2"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn response_property_and_status_changes() {
    let outcome = run_modified(
        |ours| {
            let response = schema(ours, "thing.ThingsResponse");
            response["properties"]
                .as_object_mut()
                .expect("props")
                .remove("resources");
            let token = op(ours, TOKEN, "post");
            let responses = token["responses"].as_object_mut().expect("responses");
            responses.remove("400");
            responses.insert("308".into(), json!({"description": "Redirect."}));
        },
        None,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    // Both operations return `thing.ThingsResponse`: one finding, naming both.
    outcome.assert_drift("model.prop.missing:thing.ThingsResponse:resources");
    assert!(
        outcome
            .stdout
            .contains("used by 2: createThingV1 201, getThingsV1 200"),
        "{}",
        outcome.stdout
    );
    outcome.assert_drift("response.status.missing:oauth2AccessToken:400");
    outcome.assert_drift("response.status.extra:oauth2AccessToken:308");
    assert_eq!(outcome.keys().len(), 3, "{}", outcome.stdout);
}

#[test]
fn nested_response_properties_are_reported_with_dotted_paths() {
    let outcome = run_modified(
        |ours| {
            let thing = schema(ours, "thing.Thing");
            thing["properties"]["owner"]["properties"]["user_type"] = json!({"type": "integer"});
            thing["properties"]["nickname"] = json!({"type": "string"});
        },
        None,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    // Paths are relative to the innermost named schema, `thing.Thing` (`owner` is inline).
    outcome.assert_drift("model.prop.type:thing.Thing:owner.user_type");
    outcome.assert_drift("model.prop.extra:thing.Thing:nickname");
    assert!(
        outcome
            .stdout
            .contains("ours integer; used by 2: createThingV1 201, getThingsV1 200"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("upstream string, ours integer"),
        "{}",
        outcome.stdout
    );
    // `children[]` is `thing.Thing` again: the cycle guard reports it once, at the top; and
    // both operations returning it share the two findings.
    assert_eq!(outcome.keys().len(), 2, "{}", outcome.stdout);
}

#[test]
fn shared_model_change_is_reported_once_with_every_use() {
    let outcome = run_modified(
        |ours| {
            let meta = schema(ours, "msa.MetaInfo");
            meta["properties"]
                .as_object_mut()
                .expect("props")
                .remove("trace_id");
        },
        None,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    // Every response carries `meta`; the change is one model difference, not one per response.
    assert_eq!(
        outcome.keys(),
        ["model.prop.missing:msa.MetaInfo:trace_id"],
        "{}",
        outcome.stdout
    );
    for used in [
        "oauth2AccessToken 400",
        "getThingsV1 200",
        "getThingsV1 400",
        "createThingV1 201",
        "createThingV1 400",
        "queryThingsV1 200",
    ] {
        assert!(outcome.stdout.contains(used), "{used}:\n{}", outcome.stdout);
    }
    assert!(
        outcome.summary().contains("1 difference,"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_substituted_model_is_keyed_by_both_names() {
    // Our 400s answer with a copy of `msa.ReplyMetaOnly` under our own name, lacking `errors`.
    let outcome = run_modified(
        |ours| {
            let mut copy = schema(ours, "msa.ReplyMetaOnly").clone();
            copy["properties"]
                .as_object_mut()
                .expect("props")
                .remove("errors");
            ours["components"]["schemas"]["ours.Envelope"] = copy;
            for (path, method) in [(TOKEN, "post"), (ENTITIES, "get"), (ENTITIES, "post")] {
                op(ours, path, method)["responses"]["400"]["content"]["application/json"]["schema"] =
                    json!({"$ref": "#/components/schemas/ours.Envelope"});
            }
        },
        None,
    );
    assert_eq!(
        outcome.keys(),
        ["model.prop.missing:msa.ReplyMetaOnly=ours.Envelope:errors"],
        "{}",
        outcome.stdout
    );
}

#[test]
fn unexplained_only_hides_explained_lines_but_counts_them() {
    let curation = "## Explained drift\n- `param.missing:*:query.filter` — on purpose\n";
    let modify = |ours: &mut Value| {
        remove_param(op(ours, QUERY, "get"), "filter");
        param(op(ours, QUERY, "get"), "offset")["required"] = json!(true);
    };
    let full = run_modified(modify, Some(curation));
    assert_eq!(full.code, 1, "{}", full.stdout);
    full.assert_line("explained", "param.missing:queryThingsV1:query.filter");
    full.assert_drift("param.required:queryThingsV1:query.offset");

    let mut ours = fixture(OURS);
    modify(&mut ours);
    let short = run_docs_with(
        &fixture(UPSTREAM),
        &ours,
        Some(curation),
        &["--unexplained-only"],
    );
    assert_eq!(short.code, 1, "{}{}", short.stdout, short.stderr);
    assert_eq!(
        short.keys(),
        ["param.required:queryThingsV1:query.offset"],
        "{}",
        short.stdout
    );
    assert!(
        short.summary().contains("2 differences, 1 explained by"),
        "{}",
        short.stdout
    );
}

#[test]
fn response_schema_type_change_at_the_root() {
    let outcome = run_modified(
        |ours| {
            op(ours, QUERY, "get")["responses"]["200"]["content"]["application/json"]["schema"] =
                json!({"type": "array", "items": {"type": "string"}});
        },
        None,
    );
    assert_eq!(
        outcome.keys(),
        ["response.type:queryThingsV1:200"],
        "{}",
        outcome.stdout
    );
}

#[test]
fn json_body_changes() {
    let outcome = run_modified(
        |ours| {
            let create = op(ours, ENTITIES, "post");
            create["requestBody"]["required"] = json!(false);
            schema(ours, "thing.CreateRequest")["properties"]["name"] = json!({"type": "integer"});
        },
        None,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    outcome.assert_drift("body.required:createThingV1");
    outcome.assert_drift("model.prop.type:thing.CreateRequest:name");
    assert!(
        outcome.stdout.contains("used by 1: createThingV1 body"),
        "{}",
        outcome.stdout
    );

    let outcome = run_modified(
        |ours| {
            op(ours, ENTITIES, "post")
                .as_object_mut()
                .expect("op")
                .remove("requestBody");
        },
        None,
    );
    outcome.assert_drift("body.missing:createThingV1");
}

#[test]
fn form_fields_are_compared_with_form_data_parameters() {
    let outcome = run_modified(
        |ours| {
            let form = &mut op(ours, TOKEN, "post")["requestBody"]["content"]["application/x-www-form-urlencoded"]
                ["schema"];
            form["properties"]
                .as_object_mut()
                .expect("props")
                .remove("member_cid");
            form["required"] = json!(["client_id"]);
            form["properties"]["scope"] = json!({"type": "string"});
        },
        None,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    outcome.assert_drift("param.missing:oauth2AccessToken:formData.member_cid");
    outcome.assert_drift("param.required:oauth2AccessToken:formData.client_secret");
    outcome.assert_drift("param.extra:oauth2AccessToken:formData.scope");
}

/// Replaces every `$ref` to `from` with one to `to`, throughout `value`.
fn retarget_refs(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "$ref" && child == from {
                    *child = json!(to);
                } else {
                    retarget_refs(child, from, to);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| retarget_refs(item, from, to)),
        _ => {}
    }
}

/// Makes our fixture use differently named copies of the envelope schemas (as our real spec
/// uses `msaspec.ResponseFields` where upstream says `msa.ReplyMetaOnly`); `keep_originals`
/// decides whether the upstream names remain defined.
fn rename_envelopes(ours: &mut Value, keep_originals: bool) {
    let renames = [
        ("msa.ReplyMetaOnly", "msaspec.ResponseFields"),
        ("msa.ApiError", "msaspec.Error"),
        ("msa.MetaInfo", "msaspec.MetaInfo"),
    ];
    for (from, to) in renames {
        let copy = schema(ours, from).clone();
        let schemas = ours["components"]["schemas"]
            .as_object_mut()
            .expect("schemas");
        schemas.insert(to.into(), copy);
        if !keep_originals {
            schemas.remove(from);
        }
        let prefix = "#/components/schemas/";
        retarget_refs(ours, &format!("{prefix}{from}"), &format!("{prefix}{to}"));
    }
}

#[test]
fn differently_named_refs_with_the_same_shape_are_not_drift() {
    let outcome = run_modified(|ours| rename_envelopes(ours, true), None);
    assert_eq!(outcome.code, 0, "{}", outcome.stdout);
    assert!(outcome.keys().is_empty(), "{}", outcome.stdout);
}

#[test]
fn definitions_missing_by_name_are_reported() {
    let outcome = run_modified(|ours| rename_envelopes(ours, false), None);
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    assert_eq!(
        outcome.keys(),
        [
            "schema.missing:msa.ApiError",
            "schema.missing:msa.MetaInfo",
            "schema.missing:msa.ReplyMetaOnly",
        ],
        "{}",
        outcome.stdout
    );
}

#[test]
fn bad_inputs_exit_2_naming_the_file() {
    let dir = TempDir::new().expect("temp dir");
    let missing = dir.path().join("nope.json");
    let fixtures = manifest_dir().join("tests/fixtures");
    let outcome = run_paths(
        &missing,
        &fixtures.join(OURS),
        &dir.path().join("CURATION.md"),
    );
    assert_eq!(outcome.code, 2);
    assert!(outcome.stderr.contains("nope.json"), "{}", outcome.stderr);

    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{ not json").expect("write");
    let outcome = run_paths(
        &fixtures.join(UPSTREAM),
        &broken,
        &dir.path().join("CURATION.md"),
    );
    assert_eq!(outcome.code, 2);
    assert!(outcome.stderr.contains("broken.json"), "{}", outcome.stderr);

    let outcome = run_modified(
        |ours| {
            retarget_refs(
                ours,
                "#/components/schemas/thing.Thing",
                "#/components/schemas/thing.Gone",
            );
        },
        None,
    );
    assert_eq!(outcome.code, 2, "{}", outcome.stdout);
    assert!(outcome.stderr.contains("thing.Gone"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains(OURS), "{}", outcome.stderr);
}

/// Our real spec against the upstream references (User Management, and Flight Control with the
/// CCID lookup), when present (they live next to the repository, not in it). The curation is
/// maintained separately, so this only checks that the comparison completes and reports.
#[test]
fn real_spec_against_upstream_reference() {
    let root = manifest_dir().join("..");
    let reference = root.join("../shared/reference");
    let upstreams: Vec<PathBuf> = [
        "upstream-user-management.swagger.json",
        "upstream-flight-control.swagger.json",
    ]
    .iter()
    .map(|name| reference.join(name))
    .filter(|path| path.exists())
    .collect();
    if upstreams.is_empty() {
        eprintln!("skipped: no upstream reference in {}", reference.display());
        return;
    }
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("spec-diff")
        .args(&upstreams)
        .arg("--spec")
        .arg(root.join("spec/user-management.json"))
        .arg("--curation")
        .arg(root.join("spec/CURATION.md"))
        .output()
        .expect("xtask runs");
    let outcome = Outcome {
        code: output.status.code().expect("xtask exits normally"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        matches!(outcome.code, 0 | 1),
        "exit {}:\n{}{}",
        outcome.code,
        outcome.stdout,
        outcome.stderr
    );
    outcome.summary();
}

/// Runs the binary with several upstream documents (in this order) against `ours`.
fn run_upstreams(upstreams: &[&Value], ours: &Value) -> Outcome {
    let dir = TempDir::new().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.arg("spec-diff");
    for (n, doc) in upstreams.iter().enumerate() {
        let path = dir.path().join(format!("upstream-{n}.swagger.json"));
        std::fs::write(&path, doc.to_string()).expect("write upstream");
        command.arg(path);
    }
    let ours_path = dir.path().join(OURS);
    std::fs::write(&ours_path, ours.to_string()).expect("write ours");
    let output = command
        .arg("--spec")
        .arg(ours_path)
        .arg("--curation")
        .arg(dir.path().join("CURATION.md"))
        .output()
        .expect("xtask runs");
    Outcome {
        code: output.status.code().expect("xtask exits normally"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The fixture upstream split in two, as upstream publishes one document per collection: the
/// query operation lives in a second document, beside an operation of a collection our spec
/// does not cover (tagged `mssp`) and the definition only that one uses.
fn split_upstream() -> (Value, Value) {
    let whole = fixture(UPSTREAM);
    let mut first = whole.clone();
    let query = first["paths"]
        .as_object_mut()
        .expect("paths")
        .remove(QUERY)
        .expect("the query path");
    let mut second = whole;
    second["paths"] = json!({
        QUERY: query,
        "/mssp/queries/other/v1": {"get": {
            "operationId": "queryOtherV1",
            "tags": ["mssp"],
            "responses": {"200": {"description": "OK",
                "schema": {"$ref": "#/definitions/mssp.Only"}}}
        }}
    });
    second["definitions"]["mssp.Only"] = json!({"type": "object",
        "properties": {"id": {"type": "string"}}});
    (first, second)
}

/// Ours with the collections it covers declared: the fixture's operations are untagged, so
/// they are covered whatever the list says.
fn ours_covering(tags: &[&str]) -> Value {
    let mut ours = fixture(OURS);
    ours["tags"] = tags.iter().map(|t| json!({"name": t})).collect();
    ours
}

#[test]
fn each_operation_is_compared_with_the_upstream_document_that_has_it() {
    let (first, second) = split_upstream();
    let ours = ours_covering(&["things"]);
    let outcome = run_upstreams(&[&first, &second], &ours);
    assert_eq!(outcome.code, 0, "{}{}", outcome.stdout, outcome.stderr);
    assert!(outcome.keys().is_empty(), "{}", outcome.stdout);
    assert!(
        outcome.stdout.contains("upstream-1.swagger.json"),
        "{}",
        outcome.stdout
    );

    // Drift in the operation only the second document has is found there.
    let mut drifted = ours.clone();
    remove_param(op(&mut drifted, QUERY, "get"), "filter");
    let outcome = run_upstreams(&[&first, &second], &drifted);
    assert_eq!(outcome.code, 1, "{}", outcome.stdout);
    assert_eq!(outcome.keys(), ["param.missing:queryThingsV1:query.filter"]);

    // Without the second document the operation is ours alone.
    let outcome = run_upstreams(&[&first], &ours);
    assert_eq!(
        outcome.keys(),
        ["op.extra:queryThingsV1"],
        "{}",
        outcome.stdout
    );
}

#[test]
fn upstream_operations_of_collections_the_spec_does_not_cover_are_not_missing() {
    let (first, second) = split_upstream();
    // Covered: `mssp` is out of scope, and so is the definition only its operation uses.
    let outcome = run_upstreams(&[&first, &second], &ours_covering(&["things"]));
    assert!(outcome.keys().is_empty(), "{}", outcome.stdout);
    // A spec that declares `mssp` (or no collections at all) lacks both.
    for ours in [ours_covering(&["things", "mssp"]), fixture(OURS)] {
        let outcome = run_upstreams(&[&first, &second], &ours);
        assert_eq!(outcome.code, 1, "{}", outcome.stdout);
        assert_eq!(
            outcome.keys(),
            ["op.missing:queryOtherV1", "schema.missing:mssp.Only"],
            "{}",
            outcome.stdout
        );
    }
}
