//! What a browser does with a page by itself, without anyone pressing a
//! button: the frames it loads (`<iframe src>`: front-channel logout, OIDC
//! Front-Channel Logout §2, renders one per client) and where it goes next on
//! its own (`<meta http-equiv="refresh">`, or a script setting
//! `location`), read from the HTML as served. Scripts are not run: a page that
//! builds its frames or its next address in code is seen only as "has scripts".

use scraper::{Html, Selector};
use url::Url;

/// The page as a browser would start on it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unattended {
    /// The `src` of every `<iframe>` outside `<noscript>`, resolved against the page.
    pub frames: Vec<Url>,
    /// Where the page sends the browser by itself: a meta refresh, then any
    /// address a script assigns to `location` (in the order found).
    pub onward: Vec<Url>,
    /// The page runs scripts: it may load frames or navigate in ways not seen here.
    pub scripted: bool,
}

/// Reads `html`, served at `page_url`.
pub fn read(html: &str, page_url: &Url) -> Unattended {
    let document = Html::parse_document(html);
    let mut out = Unattended::default();
    let outside_noscript = |e: &scraper::ElementRef| {
        !e.ancestors()
            .any(|a| a.value().as_element().is_some_and(|el| el.name() == "noscript"))
    };
    if let Ok(sel) = Selector::parse("iframe[src]") {
        out.frames = document
            .select(&sel)
            .filter(outside_noscript)
            .filter_map(|e| e.value().attr("src"))
            .filter_map(|src| page_url.join(src.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .collect();
    }
    if let Ok(sel) = Selector::parse("meta[http-equiv][content]") {
        for meta in document.select(&sel) {
            let equiv = meta.value().attr("http-equiv").unwrap_or_default();
            if !equiv.trim().eq_ignore_ascii_case("refresh") {
                continue;
            }
            if let Some(to) = meta.value().attr("content").and_then(refresh_target)
                && let Ok(u) = page_url.join(&to)
            {
                out.onward.push(u);
            }
        }
    }
    if let Ok(sel) = Selector::parse("script") {
        for script in document.select(&sel) {
            out.scripted = true;
            let code: String = script.text().collect();
            for to in location_assignments(&code) {
                if let Ok(u) = page_url.join(&to) {
                    out.onward.push(u);
                }
            }
        }
    }
    out.onward.retain(|u| matches!(u.scheme(), "http" | "https"));
    out
}

/// The address of a refresh's `content` (`0; url=https://…`, HTML §4.2.5.3):
/// `None` for a refresh of the page itself.
fn refresh_target(content: &str) -> Option<String> {
    let rest = content.trim_start().trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let rest = rest.trim_start().strip_prefix([';', ','])?.trim_start();
    let rest = match rest.get(..3) {
        Some(p) if p.eq_ignore_ascii_case("url") => rest[3..].trim_start().strip_prefix('=')?.trim_start(),
        _ => rest,
    };
    let unquoted = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or_default(),
        _ => rest,
    };
    let to = unquoted.trim();
    (!to.is_empty()).then(|| to.to_owned())
}

/// String literals a script assigns to the page's location:
/// `location = "…"`, `location.href = "…"`, `location.replace("…")`,
/// `location.assign("…")` (also through `window.` or `document.`), with the
/// escapes of a JavaScript string undone.
fn location_assignments(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("location") {
        let begin = from + at;
        let start = begin + "location".len();
        from = start;
        // `location` itself, not the end of another name (`geolocation`).
        if code[..begin]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$'))
        {
            continue;
        }
        let rest = code[start..].trim_start();
        let rest = if let Some(r) = rest.strip_prefix(".href") {
            r.trim_start().strip_prefix('=')
        } else if let Some(r) = rest.strip_prefix(".replace").or_else(|| rest.strip_prefix(".assign")) {
            r.trim_start().strip_prefix('(')
        } else if rest.starts_with("==") {
            None
        } else {
            rest.strip_prefix('=')
        };
        let Some(rest) = rest.map(str::trim_start) else { continue };
        if let Some(literal) = string_literal(rest).or_else(|| variable(code, rest)) {
            out.push(literal);
        }
    }
    out
}

/// The string literal a script declares the name at the start of `rest` as
/// (`var next = "…"`, `let`, `const`): the one level of indirection logout
/// pages use (`location.replace(next)`).
fn variable(code: &str, rest: &str) -> Option<String> {
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$'))
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    for keyword in ["var ", "let ", "const "] {
        let mut from = 0;
        while let Some(at) = code[from..].find(keyword) {
            let after = code[from + at + keyword.len()..].trim_start();
            from += at + keyword.len();
            let Some(after) = after.strip_prefix(name.as_str()) else { continue };
            if after.starts_with(|c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '$')) {
                continue;
            }
            if let Some(value) = after.trim_start().strip_prefix('=').map(str::trim_start).and_then(string_literal) {
                return Some(value);
            }
        }
    }
    None
}

