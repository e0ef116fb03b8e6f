//! Fixture providers: real OpenID providers (under `fixtures/providers/`) that
//! the tests start themselves, each once per test run.
//!
//! A fixture is a command that serves `{issuer}/.well-known/openid-configuration`
//! on a loopback port and exits when its standard input closes. [`start`] picks
//! a free port, substitutes it for `{port}` in the arguments, environment and
//! issuer, spawns the command with stdin piped and waits for discovery. Keep a
//! fixture in a [`Shared`] static: it is started by the first test that asks
//! and lives until the test process exits, when the OS closes the stdin pipe
//! and the child notices the end of file (statics are never dropped; a
//! [`Fixture`] that is dropped kills its child).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::util::{Run, root};

/// How to start one fixture provider.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Name for messages, e.g. `node-oidc-provider`.
    pub name: String,
    pub program: String,
    /// Arguments; `{port}` is replaced by the port chosen.
    pub args: Vec<String>,
    /// Working directory.
    pub dir: PathBuf,
    /// Extra environment; `{port}` in values is replaced.
    pub env: Vec<(String, String)>,
    /// The issuer, e.g. `http://127.0.0.1:{port}`; discovery is fetched under it.
    pub issuer: String,
    /// How long the provider may take to serve discovery.
    pub ready_timeout: Duration,
}

impl Spec {
    pub fn new(name: &str, program: &str, dir: PathBuf) -> Spec {
        Spec {
            name: name.to_owned(),
            program: program.to_owned(),
            args: Vec::new(),
            dir,
            env: Vec::new(),
            issuer: "http://127.0.0.1:{port}".to_owned(),
            ready_timeout: Duration::from_secs(60),
        }
    }
}

/// A running fixture provider.
pub struct Fixture {
    pub name: String,
    pub issuer: String,
    pub port: u16,
    /// How long it took to serve discovery.
    pub started_in: Duration,
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    output: Arc<Mutex<String>>,
}

