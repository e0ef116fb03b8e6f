//! The example profiles for hosted providers validate (with their secrets from the environment).

use crate::util::root;

#[test]
fn example_profiles_validate() {
    let dir = root().join("fixtures/profiles/examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Give every `${env:NAME}` a dummy value, as a user's environment would.
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_oidc-conform"));
        cmd.args(["validate", f.to_str().unwrap()]).current_dir(root());
        for part in text.split("${env:").skip(1) {
            let name = part.split('}').next().unwrap();
            cmd.env(
                name,
                if name.ends_with("_URL") {
                    "https://sso.example.test"
                } else {
                    "example-value"
                },
            );
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{} does not validate:\n{}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Without the environment, each missing variable is named.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_oidc-conform"))
            .args(["validate", f.to_str().unwrap()])
            .current_dir(root())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("set the environment variable"),
            "{}",
            f.display()
        );
    }
}
