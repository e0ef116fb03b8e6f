//! The manual: its generated pages are current, and what it says of the
//! shipped suites is true.
//!
//! `OIDC_CONFORM_BLESS=1` rewrites the generated pages (`docs/checks.md`,
//! `docs/cli.md`) from the binary.

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
