//! The manual: its generated pages are current, and every relative link of
//! `docs/`, `README.md` and `ARCHITECTURE.md` resolves.
//!
//! `OIDC_CONFORM_BLESS=1` rewrites the generated pages (`docs/checks.md`,
//! `docs/cli.md`) from the binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::util::{oidc_conform, root};

/// `got` equals the checked-in page, or the page is rewritten when blessing.
fn compare_with_page(got: &str, page: &str, how: &str) {
    let path = root().join(page);
    if std::env::var_os("OIDC_CONFORM_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
        panic!(
            "{page} is not what {how} writes (first difference at line {}): run `OIDC_CONFORM_BLESS=1 cargo test --test tests docs::` and commit the page",
            first + 1
        );
    }
}

/// The catalogue page is what `oidc-conform checks --format markdown` prints.
#[test]
fn check_catalogue_page_is_current() {
    let out = oidc_conform(&["checks", "--format", "markdown"]);
    assert_eq!(out.code(), 0, "{}", out.describe());
    let page = out.stdout();
    // Every check of the text catalogue is on the page, with its level.
    let text = oidc_conform(&["checks"]);
    for line in text.stdout().lines() {
        let mut words = line.split_whitespace();
        let (id, _area, level) = (words.next().unwrap(), words.next().unwrap(), words.next().unwrap());
        assert!(page.contains(&format!("| `{id}` | {level} |")), "{id} missing from the page");
    }
    compare_with_page(&page, "docs/checks.md", "`oidc-conform checks --format markdown`");
}

/// The command-line reference is each command's `--help` as the binary prints it.
#[test]
fn cli_reference_page_is_current() {
    let page = oidc_conform::docs::cli_markdown();
    // The page quotes the binary: `run --help` as printed is on it.
    let help = oidc_conform(&["run", "--help"]);
    assert_eq!(help.code(), 0, "{}", help.describe());
    let stdout = help.stdout();
    let printed: Vec<&str> = stdout.lines().map(str::trim_end).collect();
    assert!(page.contains(&printed.join("\n")), "`run --help` differs from the page's");
    compare_with_page(&page, "docs/cli.md", "the command definitions");
}

/// The README stays an entrance: what the project is, the two commands, the
/// way to one's own provider and links; the rest is in the manual.
#[test]
fn readme_is_short() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 150,
        "README.md has {lines} lines: move the detail into docs/ and link to it"
    );
    for command in ["cargo run --release -- run", "scripts/test"] {
        assert!(readme.contains(command), "the README shows `{command}`");
    }
}

/// The manual says the shipped suites are built into the binary: every file of
/// `suites/` is, as it is in the repository.
#[test]
fn every_shipped_suite_is_built_in() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("suites"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    for name in &files {
        let path = format!("suites/{name}");
        let text = std::fs::read_to_string(root().join(&path)).unwrap();
        let built_in = oidc_conform::suite::BUILTIN.iter().find(|(p, _)| *p == path);
        assert!(
            built_in.is_some(),
            "{path} is not built into the binary (add it to `suite::BUILTIN`)"
        );
        assert!(built_in.is_some_and(|(_, t)| *t == text), "{path} differs from its built-in copy");
    }
    assert_eq!(
        files.len(),
        oidc_conform::suite::BUILTIN.len(),
        "a built-in suite that is not in suites/"
    );
}

