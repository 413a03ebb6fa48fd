// placeholder until the spec-diff helper writes this module
pub fn run(_u: &std::path::Path, _s: &std::path::Path, _c: &std::path::Path) -> anyhow::Result<bool> {
    anyhow::bail!("not yet implemented")
}
