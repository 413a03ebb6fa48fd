//! The import graph between a crate's modules, read from its sources with `syn`, and the check
//! that it forms one-way layers.
//!
//! A module is a file (`src/a.rs` and `src/a/mod.rs` are `a`, `src/a/b.rs` is `a::b`). An edge
//! `a → b` is any path in `a` that starts `crate::b…`, `super::…` or `self::…` and resolves into
//! module `b` (a `use`, or a path written inline). Paths through the crate root's re-exports
//! (`crate::Error` from a module other than the root) are reported: they hide the real edge.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Module paths (`""` for the crate root) of every `.rs` file under `src`.
fn modules(src: &Path) -> std::io::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("below src");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            out.insert(parts.join("::"), path);
        }
    }
    Ok(out)
}

/// Every path a file names that starts with `crate`, `super` or `self`, as segments.
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

impl Paths {
    fn flatten_use(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.flatten_use(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.push(prefix, Some(n.ident.to_string())),
            syn::UseTree::Rename(r) => self.push(prefix, Some(r.ident.to_string())),
            syn::UseTree::Glob(_) => self.push(prefix, None),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.flatten_use(prefix, tree);
                }
            }
        }
    }

    fn push(&mut self, prefix: &[String], last: Option<String>) {
        let mut path = prefix.to_vec();
        path.extend(last);
        if !path.is_empty() {
            self.0.push(path);
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.flatten_use(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        // A lone `crate` / `self` / `super` is a visibility (`pub(crate)`) or a receiver.
        if segments.len() > 1 {
            self.push(&segments, None);
        }
        syn::visit::visit_path(self, path);
    }

    // Inline test modules may reach anywhere; they are not part of the layering.
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        let is_test = item
            .attrs
            .iter()
            .any(|a| a.path().is_ident("cfg") && a.parse_args().is_ok_and(|m| needs_test(&m)));
        if !is_test {
            syn::visit::visit_item_mod(self, item);
        }
    }
}

/// Whether a `cfg` predicate holds only in a test build: `test`, or `all(…)` with `test` among
/// its terms (`all(test, feature = "x")`).
fn needs_test(predicate: &syn::Meta) -> bool {
    match predicate {
        syn::Meta::Path(path) => path.is_ident("test"),
        syn::Meta::List(list) if list.path.is_ident("all") => list
            .parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            )
            .is_ok_and(|terms| terms.iter().any(needs_test)),
        _ => false,
    }
}

/// The module edges of the crate whose sources are in `src`, and the problems found reading it.
pub fn edges(src: &Path) -> (BTreeSet<(String, String)>, Vec<String>) {
    let mut problems = Vec::new();
    let modules = match modules(src) {
        Ok(m) => m,
        Err(e) => {
            return (
                BTreeSet::new(),
                vec![format!("reading {}: {e}", src.display())],
            );
        }
    };
    let mut edges = BTreeSet::new();
    for (module, file) in &modules {
        let text = match fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("reading {}: {e}", file.display()));
                continue;
            }
        };
        let parsed = match syn::parse_file(&text) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("parsing {}: {e}", file.display()));
                continue;
            }
        };
        let mut paths = Paths::default();
        paths.visit_file(&parsed);
        let here: Vec<String> = if module.is_empty() {
            Vec::new()
        } else {
            module.split("::").map(str::to_owned).collect()
        };
        for path in paths.0 {
            let mut absolute = here.clone();
            let mut rest = path.as_slice();
            match rest.first().map(String::as_str) {
                Some("crate") => {
                    absolute.clear();
                    rest = &rest[1..];
                }
                Some("super" | "self") => {
                    while let Some(first) = rest.first() {
                        match first.as_str() {
                            "super" => {
                                absolute.pop();
                            }
                            "self" => {}
                            _ => break,
                        }
                        rest = &rest[1..];
                    }
                }
                // A relative path into a child module (`use child::X`, `child::f()`); any
                // other first segment is another crate, a type or a local name.
                Some(first) => {
                    let mut child = here.clone();
                    child.push(first.to_owned());
                    if !modules.contains_key(&child.join("::")) {
                        continue;
                    }
                }
                None => continue,
            }
            absolute.extend(rest.iter().cloned());
            // The longest prefix that is a module.
            let target = (0..=absolute.len())
                .rev()
                .map(|n| absolute[..n].join("::"))
                .find(|candidate| modules.contains_key(candidate))
                .unwrap_or_default();
            if target == *module {
                continue;
            }
            if target.is_empty() {
                problems.push(format!(
                    "{module} names `{}` through the crate root; name the module it lives in",
                    path.join("::")
                ));
                continue;
            }
            edges.insert((module.clone(), target));
        }
    }
    (edges, problems)
}

/// Checks that the crate in `src` is a one-way stack of `layers` (bottom first; each a list of
/// module paths or prefixes, `"runtime"` covering `runtime::retry`): every module belongs to a
/// layer, every edge points to the same or a lower layer, and no modules form a cycle. Returns
/// the problems, one sentence each; empty means the layering holds.
pub fn check_layers(src: &Path, layers: &[&[&str]]) -> Vec<String> {
    let (edges, mut problems) = edges(src);
    let layer_of = |module: &str| -> Option<usize> {
        if module.is_empty() {
            return Some(usize::MAX); // the crate root sits on top and may name anything
        }
        layers.iter().position(|layer| {
            layer
                .iter()
                .any(|prefix| module == *prefix || module.starts_with(&format!("{prefix}::")))
        })
    };
    let mut seen = BTreeSet::new();
    for (from, to) in &edges {
        for m in [from, to] {
            if layer_of(m).is_none() && seen.insert(m.clone()) {
                problems.push(format!("module {m} is in no layer"));
            }
        }
        if let (Some(a), Some(b)) = (layer_of(from), layer_of(to))
            && b > a
        {
            problems.push(format!(
                "{from} (layer {a}) imports {to} (layer {b}): imports must point down"
            ));
        }
    }
    problems.extend(cycles(&edges));
    problems
}

/// Each strongly connected group of more than one module, as a sentence.
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<String> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        graph.entry(a).or_default().push(b);
        graph.entry(b).or_default();
    }
    // Kosaraju-free version: a module is in a cycle with every module that both reaches it and
    // is reached by it; graphs here have a few dozen nodes.
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(n) = stack.pop() {
            for next in graph.get(n.as_str()).into_iter().flatten() {
                if seen.insert((*next).to_owned()) {
                    stack.push((*next).to_owned());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&str, BTreeSet<String>> = graph.keys().map(|n| (*n, reach(n))).collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for n in graph.keys() {
        let group: Vec<String> = graph
            .keys()
            .filter(|m| reaches[n].contains(**m) && reaches[**m].contains(*n))
            .map(|m| (*m).to_owned())
            .collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups
        .into_iter()
        .map(|g| format!("import cycle: {}", g.join(" ↔ ")))
        .collect()
}
