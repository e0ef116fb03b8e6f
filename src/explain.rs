//! `oidc-conform explain CHECK`: one check in full, for the developer of the
//! provider that failed it: the rule in our words, its level and the party it
//! binds, the spec section (with its address), what a conformant provider
//! does, the shipped cases that probe it, the faults that make it fire (the
//! reference provider's quirks that the detection matrix proves), and, with
//! `--example`, a real verdict: the embedded provider run with such a fault.

use std::fmt::Write as _;

use crate::check::catalogue::{Binds, CATALOGUE, CheckDef, Requirement};
use crate::check::{Status, spec};
use crate::reference::{DETECTS, Quirk};

/// The catalogue entry for `id`, or an error naming the closest ids.
pub fn find(id: &str) -> Result<&'static CheckDef, String> {
    let wanted = id.trim();
    if let Some(def) = CATALOGUE.iter().find(|c| c.id.eq_ignore_ascii_case(wanted)) {
        return Ok(def);
    }
    let mut near: Vec<(usize, &str)> = CATALOGUE
        .iter()
        .map(|c| (distance(&wanted.to_ascii_lowercase(), c.id), c.id))
        .collect();
    near.sort();
    // The closest first; a family named by its prefix (`par.`) before the rest.
    let prefix = wanted.split('.').next().unwrap_or(wanted).to_ascii_lowercase();
    let in_family = |id: &str| !prefix.is_empty() && id.starts_with(&format!("{prefix}."));
    let family: Vec<&str> = near.iter().filter(|(_, id)| in_family(id)).map(|(_, id)| *id).take(5).collect();
    let suggestions: Vec<&str> = if family.is_empty() {
        near.iter().take(3).map(|(_, id)| *id).collect()
    } else {
        family
    };
    Err(format!(
        "no built-in check `{}`; did you mean {}? (`oidc-conform checks` lists them all)",
        crate::report::escape::escape_controls(wanted),
        suggestions.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
    ))
}

/// The quirks whose faults the check catches, with what each breaks.
pub fn faults(id: &str) -> Vec<Quirk> {
    DETECTS
        .iter()
        .filter(|(_, ids)| ids.contains(&id))
        .filter_map(|(name, _)| name.parse::<Quirk>().ok())
        .collect()
}

