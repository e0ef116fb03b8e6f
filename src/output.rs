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
        lost(&e.to_string(), e.kind() == std::io::ErrorKind::BrokenPipe);
    }
}

/// Standard output can no longer be written: nothing more goes to it. Unless
/// its reader went away (a broken pipe), standard error says so, once.
pub fn lost(why: &str, broken_pipe: bool) {
    if !GONE.swap(true, Ordering::SeqCst) && !broken_pipe {
        eprintln!("cannot write to standard output ({why}): the console output stops here; the run goes on");
    }
}

/// The I/O error in a panic's message (`… Os { code: 28, kind: StorageFull,
/// message: "No space left on device" }` → `No space left on device`), or
/// the message.
pub fn io_error_of(panic_message: &str) -> &str {
    panic_message
        .split_once("message: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or(panic_message, |(m, _)| m)
}

/// Whether a panic's message is that of a write to a closed pipe.
pub fn is_broken_pipe(message: &str) -> bool {
    message.contains("Broken pipe") || message.contains("BrokenPipe") || message.contains("os error 32")
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
    fn the_io_error_of_a_failed_console_write() {
        let full = r#"called `Result::unwrap()` on an `Err` value: Os { code: 28, kind: StorageFull, message: "No space left on device" }"#;
        assert_eq!(super::io_error_of(full), "No space left on device");
        assert!(!super::is_broken_pipe(full));
        let pipe = r#"called `Result::unwrap()` on an `Err` value: Os { code: 32, kind: BrokenPipe, message: "Broken pipe" }"#;
        assert!(super::is_broken_pipe(pipe));
        assert_eq!(super::io_error_of("the console lines stopped"), "the console lines stopped");
    }
}
