//! Syntax-tree passes over generated code. Each one fails loudly when it matches less than it
//! expects, so a progenitor upgrade that changes the shape cannot slip through unpatched.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use syn::visit_mut::VisitMut;

use crate::operation_table::Facts;

/// Marks the client method of every deprecated operation `#[deprecated]`, naming its
/// replacement.
pub fn mark_deprecated(file: &mut syn::File, operations: &[Facts]) -> Result<()> {
    let names: BTreeMap<&str, &str> = operations
        .iter()
        .map(|f| (f.id.as_str(), f.name.as_str()))
        .collect();
    let mut notes = BTreeMap::new();
    for f in operations {
        if let Some(to) = &f.replaced_by {
            let replacement = names.get(to.as_str()).copied().unwrap_or(to);
            notes.insert(
                f.name.clone(),
                format!(
                    "the legacy operation `{}`; use `{replacement}` (`{to}`)",
                    f.id
                ),
            );
        }
    }
    let mut pass = Deprecate {
        notes,
        marked: Vec::new(),
    };
    pass.visit_file_mut(file);
    let missing: Vec<&String> = pass
        .notes
        .keys()
        .filter(|name| !pass.marked.contains(name))
        .collect();
    if !missing.is_empty() {
        bail!(
            "no `impl Client` method found to mark deprecated for: {}",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

struct Deprecate {
    notes: BTreeMap<String, String>,
    marked: Vec<String>,
}

impl VisitMut for Deprecate {
    fn visit_item_impl_mut(&mut self, item: &mut syn::ItemImpl) {
        let is_client = item.trait_.is_none()
            && matches!(&*item.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"));
        if !is_client {
            return;
        }
        for member in &mut item.items {
            if let syn::ImplItem::Fn(method) = member {
                let name = method.sig.ident.to_string();
                if let Some(note) = self.notes.get(&name) {
                    method
                        .attrs
                        .push(syn::parse_quote!(#[deprecated(note = #note)]));
                    self.marked.push(name);
                }
            }
        }
    }
}
