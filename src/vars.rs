//! `${…}` variables in suites and profiles: `${client.id}`, `${api.NAME.identifier}`,
//! `${issuer}`, `${user.claims.NAME}`, `${env:NAME}`, `${file:PATH}`.

/// A variable that could not be expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarError {
    /// The variable as written, without `${` and `}`.
    pub name: String,
    /// Character offset of `${` in the string.
    pub offset: usize,
    pub kind: VarErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarErrorKind {
    Unterminated,
    Undefined,
}

/// Replaces every `${name}` in `text` by `lookup(name)`; `$${` stands for a literal `${`.
pub fn expand(text: &str, mut lookup: impl FnMut(&str) -> Option<String>) -> Result<String, VarError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut consumed_chars = 0;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            consumed_chars += rest[..i + 2].chars().count();
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let offset = consumed_chars + rest[..i].chars().count();
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(VarError {
                name: after.to_owned(),
                offset,
                kind: VarErrorKind::Unterminated,
            });
        };
        let name = after[..end].trim();
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(VarError {
                    name: name.to_owned(),
                    offset,
                    kind: VarErrorKind::Undefined,
                });
            }
        }
        consumed_chars += rest[..i + 2 + end + 1].chars().count();
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Largest file `${file:PATH}` reads.
pub const MAX_FILE: u64 = 64 * 1024;

/// `${env:NAME}` and `${file:PATH}` in a profile (suites may not read either).
/// A relative PATH is relative to `base`, the profile's directory; only a
/// regular file of at most [`MAX_FILE`] bytes is read (never a device or a FIFO).
pub fn external(name: &str, base: &std::path::Path) -> Result<String, String> {
    if let Some(var) = name.strip_prefix("env:") {
        return std::env::var(var).map_err(|_| format!("set the environment variable `{var}` before running"));
    }
    if let Some(path) = name.strip_prefix("file:") {
        let full = base.join(path);
        let meta = std::fs::metadata(&full).map_err(|e| format!("the file `{}` could not be read: {e}", full.display()))?;
        if !meta.is_file() {
            return Err(format!("`{}` is not a regular file", full.display()));
        }
        if meta.len() > MAX_FILE {
            return Err(format!(
                "`{}` is larger than {} KiB: a secret file holds one value",
                full.display(),
                MAX_FILE / 1024
            ));
        }
        use std::io::Read as _;
        let mut text = String::new();
        std::fs::File::open(&full)
            .and_then(|f| f.take(MAX_FILE).read_to_string(&mut text))
            .map_err(|e| format!("the file `{}` could not be read: {e}", full.display()))?;
        return Ok(text.trim_end_matches(['\n', '\r']).to_owned());
    }
    Err("profiles know `${env:NAME}` and `${file:PATH}`".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(n: &str) -> Option<String> {
        (n == "client.id").then(|| "web".to_owned())
    }

    #[test]
    fn expands_and_reports_offsets() {
        assert_eq!(expand("a ${client.id} b", look).unwrap(), "a web b");
        assert_eq!(expand("$${client.id}", look).unwrap(), "${client.id}");
        let e = expand("é ${nope}", look).unwrap_err();
        assert_eq!((e.name.as_str(), e.offset, e.kind), ("nope", 2, VarErrorKind::Undefined));
        let e = expand("x ${client.id", look).unwrap_err();
        assert_eq!(e.kind, VarErrorKind::Unterminated);
    }
}

#[cfg(test)]
mod external_tests {
    use super::*;

    #[test]
    fn files_are_relative_to_the_profile_bounded_and_regular() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret.txt"), "s3cret\n").unwrap();
        assert_eq!(external("file:secret.txt", dir.path()).unwrap(), "s3cret");
        std::fs::write(dir.path().join("big.txt"), vec![b'x'; 70_000]).unwrap();
        assert!(external("file:big.txt", dir.path()).unwrap_err().contains("larger than"));
        assert!(external("file:/dev/zero", dir.path()).unwrap_err().contains("not a regular file"));
        assert!(external("file:.", dir.path()).unwrap_err().contains("not a regular file"));
    }
}