/// Every relative link (and its `#anchor`) of the manual, the README and
/// ARCHITECTURE.md resolves to a file (and a heading of it).
#[test]
fn relative_links_resolve() {
    let root = root();
    let mut files = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    assert!(pages.len() >= 8, "the manual has its pages: {pages:?}");
    files.extend(pages);
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (line, target) in links(&text) {
            if is_external(&target) {
                continue;
            }
            checked += 1;
            let shown = format!("{}:{line}: `{target}`", file.strip_prefix(&root).unwrap_or(file).display());
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let dest = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(percent_decode(path))
            };
            if !dest.exists() {
                broken.push(format!("{shown}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor {
                if dest.extension().is_none_or(|x| x != "md") {
                    broken.push(format!("{shown}: an anchor into a file that is not Markdown"));
                    continue;
                }
                let target_text = std::fs::read_to_string(&dest).unwrap();
                if !anchors(&target_text).contains(anchor) {
                    broken.push(format!("{shown}: no heading `#{anchor}` in {}", dest.display()));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} relative links found: is the link reader broken?");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The manual's YAML examples are what they say: every profile and suite example
/// passes `oidc-conform validate`, login fragments inside a profile too, and the
/// CI files are YAML.
#[test]
fn yaml_examples_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mut pages: Vec<PathBuf> = Vec::new();
    for sub in ["docs", "docs/profiles"] {
        for e in std::fs::read_dir(root().join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md") {
                pages.push(p);
            }
        }
    }
    pages.sort();
    let (mut profiles, mut suites, mut other, mut projects) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let name = page.strip_prefix(root()).unwrap().display().to_string();
        for (line, block) in yaml_blocks(&text) {
            let first = block
                .lines()
                .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .unwrap_or("");
            if block.starts_with("# oidc-conform.yaml\n") {
                let checked = project_example(dir.path(), line, &block);
                if let Err(e) = checked {
                    wrong.push(format!("{name}:{line} (project file): {e}"));
                }
                projects += 1;
                continue;
            }
            let (kind, file_text) = if block.lines().any(|l| l.starts_with("issuer:")) {
                ("profile", block.clone())
            } else if first.starts_with("login:") {
                ("profile", format!("name: example\nissuer: https://login.example.com/\n{block}"))
            } else if first.starts_with("suite:") {
                ("suite", block.clone())
            } else if first.starts_with("cases:") {
                ("suite", format!("suite: example\n{block}"))
            } else if first.starts_with("  - name:") {
                ("suite", format!("suite: example\ncases:\n{block}"))
            } else {
                if let Err(e) = serde_saphyr::from_str::<serde_json::Value>(&block) {
                    wrong.push(format!("{name}:{line}: not YAML: {e}"));
                }
                other += 1;
                continue;
            };
            let file = dir.path().join(format!("example-{line}.yaml"));
            std::fs::write(&file, &file_text).unwrap();
            // Every `${env:NAME}` the example reads, with a value of a real secret's length.
            let vars: Vec<String> = file_text
                .split("${env:")
                .skip(1)
                .filter_map(|rest| rest.split('}').next().map(str::to_owned))
                .collect();
            let env: Vec<(&str, &str)> = vars.iter().map(|v| (v.as_str(), "example-value-0123456789")).collect();
            let out = crate::util::oidc_conform_in_env(dir.path(), &["validate", file.to_str().unwrap()], &env);
            if out.code() != 0 {
                wrong.push(format!("{name}:{line} ({kind}): {}", out.describe()));
            }
            if kind == "profile" {
                profiles += 1;
            } else {
                suites += 1;
            }
        }
    }
    assert!(wrong.is_empty(), "examples that are not valid:\n{}", wrong.join("\n"));
    assert!(
        profiles >= 8 && suites >= 3 && other >= 4 && projects >= 2,
        "{profiles} profiles, {suites} suites, {other} other, {projects} project files"
    );
}

/// A project file example validates in a directory of its own, with the files
/// it names: a profile (the reference provider's), a baseline (empty), suite
/// directories (with a shipped suite).
fn project_example(dir: &Path, line: usize, block: &str) -> Result<(), String> {
    let dir = dir.join(format!("project-{line}"));
    std::fs::create_dir_all(&dir).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(block).map_err(|e| format!("not YAML: {e}"))?;
    if let Some(p) = doc["profile"].as_str() {
        std::fs::copy(root().join("fixtures/profiles/reference.yaml"), dir.join(p)).unwrap();
    }
    if let Some(b) = doc["baseline"].as_str() {
        std::fs::write(dir.join(b), "entries: []\n").unwrap();
    }
    for s in doc["suites"].as_array().into_iter().flatten().filter_map(|s| s.as_str()) {
        std::fs::create_dir_all(dir.join(s)).unwrap();
        std::fs::copy(root().join("suites/basics.yaml"), dir.join(s).join("basics.yaml")).unwrap();
    }
    std::fs::write(dir.join("oidc-conform.yaml"), block).unwrap();
    let vars: Vec<String> = block
        .split("${env:")
        .skip(1)
        .filter_map(|rest| rest.split('}').next().map(str::to_owned))
        .collect();
    let env: Vec<(&str, &str)> = vars.iter().map(|v| (v.as_str(), "example-value-0123456789")).collect();
    let out = crate::util::oidc_conform_in_env(&dir, &["validate"], &env);
    if out.code() != 0 || !out.stdout().contains("ok: oidc-conform.yaml") {
        return Err(out.describe());
    }
    Ok(())
}

/// The ```yaml blocks of a page, with the line each starts on.
fn yaml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```yaml" => current = Some((i + 1, String::new())),
            None => {}
            Some(_) if line.trim_start().starts_with("```") => out.extend(current.take()),
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    out
}

