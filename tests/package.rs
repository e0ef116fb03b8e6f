//! `cargo package`: the package holds what the binary builds in and the
//! manual, and never the fixture providers' installs, build output or reports.

use crate::util::root;

#[test]
fn the_package_holds_what_the_build_needs_and_nothing_installed() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: std::collections::BTreeSet<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    for never in ["node_modules", ".venv", "target/", "reports/", "fixtures/providers/", "bench/"] {
        let found: Vec<&String> = listed.iter().filter(|f| f.contains(never)).collect();
        assert!(found.is_empty(), "`{never}` is never packaged: {found:?}");
    }
    for needed in ["Cargo.toml", "README.md", "src/main.rs", "docs/project.md", "suites/basics.yaml"] {
        assert!(listed.contains(needed), "{needed} is packaged");
    }
    // Every file the source builds in (`include_str!`, `include_bytes!`).
    let (mut missing, mut built_in) = (Vec::new(), 0);
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("include_str!(\"").skip(1).chain(text.split("include_bytes!(\"").skip(1)) {
                let Some(rel) = part.split('"').next() else { continue };
                let Ok(file) = std::fs::canonicalize(path.parent().unwrap().join(rel)) else {
                    continue;
                };
                built_in += 1;
                let rel_root = file
                    .strip_prefix(std::fs::canonicalize(root()).unwrap())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if !listed.contains(&rel_root) {
                    missing.push(rel_root);
                }
            }
        }
    }
    assert!(built_in >= 20, "the source's built-in files were found ({built_in})");
    assert!(missing.is_empty(), "built-in files left out of the package: {missing:?}");
}
