//! Loading the two documents and following their `$ref`s.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

/// How many `$ref` hops a single reference may take before we call it a loop.
const MAX_REF_HOPS: usize = 32;

/// A parsed JSON document plus its path, so every error can say which file is at fault.
pub(crate) struct Document {
    pub(crate) path: PathBuf,
    pub(crate) root: Value,
}

impl Document {
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let root = serde_json::from_str(&text)
            .with_context(|| format!("parsing {} as JSON", path.display()))?;
        Ok(Self::new(path.to_path_buf(), root))
    }

    pub(crate) fn new(path: PathBuf, root: Value) -> Self {
        Self { path, root }
    }

    /// Follows `value`'s `$ref` chain (if any) to the referenced value. Also returns the last
    /// reference taken, which identifies named schemas for the cycle guard.
    pub(crate) fn resolve<'a>(
        &'a self,
        mut value: &'a Value,
    ) -> Result<(&'a Value, Option<&'a str>)> {
        let mut last_ref = None;
        for _ in 0..MAX_REF_HOPS {
            let Some(reference) = value.get("$ref") else {
                return Ok((value, last_ref));
            };
            let reference = reference
                .as_str()
                .ok_or_else(|| anyhow!("{}: a `$ref` is not a string", self.path.display()))?;
            let pointer = reference.strip_prefix('#').ok_or_else(|| {
                anyhow!(
                    "{}: only local references are supported, found `{reference}`",
                    self.path.display()
                )
            })?;
            value = self.root.pointer(pointer).ok_or_else(|| {
                anyhow!("{}: unresolvable `$ref` `{reference}`", self.path.display())
            })?;
            last_ref = Some(reference);
        }
        bail!(
            "{}: `$ref` chain longer than {MAX_REF_HOPS} hops (a reference loop?)",
            self.path.display()
        )
    }

    /// Like [`Document::resolve`], for callers that do not care about the reference name.
    pub(crate) fn deref<'a>(&'a self, value: &'a Value) -> Result<&'a Value> {
        Ok(self.resolve(value)?.0)
    }

    /// The names in the object at `pointer` (empty when that optional section is absent).
    pub(crate) fn keys_at(&self, pointer: &str) -> Result<BTreeSet<&str>> {
        let Some(value) = self.root.pointer(pointer) else {
            return Ok(BTreeSet::new());
        };
        let object = value
            .as_object()
            .ok_or_else(|| anyhow!("{}: `{pointer}` is not an object", self.path.display()))?;
        Ok(object.keys().map(String::as_str).collect())
    }
}

/// A document that never was a file, named `test.json` in its errors.
#[cfg(test)]
pub(crate) fn test_document(root: Value) -> Document {
    Document::new(PathBuf::from("test.json"), root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unresolvable_ref_names_the_file() {
        let ours = test_document(json!({}));
        let err = ours
            .resolve(&json!({"$ref": "#/components/schemas/Nope"}))
            .unwrap_err();
        assert!(err.to_string().contains("test.json"), "{err}");
    }
}
