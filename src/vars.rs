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

/// `${env:NAME}` and `${file:PATH}`, shared by suites and profiles.
pub fn external(name: &str) -> Option<String> {
    if let Some(var) = name.strip_prefix("env:") {
        return std::env::var(var).ok();
    }
    if let Some(path) = name.strip_prefix("file:") {
        return std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim_end_matches(['\n', '\r']).to_owned());
    }
    None
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
