//! Diagnostics for bad input: a message, the place (`file:line:col`) with the
//! offending line and a caret, and a hint that names the fix.
//!
//! Every loader error that a user can cause ends up here, rendered the same way:
//!
//! ```text
//! error: unknown key `nmae`
//!   --> suites/basic.yaml:5:5
//!    |
//!  5 |     nmae: openid-only
//!    |     ^^^^
//!    = hint: did you mean `name`?
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a source file (1-based line and column, in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn from_location(loc: &serde_saphyr::Location) -> Option<Pos> {
        (loc.line() > 0).then(|| Pos {
            line: loc.line() as u32,
            col: loc.column().max(1) as u32,
        })
    }
}

/// A loaded source file, kept so diagnostics can quote its lines.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    /// Reads a file; the error is itself a diagnostic naming the file.
    pub fn read(path: &Path) -> Result<Source, Diagnostic> {
        let bytes = std::fs::read(path).map_err(|e| {
            Diagnostic::new(format!("cannot read `{}`: {e}", path.display()))
                .with_hint("check the path; suites are YAML files (`*.yaml`), profiles too")
        })?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Source::new(path, text)),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let good = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
                let line = good.matches('\n').count() + 1;
                let col = good.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
                let mut d = Diagnostic::new(format!(
                    "`{}` is not UTF-8: byte {at} (line {line}, column {col}) is not valid UTF-8",
                    path.display()
                ))
                .with_hint("save the file as UTF-8");
                d.file = Some(path.to_owned());
                d.pos = Some(Pos {
                    line: line as u32,
                    col: col as u32,
                });
                Err(d)
            }
        }
    }

    fn line(&self, line: u32) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)? as usize)
    }

    /// A diagnostic pointing at `pos` in this file, underlining `len` characters
    /// (at least one).
    pub fn error_at(&self, pos: Option<Pos>, len: usize, message: impl Into<String>) -> Diagnostic {
        let mut d = Diagnostic::new(message);
        d.file = Some(self.path.clone());
        if let Some(pos) = pos {
            d.pos = Some(pos);
            if let Some(quoted) = self.redacted_line(pos.line) {
                // The caret and underline follow the text as quoted (a redacted value has its own width).
                let col = quoted.col(pos.col as usize);
                // An underline never runs past the end of the line.
                let len = quoted
                    .width(pos.col as usize, len)
                    .min(quoted.text.chars().count().saturating_sub(col - 1))
                    .max(1);
                d.caret_col = col as u32;
                d.line_text = Some(quoted.text);
                d.underline = len;
            }
        }
        d
    }

    /// Line `line` as diagnostics quote it.
    pub fn redacted_line(&self, line: u32) -> Option<RedactedLine> {
        let text = self.line(line)?;
        Some(redact(text, !self.in_login_block(line)))
    }

    /// Whether `line` belongs to a profile's top-level `login:` mapping, where
    /// `password` names a CSS selector, not a secret.
    fn in_login_block(&self, line: u32) -> bool {
        self.text
            .lines()
            .take(line as usize)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .find(|l| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#') && !l.starts_with([' ', '\t'])
            })
            .is_some_and(|l| l.starts_with("login:"))
    }
}