/// The explanation of `def`, with the shipped cases that name it (`suite::case`, what it does).
pub fn explain(def: &CheckDef, cases: &[(String, Option<String>)]) -> String {
    let mut out = String::new();
    let level = match def.level {
        Requirement::Must => "MUST: a failure is a failed check (exit 1)",
        Requirement::Should => "SHOULD: a departure is a warning (exit 0, unless --strict)",
        Requirement::May => "MAY: a departure is a warning, never a failure",
    };
    let binds = match def.binds {
        Binds::Provider => "the provider (OP, authorization server or resource server): a departure is the provider's finding",
        Binds::Client => "the client alone: never a finding about the provider (reported as information)",
        Binds::Both => "both parties, each with its share",
    };
    let _ = writeln!(out, "{}", def.id);
    let _ = writeln!(out, "  area:      {}", def.area.as_str());
    let _ = writeln!(out, "  level:     {level}");
    let _ = writeln!(out, "  binds:     {binds}");
    match spec::url(def.spec) {
        Some(url) => {
            let _ = writeln!(out, "  rule:      {} <{url}>", spec::title(def.spec));
        }
        None => {
            let _ = writeln!(out, "  rule:      {}", spec::title(def.spec));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "What a conformant provider does:");
    let _ = writeln!(out, "{}", wrap(def.rationale, "  "));
    let _ = writeln!(out);
    if cases.is_empty() {
        let _ = writeln!(
            out,
            "How it is judged: on every case whose tokens or answers it applies to (no shipped case is aimed at it alone)."
        );
    } else {
        let _ = writeln!(out, "Shipped cases aimed at it:");
        for (id, about) in cases {
            match about {
                Some(a) => {
                    let _ = writeln!(out, "  {id}: {}", first_sentence(a));
                }
                None => {
                    let _ = writeln!(out, "  {id}");
                }
            }
        }
    }
    let _ = writeln!(out);
    let quirks = faults(def.id);
    if quirks.is_empty() {
        let _ = writeln!(
            out,
            "No fault of the reference provider provokes it through the shipped suites (it is proven by the unit tests of its verdict)."
        );
    } else {
        let _ = writeln!(out, "Faults that make it fire (the reference provider commits each on request):");
        for q in &quirks {
            let _ = writeln!(out, "  {}: {}", q.name(), q.description());
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "See it fire:");
        let _ = writeln!(out, "  oidc-conform explain {} --example", def.id);
        let _ = writeln!(out, "  oidc-conform run --quirk {}", quirks[0].name());
    }
    out
}

/// A real verdict of the check: the shipped cases aimed at it (else every
/// shipped case) against the embedded provider with the first fault that
/// makes it fire; the first case where it fires, with its message, what was
/// expected and found, and the case's trace. `Ok(None)`: no fault provokes it.
pub async fn example(def: &CheckDef) -> Result<Option<String>, String> {
    let Some(quirk) = faults(def.id).into_iter().next() else {
        return Ok(None);
    };
    let config = crate::reference::Config {
        quirks: [quirk].into_iter().collect(),
        ..Default::default()
    };
    let rp = crate::reference::ReferenceProvider::start(config)
        .await
        .map_err(|e| format!("the embedded provider did not start: {e}"))?;
    let result = example_with(def, quirk, rp.issuer()).await;
    rp.shutdown().await;
    result
}

async fn example_with(def: &CheckDef, quirk: Quirk, issuer: &str) -> Result<Option<String>, String> {
    let profile = crate::run::reference_profile(issuer).map_err(|d| d.to_string())?;
    let cases = crate::run::load_cases(&[], &profile).map_err(|d| d.to_string())?;
    let provider = crate::flow::Provider::connect(profile, Default::default(), false, None)
        .await
        .map_err(|e| format!("the embedded provider's discovery did not load: {e}"))?;
    let (aimed, rest): (Vec<_>, Vec<_>) = cases
        .into_iter()
        .filter(|c| c.skip.is_none())
        .partition(|c| c.check.as_deref() == Some(def.id));
    for case in aimed.iter().chain(rest.iter()) {
        let report = crate::run::run_case(&provider, case).await;
        let Some(c) = report
            .checks
            .iter()
            .find(|c| c.id == def.id && matches!(c.status, Status::Fail | Status::Warn))
        else {
            continue;
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Example: case {} against the embedded provider with fault `{}`:",
            report.id,
            quirk.name()
        );
        let _ = writeln!(out, "  {} {}: {}", c.status.as_str(), c.id, c.message);
        if let Some(e) = &c.expected {
            let _ = writeln!(out, "  expected: {e}");
        }
        if let Some(f) = &c.found {
            let _ = writeln!(out, "  found:    {f}");
        }
        if !report.trace.is_empty() {
            let _ = writeln!(out, "  the exchange:");
            for step in &report.trace {
                let _ = writeln!(out, "    {step}");
            }
        }
        return Ok(Some(out));
    }
    Ok(Some(format!(
        "No shipped case showed `{}` firing with fault `{}` (the detection matrix test would fail too: please report it).\n",
        def.id,
        quirk.name()
    )))
}

/// The shipped cases aimed at `id` (their `check:`), as `suite::case` and what each does.
pub fn aimed_cases(id: &str) -> Vec<(String, Option<String>)> {
    let Ok(profile) = crate::run::reference_profile("http://127.0.0.1:1") else {
        return Vec::new();
    };
    let Ok(cases) = crate::run::load_cases(&[], &profile) else {
        return Vec::new();
    };
    cases
        .into_iter()
        .filter(|c| c.check.as_deref() == Some(id))
        .map(|c| (c.id(), c.about.clone()))
        .collect()
}

fn first_sentence(text: &str) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match t.find(". ") {
        Some(i) if i < 200 => t[..=i].to_owned(),
        _ => t.chars().take(200).collect(),
    }
}

/// `text` wrapped at 78 columns, each line after `indent`.
fn wrap(text: &str, indent: &str) -> String {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > 78 {
            lines.push(format!("{indent}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(format!("{indent}{line}"));
    }
    lines.join("\n")
}

/// Levenshtein distance (ids are short).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_is_explained_with_its_rule_cases_and_faults() {
        let def = find("par.one_time").unwrap();
        let text = explain(def, &aimed_cases(def.id));
        for want in [
            "par.one_time",
            "SHOULD",
            "RFC 9126 §4 <https://www.rfc-editor.org/rfc/rfc9126",
            "one-time use",
            "par::request-uri-reuse",
            "par-reusable:",
            "oidc-conform run --quirk par-reusable",
        ] {
            assert!(text.contains(want), "{want}\n{text}");
        }
    }

    #[test]
    fn an_unknown_check_names_the_nearest() {
        let err = find("par.onetime").unwrap_err();
        assert!(err.contains("`par.one_time`"), "{err}");
        let err = find("id_token.audience").unwrap_err();
        assert!(err.contains("`id_token.aud`"), "{err}");
        let err = find("zzz").unwrap_err();
        assert!(err.contains("oidc-conform checks"), "{err}");
    }

    #[test]
    fn every_fault_in_the_matrix_is_a_quirk_and_every_check_a_catalogue_id() {
        for (name, ids) in DETECTS {
            assert!(name.parse::<Quirk>().is_ok(), "{name}");
            for id in *ids {
                assert!(CATALOGUE.iter().any(|c| c.id == *id), "{name}: {id}");
            }
        }
    }
}