impl Fixture {
    /// What the child printed (stdout and stderr, interleaved; the last 64 KiB).
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Closes the child's stdin and waits up to `timeout` for it to exit.
    pub fn close_stdin_and_wait(&self, timeout: Duration) -> Option<ExitStatus> {
        drop(self.stdin.lock().ok()?.take());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.lock().ok()?.try_wait().ok().flatten() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Ok(mut stdin) = self.stdin.lock() {
            drop(stdin.take());
        }
        if let Ok(child) = self.child.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A fixture started once per test run, by the first test that needs it.
pub struct Shared(OnceLock<Result<Fixture, String>>);

impl Shared {
    pub const fn new() -> Shared {
        Shared(OnceLock::new())
    }

    /// The fixture, started with `start` on first use. Panics with the reason
    /// (in every test that asks) when it could not start.
    pub fn get(&self, start: impl FnOnce() -> Result<Fixture, String>) -> &Fixture {
        match self.0.get_or_init(start) {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        }
    }
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port can be bound");
    listener.local_addr().expect("a bound socket has an address").port()
}

/// Starts the fixture and waits for its discovery document. A child that
/// exits before it is ready (say, the port was taken in between) is retried
/// on another port, twice.
pub fn start(spec: &Spec) -> Result<Fixture, String> {
    let mut last = String::new();
    for _ in 0..3 {
        match start_once(spec, free_port())? {
            Ok(f) => return Ok(f),
            Err(exited) => last = exited,
        }
    }
    Err(last)
}

/// `Err` for a setup problem (no retry), `Ok(Err)` for a child that exited early.
fn start_once(spec: &Spec, port: u16) -> Result<Result<Fixture, String>, String> {
    let subst = |s: &str| s.replace("{port}", &port.to_string());
    let issuer = subst(&spec.issuer);
    let mut cmd = Command::new(&spec.program);
    cmd.args(spec.args.iter().map(|a| subst(a)))
        .current_dir(&spec.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &spec.env {
        cmd.env(k, subst(v));
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| {
        format!(
            "cannot start the {} fixture (`{} {}` in {}): {e}",
            spec.name,
            spec.program,
            spec.args.join(" "),
            spec.dir.display()
        )
    })?;
    let output = Arc::new(Mutex::new(String::new()));
    if let Some(out) = child.stdout.take() {
        collect(out, output.clone());
    }
    if let Some(err) = child.stderr.take() {
        collect(err, output.clone());
    }
    let mut fixture = Fixture {
        name: spec.name.clone(),
        issuer: issuer.clone(),
        port,
        started_in: Duration::ZERO,
        stdin: Mutex::new(child.stdin.take()),
        child: Mutex::new(child),
        output,
    };
    let shown = |f: &Fixture| {
        let out = f.output();
        if out.trim().is_empty() {
            "(it printed nothing)".to_owned()
        } else {
            format!("its output:\n{out}")
        }
    };
    let deadline = started + spec.ready_timeout;
    let mut last;
    loop {
        let exited = fixture.child.lock().ok().and_then(|mut c| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            return Ok(Err(format!(
                "the {} fixture exited ({status}) before serving its discovery document at {issuer}; {}",
                spec.name,
                shown(&fixture)
            )));
        }
        match discovery(&issuer, port) {
            Ok(()) => {
                fixture.started_in = started.elapsed();
                return Ok(Ok(fixture));
            }
            Err(e) => last = e,
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the {} fixture did not serve {issuer}/.well-known/openid-configuration within {:?} (last: {last}); {}",
                spec.name,
                spec.ready_timeout,
                shown(&fixture)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads a child's stream into the shared log, keeping its last 64 KiB.
fn collect(mut stream: impl Read + Send + 'static, log: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut log) = log.lock() {
                log.push_str(&String::from_utf8_lossy(&buf[..n]));
                if log.len() > 64 * 1024 {
                    let mut cut = log.len() - 64 * 1024;
                    while !log.is_char_boundary(cut) {
                        cut += 1;
                    }
                    log.drain(..cut);
                }
            }
        }
    });
}

/// One HTTP/1.0 GET of the discovery document; `Ok` when it answers 200 with
/// JSON naming `issuer` exactly (OIDC Discovery 1.0 §4.3).
fn discovery(issuer: &str, port: u16) -> Result<(), String> {
    let path = issuer
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("")
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path}/.well-known/openid-configuration HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("an incomplete HTTP response")?;
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("`{status}`"));
    }
    let doc: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("discovery is not JSON: {e}"))?;
    match doc["issuer"].as_str() {
        Some(i) if i == issuer => Ok(()),
        other => Err(format!("discovery names issuer {other:?}, not `{issuer}`")),
    }
}

/// What `PROGRAM --version` prints, or why it cannot run (the tool is missing).
pub fn tool_version(program: &str) -> Result<String, String> {
    let out = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`{program} --version` cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{program} --version` failed ({})", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Runs `oidc-conform ARGS` in the crate root with extra environment.
pub fn oidc_conform_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oidc-conform"));
    cmd.args(args).current_dir(root()).env_remove("RUST_LOG").env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("the oidc-conform binary runs");
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        output,
    }
}

/// Runs one case (`--exact`) against a provider described by `profile` (the
/// text of a profile, written into `work`), with `env` (the issuer); returns
/// the run and its output directory.
pub fn run_one_case(work: &Path, profile: &str, case: &str, env: &[(&str, &str)]) -> (Run, PathBuf) {
    run_one_case_with(work, profile, case, env, &[])
}

/// [`run_one_case`] with more arguments.
pub fn run_one_case_with(work: &Path, profile: &str, case: &str, env: &[(&str, &str)], extra: &[&str]) -> (Run, PathBuf) {
    let path = work.join("profile.yaml");
    std::fs::write(&path, profile).unwrap();
    let out = work.join("out");
    let mut args = vec![
        "run",
        case,
        "--exact",
        "--provider",
        path.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = oidc_conform_env(&args, env);
    (run, out)
}
