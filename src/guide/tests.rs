//! The README and the guides stay what a reader can paste and follow: Rust blocks without
//! rustdoc's hidden lines, links that lead somewhere both on GitHub and on docs.rs, and every
//! guide in `docs/` compiled here and listed in the README.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// rustdoc's own words in a fence's info string: a block with only these is compiled as Rust.
const RUSTDOC_ATTRIBUTES: &[&str] = &[
    "rust",
    "no_run",
    "ignore",
    "should_panic",
    "compile_fail",
    "test_harness",
    "standalone_crate",
    "edition2015",
    "edition2018",
    "edition2021",
    "edition2024",
];

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The guides' file names in `docs/`, sorted.
fn guide_names() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect();
    names.sort();
    names
}

/// `README.md` and `docs/*.md`, as (path, text).
fn markdown_files() -> Vec<(String, String)> {
    let mut files = vec![("README.md".to_owned(), read("README.md"))];
    for name in guide_names() {
        let path = format!("docs/{name}");
        let text = read(&path);
        files.push((path, text));
    }
    files
}

/// One line of a Markdown file: its number (1-based), text, the `## ` section it is in, and
/// the info string of the fenced block it is inside (`None` outside blocks and on fences).
struct Line<'a> {
    number: usize,
    text: &'a str,
    section: &'a str,
    block: Option<(&'a str, usize)>,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut section = "";
    // The open fence: its marker (``` or ~~~, possibly longer), info string and line.
    let mut open: Option<(&str, &str, usize)> = None;
    for (index, text) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = text.trim_start();
        match open {
            Some((marker, _, _))
                if trimmed.starts_with(marker) && trimmed[marker.len()..].trim().is_empty() =>
            {
                open = None;
                out.push(Line { number, text, section, block: None });
            }
            Some((_, info, start)) => {
                out.push(Line { number, text, section, block: Some((info, start)) })
            }
            None => {
                let fence = ['`', '~'].into_iter().find_map(|c| {
                    let len = trimmed.len() - trimmed.trim_start_matches(c).len();
                    (len >= 3).then(|| trimmed.split_at(len))
                });
                if let Some((marker, info)) = fence {
                    open = Some((marker, info.trim(), number));
                } else if text.starts_with("## ") {
                    section = text.trim_end();
                }
                out.push(Line { number, text, section, block: None });
            }
        }
    }
    out
}

/// Whether rustdoc compiles a block with this info string: no language, `rust`, or only
/// rustdoc's attributes.
fn is_rust(info: &str) -> bool {
    let words: Vec<&str> = info.split([',', ' ', '\t']).filter(|w| !w.is_empty()).collect();
    words.contains(&"rust") || words.iter().all(|w| RUSTDOC_ATTRIBUTES.contains(w))
}

/// A line rustdoc hides from the reader but compiles: `#` alone or `# ` and code.
fn is_hidden(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed == "#" || trimmed.starts_with("# ")
}

#[test]
fn rust_blocks_have_no_hidden_lines() {
    let mut found = Vec::new();
    for (path, text) in markdown_files() {
        for line in lines(&text) {
            let Some((info, start)) = line.block else { continue };
            if !is_rust(info) || !is_hidden(line.text) {
                continue;
            }
            found.push(format!(
                "{path}:{}: hidden line in the Rust block opened at line {start}: {}",
                line.number,
                line.text.trim()
            ));
        }
    }
    assert!(
        found.is_empty(),
        "what a reader copies must be the whole example (write it out; `no_run` where it would touch the network):\n{}",
        found.join("\n")
    );
}

/// The labels `src/guide/links.md` sends to docs.rs pages (`crate::...`).
fn rustdoc_labels() -> BTreeSet<String> {
    let links = read("src/guide/links.md");
    let mut labels = BTreeSet::new();
    for line in links.lines().filter(|l| !l.trim().is_empty()) {
        let (label, target) = link_definition(line)
            .unwrap_or_else(|| panic!("src/guide/links.md: not a link definition: {line}"));
        assert!(
            target.starts_with("crate"),
            "src/guide/links.md: {label} must lead to a `crate::` path, not {target}"
        );
        labels.insert(label);
    }
    labels
}

