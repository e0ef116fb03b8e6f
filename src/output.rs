//! Standard output that never panics and never ends the process.
//!
//! `println!` panics when standard output cannot be written: a closed pipe
//! (`oidc-conform run | head -3`; Rust ignores SIGPIPE, so the write fails
//! with EPIPE) or a full disk (`> /dev/full`). The verdict and the reports
//! must not depend on the reader of the console: every line the commands
//! print goes through [`print`], which writes what it can and, on the first
//! failure, stops writing to standard output — silently for a closed pipe
//! (the reader is gone), with one line on standard error otherwise — and
//! lets the command go on to its reports and its exit code.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

static GONE: AtomicBool = AtomicBool::new(false);

/// Writes `text` to standard output and flushes it; nothing once standard
/// output has failed.
pub fn print(text: &str) {
    if GONE.load(Ordering::SeqCst) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        lost(&reason(&e), e.kind() == std::io::ErrorKind::BrokenPipe);
    }
}

/// An I/O error in words: `No space left on device`, without ` (os error 28)`.
fn reason(e: &std::io::Error) -> String {
    let why = e.to_string();
    why.rsplit_once(" (os error ").map_or(why.clone(), |(w, _)| w.to_owned())
}

/// Standard output can no longer be written: nothing more goes to it. Unless
/// its reader went away (a broken pipe), standard error says so, once.
pub fn lost(why: &str, broken_pipe: bool) {
    if !GONE.swap(true, Ordering::SeqCst) && !broken_pipe {
        eprintln!("cannot write to standard output ({why}): the console output stops here; the run goes on");
    }
}

/// `println!` through [`print`]: never panics.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::print("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::print(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`print`]: never panics.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::print(&format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_io_error_is_said_without_its_number() {
        let full = std::io::Error::from_raw_os_error(28);
        assert_eq!(super::reason(&full), "No space left on device");
        let other = std::io::Error::other("the console lines stopped");
        assert_eq!(super::reason(&other), "the console lines stopped");
    }
}
