//! The cases of a run as tasks of the run's runtime, with `cargo test`'s lines.
//!
//! Every case is a task on the one multi-threaded runtime of the run, at most
//! `jobs` of them under way at once, started in the order given (a fair
//! semaphore). A case waits for its provider far more than it computes; as
//! tasks, its I/O wakes it where the runtime polls, with no thread of its own
//! to hand each wake-up to (a `block_on` per case on a thread per worker
//! costs a context switch per wake-up, measured by `scripts/bench`).
//!
//! The console says what `cargo test` says, line for line: `running N tests`,
//! `test [kind] name ... ok` (`FAILED`, `ignored (why)`) as each case ends
//! (as it starts, then its outcome, with one job), the failures with their
//! messages, and `test result: …`. Standard output goes through
//! [`crate::output::print`], which never panics: a closed pipe or a full disk
//! stops the lines, never the run.

use std::future::Future;

use futures_util::FutureExt as _;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a case ended, for its console line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// `FAILED`; the message goes under `failures:`.
    Failed(String),
    /// `ignored (why)`.
    Ignored(String),
}

/// A case to run: its name and kind for the console, and its work.
pub struct Trial {
    pub name: String,
    /// Shown as `[kind] ` before the name; empty for none.
    pub kind: String,
    /// Makes the case's future when the case starts: a future holds its
    /// whole state from the moment it is made (tens of kilobytes for a
    /// flow), so ten thousand made up front would hold ten thousand states.
    pub run: Run,
}

/// What makes a trial's future.
pub type Run = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send>;

/// The counts of the summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Conclusion {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

/// Where the lines go: standard output, or a log file (behind a progress bar).
pub enum Sink {
    Stdout,
    File(std::fs::File),
}

/// The libtest-style printer.
pub struct Console {
    sink: Sink,
    color: bool,
    name_width: usize,
    kind_width: usize,
}

impl Console {
    pub fn new(sink: Sink, color: bool) -> Console {
        Console {
            sink,
            color,
            name_width: 0,
            kind_width: 0,
        }
    }

    fn write(&mut self, text: &str) {
        match &mut self.sink {
            Sink::Stdout => crate::output::print(text),
            // The log behind the progress bar: a failed write loses lines, never the run.
            Sink::File(f) => {
                let _ = f.write_all(text.as_bytes()).and_then(|()| f.flush());
            }
        }
    }