/// `[label]: target` at the start of a line: the label, lowercased, and the target.
fn link_definition(line: &str) -> Option<(String, &str)> {
    let rest = line.strip_prefix('[')?;
    let (label, target) = rest.split_once("]:")?;
    (!label.is_empty() && !label.contains(['[', ']']))
        .then(|| (label.to_lowercase(), target.trim()))
}

#[test]
fn relative_links_lead_to_the_guides_on_docs_rs() {
    // A definition such as `[guide-lifecycle]: docs/lifecycle.md` is a file on GitHub; on
    // docs.rs it must be replaced by the one in links.md, or the link leads nowhere.
    let labels = rustdoc_labels();
    let mut found = Vec::new();
    for (path, text) in markdown_files() {
        for line in lines(&text).into_iter().filter(|l| l.block.is_none()) {
            let Some((label, target)) = link_definition(line.text) else { continue };
            let external =
                ["http://", "https://", "mailto:", "#"].iter().any(|p| target.starts_with(p));
            if !external && !labels.contains(&label) {
                found.push(format!(
                    "{path}:{}: [{label}]: {target} has no docs.rs target in src/guide/links.md",
                    line.number
                ));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// A line without its inline code spans.
fn without_code_spans(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

#[test]
fn reference_links_are_defined_in_their_file() {
    // GitHub renders each file alone: a `[text][label]` without a definition in the same file
    // shows as brackets.
    let mut found = Vec::new();
    for (path, text) in markdown_files() {
        let lines = lines(&text);
        let defined: BTreeSet<String> = lines
            .iter()
            .filter(|l| l.block.is_none())
            .filter_map(|l| link_definition(l.text))
            .map(|(label, _)| label)
            .collect();
        for line in lines.iter().filter(|l| l.block.is_none()) {
            let prose = without_code_spans(line.text);
            for (_, rest) in prose.match_indices("][").map(|(i, _)| prose.split_at(i + 2)) {
                let Some((label, _)) = rest.split_once(']') else { continue };
                if !label.is_empty() && !defined.contains(&label.to_lowercase()) {
                    found.push(format!(
                        "{path}:{}: [{label}] is not defined in {path}",
                        line.number
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn every_guide_is_compiled_and_listed() {
    let module = read("src/guide/mod.rs");
    let readme = read("README.md");
    let mut found = Vec::new();
    for name in guide_names() {
        if !module.contains(&format!("include_str!(\"../../docs/{name}\")")) {
            found.push(format!("docs/{name} is not included in src/guide/mod.rs (its examples would not be compiled)"));
        }
        if !readme.contains(&format!("]: docs/{name}")) {
            found.push(format!("docs/{name} is not linked from README.md"));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_scanner_sees_what_rustdoc_compiles() {
    assert!(
        is_rust("")
            && is_rust("rust")
            && is_rust("rust,no_run")
            && is_rust("no_run")
            && is_rust("ignore")
    );
    assert!(!is_rust("sh") && !is_rust("text") && !is_rust("toml") && !is_rust("json"));
    assert!(is_hidden("# let x = 1;") && is_hidden("#") && is_hidden("    # use std::fmt;"));
    assert!(
        !is_hidden("#[tokio::main]") && !is_hidden("#![allow(unused)]") && !is_hidden("let x = 1;")
    );
    let text = "## A\n\n```rust\n# hidden\n```\n\n## B\n  ```sh\n  # comment\n  ```\n";
    let lines = lines(text);
    let hidden = &lines[3];
    assert_eq!((hidden.number, hidden.section, hidden.block), (4, "## A", Some(("rust", 3))));
    let comment = &lines[8];
    assert_eq!((comment.section, comment.block), ("## B", Some(("sh", 8))));
    assert_eq!(link_definition("[Guide-X]: docs/x.md"), Some(("guide-x".to_owned(), "docs/x.md")));
    assert_eq!(link_definition("[a][b] text"), None);
}