/// The link checker's reader: inline links outside code, headings' anchors.
#[test]
fn link_reader_reads_what_a_repository_browser_shows() {
    let text = "# Getting started\n\nSee [the CLI](cli.md#oidc-conform-run) and ![img](a.png \"t\").\n\
                ```yaml\n# not a heading\n[not](a-link.md)\n```\n`[code](span.md)` [x](<b c.md>)\n\
                ## Exit codes\n## Exit codes\n### `--shard auto`: CI variables\n<a id=\"here\"></a>\n";
    let found: Vec<String> = links(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(found, ["cli.md#oidc-conform-run", "a.png", "b c.md"]);
    let a = anchors(text);
    for want in ["getting-started", "exit-codes", "exit-codes-1", "--shard-auto-ci-variables", "here"] {
        assert!(a.contains(want), "{want} in {a:?}");
    }
    assert!(!a.contains("not-a-heading"));
}

fn is_external(target: &str) -> bool {
    let scheme = target.split(':').next().unwrap_or("");
    (target.contains(':') && !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)))
        || target.starts_with("//")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Lines of the text outside fenced code blocks, with their numbers.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        match fence {
            Some(f) if t.starts_with(f) => fence = None,
            Some(_) => {}
            None if t.starts_with("```") || t.starts_with("~~~") => fence = Some(&t[..3]),
            None => out.push((i + 1, line)),
        }
    }
    out
}

/// Inline code spans blanked out of a line.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = &rest[start..start + ticks];
        out.push_str(&rest[..start]);
        match rest[start + ticks..].find(fence) {
            Some(end) => rest = &rest[start + ticks + end + ticks..],
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The targets of the inline links and images (`[text](target)`), with line numbers.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose(text) {
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let (target, next) = if let Some(inner) = after.strip_prefix('<') {
                match inner.find('>') {
                    Some(end) => (inner[..end].to_owned(), &inner[end..]),
                    None => break,
                }
            } else {
                // Up to the closing parenthesis, balanced; a title after a space is left out.
                let mut depth = 0;
                let mut end = after.len();
                for (i, c) in after.char_indices() {
                    match c {
                        '(' => depth += 1,
                        ')' if depth == 0 => {
                            end = i;
                            break;
                        }
                        ')' => depth -= 1,
                        _ => {}
                    }
                }
                let inside = &after[..end];
                (inside.split_whitespace().next().unwrap_or("").to_owned(), &after[end..])
            };
            if !target.is_empty() {
                out.push((n, target));
            }
            rest = next;
        }
    }
    out
}

/// The anchors a repository browser gives a page: one per heading (GitHub's
/// slug, `-1`, `-2` for repeats) and any `<a id>`/`<a name>`.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, line) in prose(text) {
        let t = line.trim_start();
        if t.starts_with('#') {
            let heading = t.trim_start_matches('#');
            if heading.starts_with(' ') || heading.is_empty() {
                let base = oidc_conform::docs::slug(heading.trim_end_matches('#').trim());
                let mut slug = base.clone();
                let mut n = 0;
                while out.contains(&slug) {
                    n += 1;
                    slug = format!("{base}-{n}");
                }
                out.insert(slug);
            }
        }
        for attr in ["id=\"", "name=\""] {
            let mut rest = line;
            while let Some(at) = rest.find(attr) {
                let value = &rest[at + attr.len()..];
                if let Some(end) = value.find('"') {
                    if rest[..at].contains("<a ") {
                        out.insert(value[..end].to_owned());
                    }
                    rest = &value[end..];
                } else {
                    break;
                }
            }
        }
    }
    out
}