/// One problem with the user's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub file: Option<PathBuf>,
    pub pos: Option<Pos>,
    pub line_text: Option<String>,
    /// The caret's column in `line_text` (1-based), where redaction moved it
    /// from `pos.col`; 0: `pos.col`.
    pub caret_col: u32,
    pub underline: usize,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            file: None,
            pos: None,
            line_text: None,
            caret_col: 0,
            underline: 1,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:col`, or whatever part of it is known.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?.display().to_string();
        Some(match self.pos {
            Some(p) => format!("{file}:{}:{}", p.line, p.col),
            None => file,
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if let Some(loc) = self.location() {
            let (Some(pos), Some(text)) = (self.pos, self.line_text.as_deref()) else {
                writeln!(f, "  --> {loc}")?;
                return self.fmt_hint(f, "");
            };
            let num = pos.line.to_string();
            let pad = " ".repeat(num.len());
            writeln!(f, "{pad}--> {loc}")?;
            writeln!(f, "{pad} |")?;
            // A long line is quoted as a window around the caret, never whole.
            let chars: Vec<char> = text.chars().collect();
            let col = (if self.caret_col > 0 { self.caret_col } else { pos.col } as usize)
                .saturating_sub(1)
                .min(chars.len());
            let start = if chars.len() > QUOTE_WIDTH {
                col.saturating_sub(QUOTE_WIDTH / 2)
            } else {
                0
            };
            let end = (start + QUOTE_WIDTH).min(chars.len());
            let head = if start > 0 { "…" } else { "" };
            let tail = if end < chars.len() { "…" } else { "" };
            let shown: String = chars[start..end].iter().collect();
            writeln!(f, "{num} | {head}{shown}{tail}")?;
            // Tabs before the caret keep their width so the caret lines up.
            let lead: String = head
                .chars()
                .map(|_| ' ')
                .chain(chars[start..col.max(start)].iter().map(|&c| if c == '\t' { '\t' } else { ' ' }))
                .collect();
            let underline = self.underline.min(QUOTE_WIDTH).min(end.saturating_sub(col).max(1));
            writeln!(f, "{pad} | {lead}{}", "^".repeat(underline))?;
            return self.fmt_hint(f, &pad);
        }
        self.fmt_hint(f, "")
    }
}

/// The widest slice of a source line a diagnostic quotes.
const QUOTE_WIDTH: usize = 160;

/// Keys whose values are secrets: quoted lines show `[redacted]` instead.
const SECRET_KEYS: &[&str] = &["secret", "password", "client_secret"];

/// What quoted secrets become.
const REDACTED: &str = "[redacted]";

/// A source line as a diagnostic quotes it: the values of secret-typed keys
/// and any registered credential replaced by `[redacted]`, every other
/// character (key names included) as written; and where each column went.
#[derive(Clone, Debug)]
pub struct RedactedLine {
    pub text: String,
    /// The values blanked, as written (without quotes): kept out of messages too.
    pub secrets: Vec<String>,
    /// For each character of the line (and one past its end): the range of
    /// characters of `text` it became.
    map: Vec<(usize, usize)>,
}

impl RedactedLine {
    /// The column (1-based) in `text` of the line's column `col`.
    pub fn col(&self, col: usize) -> usize {
        let i = col.saturating_sub(1).min(self.map.len() - 1);
        self.map[i].0 + 1
    }

    /// How many characters of `text` the `len` characters of the line from `col` became.
    pub fn width(&self, col: usize, len: usize) -> usize {
        let last = self.map.len() - 1;
        let i = col.saturating_sub(1).min(last);
        let j = (i + len.max(1)).min(last);
        if j <= i {
            return 1;
        }
        self.map[j - 1].1.saturating_sub(self.map[i].0).max(1)
    }
}

/// A source line with the values of secret-typed keys replaced, also in flow
/// mappings (`{ id: web, secret: s3cr3t }`), and any registered credential scrubbed.
pub fn redact_line(line: &str) -> String {
    redact(line, true).text
}

/// [`redact_line`], with its column map; `secret_keys: false` blanks only the
/// registered credentials (a line whose `password` is no secret).
pub fn redact(line: &str, secret_keys: bool) -> RedactedLine {
    let mut spans = if secret_keys { secret_value_spans(line) } else { Vec::new() };
    spans.extend(crate::secret::credential_spans(line));
    spans.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for r in spans {
        match merged.last_mut() {
            Some(last) if r.start < last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut text = String::with_capacity(line.len());
    let mut map = Vec::with_capacity(line.len() + 1);
    let mut secrets = Vec::new();
    let mut count = 0;
    let mut cursor = 0;
    let copy = |from: usize, to: usize, text: &mut String, map: &mut Vec<(usize, usize)>, count: &mut usize| {
        for c in line[from..to].chars() {
            text.push(c);
            map.push((*count, *count + 1));
            *count += 1;
        }
    };
    for r in merged {
        copy(cursor, r.start, &mut text, &mut map, &mut count);
        let value = &line[r.clone()];
        let bare = value.trim_matches(['"', '\'']);
        secrets.push(if bare.is_empty() { value } else { bare }.to_owned());
        let width = REDACTED.chars().count();
        map.extend(value.chars().map(|_| (count, count + width)));
        text.push_str(REDACTED);
        count += width;
        cursor = r.end;
    }
    copy(cursor, line.len(), &mut text, &mut map, &mut count);
    map.push((count, count));
    RedactedLine { text, secrets, map }
}

/// The byte ranges of the values of secret-typed keys on a line: the value
/// itself, without the blanks around it (`${env:…}` references are no secrets).
fn secret_value_spans(line: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut i = 0;
    'scan: while i < line.len() {
        let rest = &line[i..];
        // `key:` at the start of the line, after `{`, `,`, `-` or a space.
        if line[..i].chars().last().is_none_or(|c| matches!(c, ' ' | '\t' | '{' | ',' | '-')) {
            for key in SECRET_KEYS {
                if let Some(after) = rest.strip_prefix(key)
                    && let Some(value) = after.trim_start_matches([' ', '"', '\'']).strip_prefix(':')
                {
                    let start = line.len() - value.len();
                    let end = value_end(line, start, line[..i].contains('{'));
                    let v = &line[start..end];
                    let core = v.trim();
                    let bare = core.trim_matches(['"', '\'']);
                    let reference = bare.starts_with("${") && bare.ends_with('}') && bare.matches("${").count() == 1;
                    if !core.is_empty() && !reference {
                        let from = start + (v.len() - v.trim_start().len());
                        spans.push(from..from + core.len());
                    }
                    i = end.max(i + 1);
                    continue 'scan;
                }
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    spans
}

/// Where a value starting at byte `start` ends: after its closing quote if
/// quoted, then at the next `,` or `}` in a flow mapping, else at the end of the line.
fn value_end(line: &str, start: usize, in_flow: bool) -> usize {
    let v = &line[start..];
    let lead = v.len() - v.trim_start().len();
    let mut after = start + lead;
    let body = &line[after..];
    if let Some(q) = body.chars().next().filter(|c| matches!(c, '"' | '\'')) {
        let mut chars = body.char_indices().skip(1).peekable();
        let mut closed = None;
        while let Some((j, c)) = chars.next() {
            if q == '"' && c == '\\' {
                chars.next();
            } else if c == q {
                // `''` inside a single-quoted scalar is an escaped quote.
                if q == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                    chars.next();
                    continue;
                }
                closed = Some(j + 1);
                break;
            }
        }
        match closed {
            Some(j) => after += j,
            None => return line.len(),
        }
    }
    if in_flow {
        line[after..].find([',', '}']).map_or(line.len(), |k| after + k)
    } else {
        line.len()
    }
}

impl Diagnostic {
    fn fmt_hint(&self, f: &mut fmt::Formatter<'_>, pad: &str) -> fmt::Result {
        if let Some(hint) = &self.hint {
            writeln!(f, "{pad} = hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Several diagnostics (a file can have more than one problem).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Transposed or dropped letters (`wbe`, `helth`) or a close spelling.
    let close =
        |c: &str| strsim::damerau_levenshtein(word, c) <= (word.chars().count() / 3).max(1) || strsim::jaro_winkler(word, c) >= 0.85;
    candidates
        .into_iter()
        .filter(|c| close(c))
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Turns a YAML deserialisation error into a diagnostic with a hint.
/// Parses a suite or profile: YAML 1.2 booleans only (`yes`/`no` are not
/// booleans), duplicate keys refused, and a budget that takes suites of tens of
/// thousands of cases while still stopping alias bombs.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(source: &Source) -> Result<T, Diagnostics> {
    const WHAT: &str = "a suite starts with `suite: NAME` and `cases:`; a profile with `name:` and `issuer:`";
    if source.text.trim().is_empty() {
        let mut d = Diagnostic::new(format!("`{}` is empty", source.path.display())).with_hint(WHAT);
        d.file = Some(source.path.clone());
        return Err(d.into());
    }
    // Comments (and document markers) only: the YAML library would say "unexpected end of input".
    let content = |l: &&str| {
        let l = l.trim();
        !(l.is_empty() || l.starts_with('#') || l == "---" || l == "...")
    };
    if !source.text.lines().any(|l| content(&l)) {
        let d = source.error_at(
            Some(Pos { line: 1, col: 1 }),
            1,
            format!("`{}` has no content, only comments", source.path.display()),
        );
        return Err(d.with_hint(WHAT).into());
    }
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(yaml_budget());
    options.strict_booleans = true;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    serde_saphyr::from_str_with_options(&source.text, options).map_err(|e| from_yaml_error(source, &e).into())
}

/// The limits of a suite or profile file: sized for suites of tens of
/// thousands of cases, small enough to stop alias bombs and deep nesting.
fn yaml_budget() -> serde_saphyr::budget::Budget {
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_nodes = 10_000_000;
    budget.max_events = 40_000_000;
    budget.max_total_scalar_bytes = 512 * 1024 * 1024;
    budget
}

/// A limit of [`yaml_budget`] that a file went over (`budget breached: Depth { depth: 65 }`,
/// or the parser's own nesting limit), in our words: the message and a hint.
fn explain_yaml_limit(msg: &str) -> Option<(String, String)> {
    let b = yaml_budget();
    let too_deep = || {
        (
            format!("the YAML nests too deeply: more than {} levels of lists and mappings", b.max_depth),
            "suites and profiles need a few levels: flatten the value".to_owned(),
        )
    };
    if msg.starts_with("recursion limit exceeded") {
        return Some(too_deep());
    }
    let breach = msg.strip_prefix("budget breached: ")?;
    let name = breach.split([' ', '{', '(']).next().unwrap_or(breach);
    let (what, limit) = match name {
        "Depth" => return Some(too_deep()),
        "Events" => ("YAML events", b.max_events),
        "Nodes" => ("values", b.max_nodes),
        "Aliases" => ("aliases (`*name`)", b.max_aliases),
        "Anchors" => ("anchors (`&name`)", b.max_anchors),
        "ScalarBytes" => ("bytes of text", b.max_total_scalar_bytes),
        "RecordedAnchorEvents" => ("values repeated through aliases", b.max_recorded_anchor_events),
        "RecordedAnchorBytes" => ("bytes repeated through aliases", b.max_recorded_anchor_bytes),
        "Documents" => ("documents", b.max_documents),
        "MergeKeys" => ("merge keys (`<<`)", b.max_merge_keys),
        _ => {
            return Some((
                "the YAML is too large: it goes over a limit of the YAML reader".to_owned(),
                "aliases that repeat aliases multiply: write the values out, or split the file".to_owned(),
            ));
        }
    };
    Some((
        format!("the YAML is too large: more than {limit} {what}"),
        "aliases that repeat aliases multiply: write the values out, or split the file".to_owned(),
    ))
}

pub fn from_yaml_error(source: &Source, err: &serde_saphyr::Error) -> Diagnostic {
    let plain = err
        .render_with_options(serde_saphyr::render_options! {
            snippets: serde_saphyr::SnippetMode::Off,
        })
        .trim()
        .to_owned();
    let message = strip_location_prefix(&plain).to_owned();
    let pos = err.location().as_ref().and_then(Pos::from_location);
    if let Some((message, hint)) = explain_yaml_limit(&message) {
        return source.error_at(pos, 1, message).with_hint(hint);
    }
    if message.contains("found a tab") {
        // The scanner reports where the scalar started; point at the tab itself.
        let from = pos.map(|p| p.line as usize).unwrap_or(1);
        if let Some((i, line)) = source
            .text
            .lines()
            .enumerate()
            .skip(from.saturating_sub(1))
            .find(|(_, l)| l.contains('\t'))
        {
            let col = line.chars().position(|c| c == '\t').unwrap_or(0) + 1;
            let d = source.error_at(
                Some(Pos {
                    line: i as u32 + 1,
                    col: col as u32,
                }),
                1,
                "a tab character where YAML allows only spaces",
            );
            return d.with_hint("indent with spaces: YAML forbids tabs in indentation");
        }
    }
    let (mut message, hint, len) = explain_yaml_message(&message, source, pos);
    // On a secret's line, the secret is not shown in the library's message either.
    if let Some(quoted) = pos.and_then(|p| source.redacted_line(p.line))
        && !quoted.secrets.is_empty()
    {
        message = redact_secrets(&message, &quoted);
    }
    let mut d = source.error_at(pos, len, message);
    d.hint = hint;
    d
}

/// A message about a line with secrets: a `` `quoted` `` span is replaced by
/// `[redacted]` when it holds a secret, or a part of one the quoted line does
/// not show (a key name the line shows is kept); a secret anywhere else too.
fn redact_secrets(msg: &str, quoted: &RedactedLine) -> String {
    let reveals = |part: &str| {
        quoted
            .secrets
            .iter()
            .any(|s| part.contains(s.as_str()) || (s.contains(part) && !quoted.text.contains(part)))
    };
    let mut out = String::new();
    for (i, part) in msg.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 && !part.is_empty() && reveals(part) {
            out.push_str(REDACTED);
        } else {
            out.push_str(part);
        }
    }
    for s in quoted.secrets.iter().filter(|s| s.chars().count() >= 4) {
        out = out.replace(s.as_str(), REDACTED);
    }
    crate::secret::scrub(&out)
}

/// serde-saphyr prefixes plain messages with `line N column M: ` or suffixes
/// ` at line N column M`; the diagnostic shows the place itself.
fn strip_location_prefix(msg: &str) -> &str {
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    let msg = match msg.find(": ") {
        Some(i) if msg[..i].starts_with("line ") => &msg[i + 2..],
        _ => msg,
    };
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// Rewrites serde's messages into ours and works out a hint.
fn explain_yaml_message(msg: &str, source: &Source, pos: Option<Pos>) -> (String, Option<String>, usize) {
    let word_at = |pos: Option<Pos>| -> usize {
        pos.and_then(|p| source.line(p.line).map(|l| (l, p.col)))
            .map(|(l, col)| {
                l.chars()
                    .skip(col as usize - 1)
                    .take_while(|c| !c.is_whitespace() && *c != ':' && *c != ',' && *c != '}')
                    .count()
            })
            .unwrap_or(1)
    };
    if let Some((found, expected)) = parse_unknown(msg, "unknown field `") {
        let hint = match did_you_mean(&found, expected.iter().map(String::as_str)) {
            Some(best) => format!("did you mean `{best}`? (known keys: {})", expected.join(", ")),
            None => format!("known keys here: {}", expected.join(", ")),
        };
        return (format!("unknown key `{found}`"), Some(hint), found.chars().count());
    }
    if let Some((found, expected)) = parse_unknown(msg, "unknown variant `") {
        let hint = match did_you_mean(&found, expected.iter().map(String::as_str)) {
            Some(best) => format!("did you mean `{best}`? (allowed: {})", expected.join(", ")),
            None => format!("allowed values: {}", expected.join(", ")),
        };
        return (format!("unknown value `{found}`"), Some(hint), found.chars().count());
    }
    if let Some(field) = msg.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
        return (format!("missing key `{field}`"), Some(format!("add `{field}:` to this mapping")), 1);
    }
    let friendly = match msg {
        "expected sequence start" => Some(("expected a list", "write a list as `[a, b]` or as lines starting with `- `")),
        "expected mapping start" => Some(("expected a mapping", "write `key: value` pairs, e.g. `{ scope: openid }`")),
        "expected string scalar" => Some(("expected a text value", "write a single value here, e.g. `openid`")),
        _ => None,
    };
    if let Some((m, hint)) = friendly {
        return (m.to_owned(), Some(hint.to_owned()), word_at(pos));
    }
    let value_at = |pos: Option<Pos>| -> String {
        pos.and_then(|p| source.line(p.line).map(|l| (l, p.col)))
            .map(|(l, col)| {
                l.chars()
                    .skip(col as usize - 1)
                    .take_while(|c| !c.is_whitespace() && *c != ',' && *c != '}')
                    .collect::<String>()
            })
            .unwrap_or_default()
    };
    if let Some(key) = msg.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key).trim();
        return (
            format!("duplicate key `{key}`"),
            Some("a key appears once in a mapping: remove one of them (YAML does not merge them)".into()),
            word_at(pos),
        );
    }
    if msg.starts_with("invalid boolean") {
        let v = value_at(pos);
        return (
            format!("`{v}` is not a boolean"),
            Some("write `true` or `false`: in YAML 1.2 `yes`, `no`, `on` and `off`, quoted or not, are not booleans".into()),
            word_at(pos),
        );
    }
    if let Some(kind) = msg
        .strip_prefix("invalid ")
        .filter(|k| matches!(*k, "u64" | "u32" | "u16" | "u8" | "usize" | "i64" | "i32"))
    {
        let v = value_at(pos);
        let what = if kind.starts_with('u') {
            "a whole number of 0 or more"
        } else {
            "a whole number"
        };
        return (
            format!("`{v}` is not {what}"),
            Some(format!("write {what} here, without quotes or units, e.g. `3`")),
            word_at(pos),
        );
    }
    if msg.starts_with("mapping values are not allowed") {
        return (
            "a `:` where YAML does not allow one (it starts a mapping here)".into(),
            Some("quote a value that contains `: ` or ends in `:`, e.g. `filter: \"basics::\"`".into()),
            word_at(pos),
        );
    }
    if msg.starts_with("multiple YAML documents") {
        return (
            "a second YAML document (`---`) in one file".into(),
            Some("a file holds one suite or one profile: remove the `---` line and what follows, or move it into its own file".into()),
            word_at(pos),
        );
    }
    if msg.starts_with("invalid type") || msg.starts_with("expected ") {
        return (
            msg.to_owned(),
            Some("check the value's type against the format in docs/suites.md or docs/profiles.md (`oidc-conform schema suite|profile` prints the JSON Schema)".into()),
            word_at(pos),
        );
    }
    (msg.to_owned(), None, word_at(pos))
}

