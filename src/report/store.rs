//! Finished cases, kept small in memory and whole on disk.
//!
//! A run of 10 000 cases must fit in a bounded amount of memory, whatever the
//! report formats. So a finished [`CaseReport`] is written once, as JSON, to a
//! spool file of this process (an unlinked temporary file: nothing is left
//! behind), and the report keeps a [`CaseEntry`]: the case's facts, its
//! verdict, the checks that did not pass in full, and one compact record per
//! passing check. Renderers that need everything (`run.json`, the case details
//! of `report.html`) read each case back in turn with [`CaseEntry::load`].
//!
//! If the spool cannot be written (no temporary directory, disk full), the
//! case is kept whole in memory instead: slower to scale, never wrong.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserializer, Serializer};

use super::CaseReport;
use crate::check::catalogue::Requirement;
use crate::check::{CheckResult, Status};

/// A finished case as a report holds it.
#[derive(Clone, Debug)]
pub struct CaseEntry {
    /// `suite::case`
    pub id: String,
    pub suite: String,
    pub name: String,
    pub about: Option<String>,
    pub area: String,
    pub flow: String,
    pub spec: Vec<String>,
    /// `file:line` of the case.
    pub location: String,
    pub status: Status,
    pub duration_ms: u64,
    /// Every check that did not pass (failed, errored, warned, skipped), whole and
    /// in order. These are the copies that count: a baseline marks them `known`,
    /// and [`CaseEntry::load`] puts them back into the case it reads.
    pub notable: Vec<CheckResult>,
    /// One compact record per passing check.
    pub passed: Vec<Passed>,
    full: Full,
}

/// A check that passed: which rule it judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Passed {
    pub id: &'static str,
    pub spec: &'static str,
    pub level: Requirement,
}

/// One check's verdict in a compact form: what [`CaseEntry::outcomes`] yields.
#[derive(Clone, Copy, Debug)]
pub struct Outcome<'a> {
    pub id: &'a str,
    pub spec: &'a str,
    pub level: Requirement,
    pub status: Status,
}

#[derive(Clone, Debug)]
enum Full {
    /// Bytes `offset..offset + len` of the spool.
    Spooled { offset: u64, len: u32 },
    /// The spool could not take it.
    Here(Arc<CaseReport>),
}

impl CaseEntry {
    /// Keeps `case`: whole in the spool, small here.
    pub fn new(case: CaseReport) -> CaseEntry {
        let full = match serde_json::to_vec(&case).ok().and_then(|bytes| spool_write(&bytes)) {
            Some((offset, len)) => Full::Spooled { offset, len },
            None => Full::Here(Arc::new(case.clone())),
        };
        let (passed, notable): (Vec<CheckResult>, Vec<CheckResult>) = case.checks.into_iter().partition(|k| k.status == Status::Pass);
        CaseEntry {
            id: case.id,
            suite: case.suite,
            name: case.name,
            about: case.about,
            area: case.area,
            flow: case.flow,
            spec: case.spec,
            location: case.location,
            status: case.status,
            duration_ms: case.duration_ms,
            notable,
            passed: passed
                .iter()
                .map(|k| Passed {
                    id: intern(&k.id),
                    spec: intern(&k.spec),
                    level: k.level,
                })
                .collect(),
            full,
        }
    }

    /// The whole case, with this entry's facts and notable checks (which a
    /// baseline may have marked since).
    pub fn load(&self) -> std::io::Result<CaseReport> {
        let mut case = match &self.full {
            Full::Here(c) => (**c).clone(),
            Full::Spooled { offset, len } => {
                let bytes = spool_read(*offset, *len)?;
                serde_json::from_slice::<CaseReport>(&bytes).map_err(std::io::Error::other)?
            }
        };
        let mut notable = self.notable.iter();
        for k in case.checks.iter_mut().filter(|k| k.status != Status::Pass) {
            if let Some(n) = notable.next() {
                *k = n.clone();
            }
        }
        case.id.clone_from(&self.id);
        case.status = self.status;
        Ok(case)
    }

    /// How many checks ran.
    pub fn check_count(&self) -> usize {
        self.notable.len() + self.passed.len()
    }

    /// Every check's rule and status (passing checks first, then the others).
    pub fn outcomes(&self) -> impl Iterator<Item = Outcome<'_>> {
        self.passed
            .iter()
            .map(|p| Outcome {
                id: p.id,
                spec: p.spec,
                level: p.level,
                status: Status::Pass,
            })
            .chain(self.notable.iter().map(|k| Outcome {
                id: &k.id,
                spec: &k.spec,
                level: k.level,
                status: k.status,
            }))
    }

    /// A failing case whose every problem a baseline expects.
    pub fn is_known_failure(&self) -> bool {
        matches!(self.status, Status::Fail | Status::Error) && self.problems().all(|c| c.known.is_some())
    }

    /// The checks that make the case fail or error, for summaries.
    pub fn problems(&self) -> impl Iterator<Item = &CheckResult> {
        self.notable.iter().filter(|c| matches!(c.status, Status::Fail | Status::Error))
    }
}

impl From<CaseReport> for CaseEntry {
    fn from(case: CaseReport) -> Self {
        CaseEntry::new(case)
    }
}