/// The JavaScript string literal at the start of `code`, unescaped.
fn string_literal(code: &str) -> Option<String> {
    let mut chars = code.chars();
    let quote = chars.next().filter(|q| matches!(q, '"' | '\'' | '`'))?;
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            c if c == quote => return Some(out),
            '\\' => match chars.next()? {
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                'x' => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                'n' | 'r' | 't' => return None,
                other => out.push(other),
            },
            '$' if quote == '`' => return None,
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(html: &str) -> Unattended {
        read(html, &Url::parse("https://op.test/logout/done").unwrap())
    }

    #[test]
    fn frames_are_read_resolved_and_never_from_noscript() {
        let got = at(r#"<p>Signed out</p>
            <iframe src="https://rp.test/fc?x=1&amp;iss=https%3A%2F%2Fop.test&amp;sid=abc" style="display:none"></iframe>
            <iframe src="/own/frame"></iframe><iframe></iframe>
            <noscript><iframe src="https://rp.test/noscript"></iframe></noscript>
            <iframe src="javascript:alert(1)"></iframe>"#);
        let frames: Vec<String> = got.frames.iter().map(Url::to_string).collect();
        assert_eq!(
            frames,
            [
                "https://rp.test/fc?x=1&iss=https%3A%2F%2Fop.test&sid=abc",
                "https://op.test/own/frame"
            ]
        );
        assert!(!got.scripted);
        assert!(got.onward.is_empty());
    }

    #[test]
    fn a_meta_refresh_is_followed_in_each_of_its_spellings() {
        for content in [
            "0;url=https://rp.test/bye?state=s",
            "0; URL=https://rp.test/bye?state=s",
            "2, url='https://rp.test/bye?state=s'",
            "0;https://rp.test/bye?state=s",
            "  1.5 ; url = 'https://rp.test/bye?state=s' ",
        ] {
            let got = at(&format!(r#"<meta http-equiv="Refresh" content="{content}">"#));
            assert_eq!(got.onward, [Url::parse("https://rp.test/bye?state=s").unwrap()], "{content}");
        }
        assert!(at(r#"<meta http-equiv="refresh" content="5">"#).onward.is_empty());
        assert!(at(r#"<meta name="refresh" content="0;url=https://x.test/">"#).onward.is_empty());
    }

    #[test]
    fn a_script_setting_location_is_followed_and_a_comparison_is_not() {
        for script in [
            r#"window.location.replace("https:\/\/rp.test\/bye?state=s\u0026x=1");"#,
            r#"location.href = 'https://rp.test/bye?state=s&x=1';"#,
            r#"document.location = "https://rp.test/bye?state=s&x=1""#,
            r#"setTimeout(function(){ window.location.assign(`https://rp.test/bye?state=s&x=1`) }, 10)"#,
        ] {
            let got = at(&format!("<script>{script}</script>"));
            assert!(got.scripted);
            assert_eq!(got.onward, [Url::parse("https://rp.test/bye?state=s&x=1").unwrap()], "{script}");
        }
        let got = at(r#"<script>var next = "https:\/\/rp.test\/bye"; let nextx = 1; window.location.replace(next)</script>"#);
        assert_eq!(got.onward, [Url::parse("https://rp.test/bye").unwrap()]);
        let got = at(r#"<script>var geolocation = "https://x.test/"; mylocation.href = "https://y.test/";</script>"#);
        assert!(got.onward.is_empty(), "{:?}", got.onward);
        let got = at(
            r#"<script>if (location == "https://a.test/") {} location.href = next; var u = `https://x.test/${a}`; location.replace(u)</script>"#,
        );
        assert!(got.scripted);
        assert!(got.onward.is_empty(), "{:?}", got.onward);
    }
}
