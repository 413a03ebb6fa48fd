//! A review as a page to look at: one self-contained HTML file, sealed as evidence
//! ([`SealedPage`]). Its markup is fixed; the review (the same document as the `.json`) and
//! its evidence are JSON blocks escaped for a page ([`EscapedJson::for_page`]), from which the page's one
//! script draws the metadata, the charts and the findings table with `textContent`, so no
//! tenant string is ever markup. Its content security policy allows that script and that
//! style by their SHA-256 and nothing else: no fetch, no image, no frame, no form.

use std::io::{self, BufWriter, Write};
use std::sync::LazyLock;

use base64::Engine as _;
use falcon_users::workflows::evidence::{Evidence, SealedPage};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::escape::EscapedJson;

/// The page's script: reads the JSON blocks, draws everything.
const SCRIPT: &str = include_str!("page.js");
/// The page's style sheet.
const STYLE: &str = include_str!("page.css");

/// The policy: nothing may be fetched or run but the page's own script and style, named by
/// their digests (`'unsafe-inline'` would let an injected script run too).
pub static POLICY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'none'; \
         img-src 'none'; font-src 'none'; object-src 'none'; frame-src 'none'; \
         base-uri 'none'; form-action 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE)
    )
});

/// `sha256-<base64>`: how a policy names an inline script or style.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The markup before the data: the head, then the body's empty frame the script fills.
fn head() -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Access review</title>
<style>{STYLE}</style>
</head>
<body data-status="loading" data-errors="0">
<h1 id="title">Access review</h1>
<noscript><p>This page draws its contents with its own script; the review is in its JSON block (id "review").</p></noscript>
<ul id="errors" hidden></ul>
<section><h2>Evidence</h2><dl id="meta"></dl>
<p class="hint">Check the file with <code>falcon-users review verify FILE</code>; the page digest should match the one printed when it was written.</p></section>
<section><div id="tiles"></div></section>
<section class="charts">
<div><h2>Findings by kind</h2><div id="kinds"></div></div>
<div><h2>Privileged roles: holders</h2><div id="privileged"></div></div>
<div><h2>Time since last login</h2><div id="logins"></div></div>
<div><h2>Findings per CID</h2><div id="cids"></div></div>
</section>
<section><h2>Findings</h2>
<div class="controls">
<label>Filter <input id="query" type="search" placeholder="login, name, CID, role, why" autocomplete="off"></label>
<label>Kind <select id="kind"><option value="">all</option></select></label>
<button id="previous" type="button">Previous</button><button id="next" type="button">Next</button>
<span id="shown"></span>
</div>
<table id="findings"><thead><tr></tr></thead><tbody></tbody></table>
</section>
<footer>Written by falcon-users {version}. A self-contained page: it loads nothing.</footer>
<script type="application/json" id="review">
"#,
        // The policy is ASCII with no `"`, `&` or `<`: an attribute value as it is.
        policy = POLICY.as_str(),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// Writes `document` (the review) as a page sealed with `evidence` to `out`: the markup, the
/// review block, the script, then the evidence block and the digest line. Streams: the review
/// is serialized straight into the page. Hands back the destination and the page's digest.
pub fn write<W: Write, T: Serialize>(
    out: W,
    document: &T,
    mut evidence: Evidence,
) -> io::Result<(W, String)> {
    let mut page = SealedPage::new(out);
    {
        let mut buffered = BufWriter::new(&mut page);
        buffered.write_all(head().as_bytes())?;
        EscapedJson::for_page(&mut buffered).serialize(document, false)?;
        write!(buffered, "\n</script>\n<script>{SCRIPT}</script>")?;
        buffered.flush()?;
    }
    evidence.data = page.end_data()?;
    // Pretty and escaped as every JSON output is, then for the page (no `<` can remain).
    let rendered = EscapedJson::for_page(Vec::new()).serialize(&evidence, true)?;
    let rendered = String::from_utf8(rendered).map_err(io::Error::other)?;
    page.finish(&rendered, "</body>\n</html>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_forbids_every_fetch_and_names_the_script_and_style_by_digest() {
        let policy = POLICY.as_str();
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(policy.contains(&format!("script-src '{}'", csp_hash(SCRIPT))));
        assert!(policy.contains(&format!("style-src '{}'", csp_hash(STYLE))));
        // The digests are of the text between the tags, as the browser takes it.
        let head = head();
        assert!(head.contains(&format!("<style>{STYLE}</style>")));
        assert!(!policy.contains(['"', '<', '&']));
        // Neither ends its element early or changes how HTML reads the script's text.
        for text in [SCRIPT, STYLE] {
            for tag in ["<!--", "</script", "<script", "</style"] {
                assert!(!text.to_ascii_lowercase().contains(tag), "{tag}");
            }
        }
        // The script draws with text and attributes only.
        for markup in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!SCRIPT.contains(markup), "{markup}");
        }
        // Nothing else in the markup runs or loads.
        for tag in [
            "<img", "<link", "<iframe", "<object", "<embed", "src=", "href=",
        ] {
            assert!(!head.contains(tag), "{tag}");
        }
        let handlers: Vec<&str> = head
            .split(|c: char| c.is_whitespace() || c == '<')
            .filter(|word| word.starts_with("on") && word.contains('='))
            .collect();
        assert!(handlers.is_empty(), "{handlers:?}");
    }
}