    fn painted(&self, text: &str, outcome: &Outcome) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match outcome {
            Outcome::Passed => 32,
            Outcome::Failed(_) => 31,
            Outcome::Ignored(_) => 33,
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn title(&mut self, n: usize) {
        self.write(&format!("\nrunning {n} test{}\n", if n == 1 { "" } else { "s" }));
    }

    fn start(&mut self, name: &str, kind: &str) {
        let kind = if kind.is_empty() { String::new() } else { format!("[{kind}] ") };
        let line = format!("test {kind: <kw$}{name: <nw$} ... ", kw = self.kind_width, nw = self.name_width);
        self.write(&line);
    }

    fn outcome(&mut self, outcome: &Outcome) {
        let word = match outcome {
            Outcome::Passed => "ok".to_owned(),
            Outcome::Failed(_) => "FAILED".to_owned(),
            Outcome::Ignored(why) if why.is_empty() => "ignored".to_owned(),
            Outcome::Ignored(why) => format!("ignored ({why})"),
        };
        let line = format!("{}\n", self.painted(&word, outcome));
        self.write(&line);
    }

    fn failures(&mut self, failed: &[(String, String)]) {
        if failed.is_empty() {
            return;
        }
        let mut text = String::from("\nfailures:\n\n");
        for (name, msg) in failed {
            text.push_str(&format!("---- {name} ----\n"));
            if !msg.is_empty() {
                text.push_str(msg);
                text.push('\n');
            }
            text.push('\n');
        }
        text.push_str("\nfailures:\n");
        for (name, _) in failed {
            text.push_str(&format!("    {name}\n"));
        }
        self.write(&text);
    }

    fn summary(&mut self, c: &Conclusion, took: Duration) {
        let (word, outcome) = if c.failed > 0 {
            ("FAILED", Outcome::Failed(String::new()))
        } else {
            ("ok", Outcome::Passed)
        };
        let line = format!(
            "\ntest result: {}. {} passed; {} failed; {} ignored; 0 measured; 0 filtered out; finished in {:.2}s\n\n",
            self.painted(word, &outcome),
            c.passed,
            c.failed,
            c.ignored,
            took.as_secs_f64()
        );
        self.write(&line);
    }
}

enum Event {
    Started(usize),
    Ended(usize, Outcome),
}

/// Runs `trials` on `rt`, at most `jobs` at once (at least one), started in
/// their order; prints their lines on `console` as they end; returns the counts.
pub fn run(rt: &tokio::runtime::Runtime, jobs: usize, mut console: Console, trials: Vec<Trial>) -> Conclusion {
    let started = Instant::now();
    console.name_width = trials.iter().map(|t| t.name.chars().count()).max().unwrap_or(0);
    console.kind_width = trials
        .iter()
        .map(|t| if t.kind.is_empty() { 0 } else { t.kind.chars().count() + 3 })
        .max()
        .unwrap_or(0);
    console.title(trials.len());
    let one_at_a_time = jobs <= 1;
    let names: Vec<(String, String)> = trials.iter().map(|t| (t.name.clone(), t.kind.clone())).collect();
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    let permits = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let n = trials.len();
    rt.spawn(async move {
        for (i, trial) in trials.into_iter().enumerate() {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let tx = tx.clone();
            let _ = tx.send(Event::Started(i));
            tokio::spawn(async move {
                // A panic in a case is a failure of that case, never a case gone missing.
                let outcome = match std::panic::AssertUnwindSafe((trial.run)()).catch_unwind().await {
                    Ok(o) => o,
                    Err(_) => Outcome::Failed("the case's task ended without a verdict: it panicked".into()),
                };
                drop(permit);
                let _ = tx.send(Event::Ended(i, outcome));
            });
        }
    });
    let mut conclusion = Conclusion::default();
    let mut failed = Vec::new();
    let mut ended = 0;
    while ended < n {
        let Ok(event) = rx.recv() else { break };
        match event {
            Event::Started(i) if one_at_a_time => console.start(&names[i].0, &names[i].1),
            Event::Started(_) => {}
            Event::Ended(i, outcome) => {
                ended += 1;
                if !one_at_a_time {
                    console.start(&names[i].0, &names[i].1);
                }
                console.outcome(&outcome);
                match outcome {
                    Outcome::Passed => conclusion.passed += 1,
                    Outcome::Failed(msg) => {
                        conclusion.failed += 1;
                        failed.push((names[i].0.clone(), msg));
                    }
                    Outcome::Ignored(_) => conclusion.ignored += 1,
                }
            }
        }
    }
    console.failures(&failed);
    console.summary(&conclusion, started.elapsed());
    conclusion
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A [`Run`] of a future made already (the tests' are small).
    fn ready_made(f: impl Future<Output = Outcome> + Send + 'static) -> Run {
        Box::new(move || Box::pin(f))
    }

    fn log_console() -> (Console, tempfile::NamedTempFile) {
        let f = tempfile::NamedTempFile::new().unwrap();
        (Console::new(Sink::File(f.reopen().unwrap()), false), f)
    }

    #[test]
    fn at_most_jobs_run_at_once_and_every_outcome_is_counted_and_printed() {
        let rt = crate::run::runtime().unwrap();
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let trials = (0..20)
            .map(|i| {
                let (now, most) = (now.clone(), most.clone());
                Trial {
                    name: format!("case-{i:02}"),
                    kind: if i % 2 == 0 { "code".into() } else { "implicit".into() },
                    run: ready_made(async move {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        now.fetch_sub(1, Ordering::SeqCst);
                        match i % 4 {
                            0 => Outcome::Failed(format!("check {i} failed")),
                            1 => Outcome::Ignored("skip: not offered".into()),
                            _ => Outcome::Passed,
                        }
                    }),
                }
            })
            .collect();
        let (console, log) = log_console();
        let c = run(&rt, 3, console, trials);
        assert_eq!(
            c,
            Conclusion {
                passed: 10,
                failed: 5,
                ignored: 5
            }
        );
        assert!(most.load(Ordering::SeqCst) <= 3, "{}", most.load(Ordering::SeqCst));
        assert!(most.load(Ordering::SeqCst) >= 2, "the cases ran one at a time");
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(text.starts_with("\nrunning 20 tests\n"), "{text}");
        assert!(text.contains("test [implicit] case-01 ... ignored (skip: not offered)\n"), "{text}");
        assert!(
            text.contains("test [code]     case-02 ... ok\n"),
            "names and kinds are aligned: {text}"
        );
        assert!(text.contains("test [code]     case-04 ... FAILED\n"), "{text}");
        assert!(text.contains("---- case-04 ----\ncheck 4 failed\n"), "{text}");
        assert!(text.contains("\nfailures:\n    case-00\n"), "{text}");
        assert!(
            text.contains("test result: FAILED. 10 passed; 5 failed; 5 ignored; 0 measured; 0 filtered out; finished in "),
            "{text}"
        );
    }

    #[test]
    fn cases_start_in_their_order_and_one_job_prints_each_line_as_it_starts() {
        let rt = crate::run::runtime().unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let trials = (0..5)
            .map(|i| {
                let order = order.clone();
                Trial {
                    name: format!("c{i}"),
                    kind: String::new(),
                    run: ready_made(async move {
                        order.lock().unwrap().push(i);
                        tokio::task::yield_now().await;
                        Outcome::Passed
                    }),
                }
            })
            .collect();
        let (console, log) = log_console();
        let c = run(&rt, 1, console, trials);
        assert_eq!(c.passed, 5);
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(text.contains("test c0 ... ok\ntest c1 ... ok\n"), "{text}");
        assert!(text.contains("test result: ok. 5 passed; 0 failed; 0 ignored;"), "{text}");
    }

    #[test]
    fn a_panicking_case_is_a_failure_and_the_others_still_run() {
        let rt = crate::run::runtime().unwrap();
        let mut trials: Vec<Trial> = vec![Trial {
            name: "boom".into(),
            kind: String::new(),
            run: ready_made(async { panic!("injected") }),
        }];
        trials.extend((0..3).map(|i| Trial {
            name: format!("fine{i}"),
            kind: String::new(),
            run: ready_made(async { Outcome::Passed }),
        }));
        let (console, log) = log_console();
        let c = run(&rt, 2, console, trials);
        assert_eq!(
            c,
            Conclusion {
                passed: 3,
                failed: 1,
                ignored: 0
            }
        );
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(text.contains("---- boom ----\nthe case's task ended without a verdict"), "{text}");
    }

    #[test]
    fn colour_marks_the_outcome_words_only() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let rt = crate::run::runtime().unwrap();
        let trials = vec![Trial {
            name: "x".into(),
            kind: String::new(),
            run: ready_made(async { Outcome::Passed }),
        }];
        run(&rt, 4, Console::new(Sink::File(f.reopen().unwrap()), true), trials);
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert!(text.contains("test x ... \x1b[32mok\x1b[0m\n"), "{text:?}");
        assert!(text.contains("test result: \x1b[32mok\x1b[0m. 1 passed"), "{text:?}");
    }
}