/// Check ids and spec ids, kept once: the same few hundred strings recur in
/// every case of a run.
fn intern(s: &str) -> &'static str {
    static TABLE: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| Mutex::new(HashSet::new()));
    let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = t.get(s) {
        return k;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    t.insert(leaked);
    leaked
}

/// The spool: one append-only file per process, removed from the directory as
/// soon as it is open.
struct Spool {
    file: File,
    end: u64,
}

fn spool() -> Option<&'static Mutex<Spool>> {
    static SPOOL: OnceLock<Option<Mutex<Spool>>> = OnceLock::new();
    SPOOL
        .get_or_init(|| {
            let dir = std::env::temp_dir();
            for attempt in 0..16u32 {
                let path = dir.join(format!(".oidc-conform-cases-{}-{attempt}", std::process::id()));
                let Ok(file) = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path) else {
                    continue;
                };
                // Unlinked at once: the file lives as long as the process holds it.
                let _ = std::fs::remove_file(&path);
                return Some(Mutex::new(Spool { file, end: 0 }));
            }
            None
        })
        .as_ref()
}

fn spool_write(bytes: &[u8]) -> Option<(u64, u32)> {
    let len = u32::try_from(bytes.len()).ok()?;
    let mut s = spool()?.lock().ok()?;
    let offset = s.end;
    s.file.write_all(bytes).ok()?;
    s.end += u64::from(len);
    Some((offset, len))
}

fn spool_read(offset: u64, len: u32) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; len as usize];
    let spool = spool().ok_or_else(|| std::io::Error::other("the case spool is gone"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt as _;
        // Read at an offset without moving the writer's position.
        let s = spool.lock().map_err(|_| std::io::Error::other("the case spool is poisoned"))?;
        let file = s.file.try_clone()?;
        drop(s);
        file.read_exact_at(&mut buf, offset)?;
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read as _, Seek as _, SeekFrom};
        let mut s = spool.lock().map_err(|_| std::io::Error::other("the case spool is poisoned"))?;
        let end = s.end;
        s.file.seek(SeekFrom::Start(offset))?;
        s.file.read_exact(&mut buf)?;
        s.file.seek(SeekFrom::Start(end))?;
    }
    Ok(buf)
}

/// `run.json`'s `cases`: each case read back from the spool in turn, so that the
/// whole list is never in memory at once.
pub(crate) fn serialize_cases<S: Serializer>(cases: &[CaseEntry], s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(cases.len()))?;
    for c in cases {
        let full = c.load().map_err(|e| serde::ser::Error::custom(format!("case `{}`: {e}", c.id)))?;
        seq.serialize_element(&full)?;
    }
    seq.end()
}

/// Reads `cases` one at a time into the spool: a saved run of any size loads
/// in the memory its entries need.
pub(crate) fn deserialize_cases<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<CaseEntry>, D::Error> {
    struct Cases;
    impl<'de> Visitor<'de> for Cases {
        type Value = Vec<CaseEntry>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of cases")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(100_000));
            while let Some(case) = seq.next_element::<CaseReport>()? {
                out.push(CaseEntry::new(case));
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str) -> CaseReport {
        let check = |id: &str, status| CheckResult {
            id: id.into(),
            status,
            message: format!("{id} said something"),
            expected: None,
            found: None,
            spec: "RFC6749-3.1".into(),
            level: Requirement::Must,
            known: None,
        };
        CaseReport {
            id: id.into(),
            suite: "s".into(),
            name: "n".into(),
            about: None,
            area: "flows".into(),
            flow: "code".into(),
            spec: vec![],
            location: "s.yaml:1".into(),
            status: Status::Fail,
            duration_ms: 3,
            checks: vec![
                check("a.one", Status::Pass),
                check("a.two", Status::Fail),
                check("a.three", Status::Pass),
            ],
            request: Default::default(),
            authorization_response: None,
            tokens: vec![],
            userinfo: None,
            trace: vec!["GET /authorize → 302".into()],
            exchanges: vec![],
            page: None,
        }
    }

    #[test]
    fn an_entry_is_small_and_loads_whole() {
        let e = CaseEntry::new(case("s::one"));
        assert!(matches!(e.full, Full::Spooled { .. }), "the spool takes it");
        assert_eq!(e.notable.len(), 1);
        assert_eq!(e.passed.len(), 2);
        assert_eq!(e.check_count(), 3);
        let back = e.load().unwrap();
        assert_eq!(back.checks, case("s::one").checks);
        assert_eq!(back.trace, ["GET /authorize → 302"]);
    }

    #[test]
    fn marks_on_the_entry_are_in_the_loaded_case() {
        let mut e = CaseEntry::new(case("s::two"));
        e.notable[0].known = Some("accepted".into());
        let back = e.load().unwrap();
        assert_eq!(back.checks[1].known.as_deref(), Some("accepted"));
        assert_eq!(back.checks[0].known, None);
        assert!(e.is_known_failure());
    }

    #[test]
    fn interned_strings_are_shared() {
        let a = intern("id_token.aud");
        let b = intern(&String::from("id_token.aud"));
        assert!(std::ptr::eq(a, b));
    }
}