/// Parses serde's "unknown field `x`, expected one of `a`, `b`" (and the
/// variant form) into the word and the allowed list.
fn parse_unknown(msg: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.strip_prefix(prefix)?;
    let (found, rest) = rest.split_once('`')?;
    let expected = rest
        .split_once("expected")
        .map(|(_, list)| {
            list.trim_start_matches(" one of")
                .split(',')
                .map(|s| s.trim().trim_matches('`').to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Some((found.to_owned(), expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_caret_and_hint() {
        let src = Source::new("s.yaml", "a: 1\n  nmae: x\n");
        let d = src
            .error_at(Some(Pos { line: 2, col: 3 }), 4, "unknown key `nmae`")
            .with_hint("did you mean `name`?");
        assert_eq!(
            d.to_string(),
            "error: unknown key `nmae`\n --> s.yaml:2:3\n  |\n2 |   nmae: x\n  |   ^^^^\n  = hint: did you mean `name`?\n"
        );
    }

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(did_you_mean("nmae", ["name", "flow"]), Some("name"));
        assert_eq!(did_you_mean("zzz", ["name", "flow"]), None);
    }

    #[test]
    fn underline_stays_inside_the_line() {
        let src = Source::new("s.yaml", "ab\n");
        let d = src.error_at(Some(Pos { line: 1, col: 2 }), 10, "x");
        assert_eq!(d.underline, 1);
        let d = src.error_at(Some(Pos { line: 9, col: 2 }), 10, "x");
        assert_eq!(d.line_text, None);
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn secret_values_are_not_quoted() {
        assert_eq!(redact_line("    secret: s3cr3t-value"), "    secret: [redacted]");
        assert_eq!(
            redact_line("  web: { id: w, secret: s3cr3t, auth: client_secret_post }"),
            "  web: { id: w, secret: [redacted], auth: client_secret_post }"
        );
        assert_eq!(redact_line("    password: \"${env:PW}\""), "    password: \"${env:PW}\"");
        assert_eq!(redact_line("    password: pre-${env:PW}"), "    password: [redacted]");
        assert_eq!(redact_line("    username: jane"), "    username: jane");
    }

    /// The quoted line and the caret line of a rendered diagnostic.
    fn quoted(d: &Diagnostic) -> (String, String) {
        let text = d.to_string();
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains(" | ") && !l.trim_start().starts_with('|'))
            .unwrap();
        let strip = |l: &str| l.split_once(" | ").map(|(_, r)| r.to_owned()).unwrap_or_default();
        (strip(lines[at]), strip(lines[at + 1]))
    }

    #[test]
    fn on_a_secret_line_only_the_value_is_blanked_and_the_caret_stays_on_its_word() {
        let text = "name: p\nclients:\n  web: { id: w, secret: \"s3cr3t, very-long-value\", sceret: x, auth: client_secret_post }\n";
        let src = Source::new("p.yaml", text);
        // The key after the secret: col 52 is `sceret` in the file.
        let d = src.error_at(Some(Pos { line: 3, col: 52 }), 6, "unknown key `sceret`");
        let (line, caret) = quoted(&d);
        assert_eq!(line, "  web: { id: w, secret: [redacted], sceret: x, auth: client_secret_post }");
        assert_eq!(&line[caret.find('^').unwrap()..][..6], "sceret", "{d}");
        assert_eq!(caret.trim(), "^^^^^^", "{d}");
        assert!(d.to_string().contains("p.yaml:3:52"), "the place is the file's: {d}");
        // A caret on the secret itself underlines `[redacted]`.
        let d = src.error_at(Some(Pos { line: 3, col: 25 }), 25, "bad");
        let (line, caret) = quoted(&d);
        assert_eq!(&line[caret.find('^').unwrap()..][..caret.trim().len()], "[redacted]", "{d}");
        assert!(!d.to_string().contains("very-long"), "{d}");
    }

    #[test]
    fn a_library_message_on_a_secret_line_names_keys_not_the_secret() {
        let text = "clients:\n  web: { id: w, secret: s3cr3t-value-9, sceret: x }\n";
        let src = Source::new("p.yaml", text);
        let quoted = src.redacted_line(2).unwrap();
        assert_eq!(quoted.secrets, ["s3cr3t-value-9"]);
        assert_eq!(
            redact_secrets("unknown field `sceret`, expected one of `id`, `secret`", &quoted),
            "unknown field `sceret`, expected one of `id`, `secret`"
        );
        assert_eq!(
            redact_secrets("invalid type: `s3cr3t-value-9` (s3cr3t-value-9), part `value-9`", &quoted),
            "invalid type: `[redacted]` ([redacted]), part `[redacted]`"
        );
    }

    #[test]
    fn a_login_password_is_a_selector_not_a_secret() {
        let text = "name: p\nlogin:\n  password: \"##x\"\nusers:\n  u: { username: u, password: hunter2-pw }\n";
        let src = Source::new("p.yaml", text);
        assert_eq!(src.redacted_line(3).unwrap().text, "  password: \"##x\"");
        assert_eq!(src.redacted_line(5).unwrap().text, "  u: { username: u, password: [redacted] }");
    }

    #[test]
    fn a_huge_line_is_quoted_as_a_window() {
        let line = format!("key: {}", "x".repeat(20_000_000 / 1000));
        let src = Source::new("p.yaml", line);
        let d = src.error_at(Some(Pos { line: 1, col: 1 }), 3, "bad");
        let shown = d.to_string();
        assert!(shown.len() < 1000, "{} bytes", shown.len());
    }
}
