#!/usr/bin/env python3
"""The benchmark driver behind `scripts/bench` (standard library only).

It expects what `scripts/bench` prepares: target/release/oidc-conform,
target/release/examples/raw_replay, bench/.venv with the peer's packages and,
unless --skip-node, the node oidc-provider fixture's node_modules. See
bench/README.md for what is measured and how to read the tables.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFORM = ROOT / "target/release/oidc-conform"
REPLAY = ROOT / "target/release/examples/raw_replay"
PEER_PY = ROOT / "bench/.venv/bin/python"
PEER = ROOT / "bench/peer.py"
NODE_DIR = ROOT / "fixtures/providers/node-oidc-provider"
NODE_PROFILE = NODE_DIR / "profile.yaml"
REF_PROFILE = ROOT / "fixtures/profiles/reference.yaml"
OUT_DIR = ROOT / "reports/bench"

# The reference provider's test credentials (fixtures/profiles/reference.yaml).
REF_CREDS = ["--client-id", "web-app", "--client-secret", "web-app-secret-7f3a9c",
             "--redirect-uri", "https://app.example.test/callback",
             "--username", "jane", "--password", "jane-password-5e8b"]
# The node fixture's (profile.yaml there; any password is accepted).
NODE_CREDS = ["--client-id", "web-app", "--client-secret", "web-app-secret-7f3a9c",
              "--redirect-uri", "https://app.example.test/callback",
              "--username", "jane", "--password", "any-password-is-accepted"]
SCOPE = "openid profile"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- inputs

def write_suite(tmp: Path, n: int) -> Path:
    """N distinct code-flow cases, scope `openid profile`."""
    path = tmp / f"suites/bench-{n}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        lines = [
            "suite: bench",
            f"about: {n} generated code-flow cases for scripts/bench.",
            "defaults: { client: web, user: jane, flow: code, area: flows }",
            "cases:",
        ]
        for i in range(n):
            lines.append(f"  - name: code-{i:05d}")
            lines.append("    request: { scope: openid profile }")
        path.write_text("\n".join(lines) + "\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_discovery(issuer: str, proc, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"provider exited ({proc.returncode}) before serving {issuer}")
        try:
            with urllib.request.urlopen(issuer + "/.well-known/openid-configuration", timeout=2) as r:
                if json.load(r).get("issuer") == issuer:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{issuer} did not serve discovery within {timeout} s")


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (not its children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class Provider:
    """A standalone provider process we started (stdin kept open)."""

    def __init__(self, kind: str, tmp: Path):
        self.kind = kind
        if kind == "reference":
            port = free_port()
            self.issuer = f"http://127.0.0.1:{port}"
            self.proc = subprocess.Popen([str(CONFORM), "serve", "--port", str(port)], cwd=ROOT,
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # reference.yaml with the issuer (and the forbidden namespace) at our port.
            self.profile = tmp / f"reference-{port}.yaml"
            self.profile.write_text(REF_PROFILE.read_text().replace("127.0.0.1:8787", f"127.0.0.1:{port}"))
            self.env = {}
            self.creds = REF_CREDS
        else:
            self.proc = subprocess.Popen(["node", "server.mjs", "0"], cwd=NODE_DIR, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            line = ""
            deadline = time.time() + 60
            while time.time() < deadline:
                line = self.proc.stdout.readline()
                if not line or line.startswith("listening "):
                    break
            if not line.startswith("listening "):
                raise RuntimeError("node oidc-provider did not print its `listening` line")
            self.issuer = line.split()[1]
            self.profile = NODE_PROFILE
            self.env = {"NODE_OIDC_ISSUER": self.issuer}
            self.creds = NODE_CREDS
        wait_discovery(self.issuer, self.proc)

    def cpu(self) -> float:
        return proc_cpu_seconds(self.proc.pid)

    def rss_mb(self) -> float:
        try:
            m = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{self.proc.pid}/status").read_text())
            return int(m.group(1)) / 1024 if m else float("nan")
        except OSError:
            return float("nan")

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # the node fixture exits on end of stdin
            except OSError:
                pass
            if self.kind == "reference":
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- one measured run

def timed(cmd, env=None, cwd=ROOT):
    """Runs cmd under /usr/bin/time -v; returns wall s, user+sys s, peak RSS MB, rc, stdout, stderr."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-v", "-o", tf.name] + [str(c) for c in cmd]
        e = dict(os.environ, NO_COLOR="1")
        e.pop("RUST_LOG", None)
        e.update(env or {})
        t0 = time.perf_counter()
        p = subprocess.run(full, cwd=cwd, env=e, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        tv = Path(tf.name).read_text()
    num = lambda pat: float(m.group(1)) if (m := re.search(pat, tv)) else float("nan")
    return {
        "wall": wall,
        "cpu": num(r"User time \(seconds\): ([\d.]+)") + num(r"System time \(seconds\): ([\d.]+)"),
        "rss_mb": num(r"Maximum resident set size \(kbytes\): (\d+)") / 1024,
        "ctx_switches": num(r"Voluntary context switches: (\d+)") + num(r"Involuntary context switches: (\d+)"),
        "rc": p.returncode,
        "stdout": p.stdout,
        "stderr": p.stderr,
    }


class Bench:
    def __init__(self, args, tmp: Path):
        self.args = args
        self.tmp = tmp
        self.failures = []

    def run(self, tool: str, n: int, jobs: int, provider=None) -> dict:
        """One run of `tool` doing n cases at `jobs`; checks that every case passed."""
        suite = write_suite(self.tmp, n)
        out = self.tmp / "out"
        shutil.rmtree(out, ignore_errors=True)
        if tool == "conform":
            cmd = [CONFORM, "run", suite, "--jobs", jobs, "--format", "json", "--output", out]
            env = {}
            if provider is not None:
                cmd += ["--provider", provider.profile]
                env = provider.env
        elif tool == "raw":
            cmd = [REPLAY, "--issuer", provider.issuer, "--cases", n, "--jobs", jobs, "--scope", SCOPE] + provider.creds
            env = {}
        elif tool == "raw_client_per_case":
            cmd = [REPLAY, "--issuer", provider.issuer, "--cases", n, "--jobs", jobs, "--scope", SCOPE,
                   "--client-per-case"] + provider.creds
            env = {}
        elif tool == "raw_threads":
            cmd = [REPLAY, "--issuer", provider.issuer, "--cases", n, "--jobs", jobs, "--scope", SCOPE,
                   "--threads"] + provider.creds
            env = {}
        elif tool == "peer":
            cmd = [PEER_PY, PEER, "--issuer", provider.issuer, "--cases", n, "--jobs", jobs, "--scope", SCOPE] + provider.creds
            env = {}
        else:
            raise ValueError(tool)
        cpu0 = provider.cpu() if provider else 0.0
        r = timed(cmd, env)
        r["provider_cpu"] = (provider.cpu() - cpu0) if provider else None
        r.update(tool=tool, n=n, jobs=jobs, provider=provider.kind if provider else "embedded")
        ok = r["rc"] == 0
        if tool == "conform" and r["rc"] in (0, 1) and (out / "run.json").exists():
            report = json.loads((out / "run.json").read_text())
            r["report_mb"] = (out / "run.json").stat().st_size / 2**20
            ok, why = complete(report["summary"], n)
            if not ok:
                r["stdout"] = f"{why}\n{r['stdout']}"
        elif tool != "conform":
            try:
                line = json.loads(r["stdout"].strip().splitlines()[-1])
                r["inner_seconds"] = line["seconds"]
                ok = ok and line["ok"] == n
            except (IndexError, ValueError, KeyError):
                ok = False
        r["ok"] = ok
        if not ok:
            msg = f"{tool} n={n} jobs={jobs} on {r['provider']}: exit {r['rc']}\n{r['stdout'][-1500:]}\n{r['stderr'][-1500:]}"
            self.failures.append(msg)
            log("FAILED " + msg)
        del r["stdout"], r["stderr"]
        return r


def complete(summary: dict, n: int):
    """Whether a harness run measured what it was asked to: every one of the n
    cases ran to a verdict that is not `error` (and was not skipped). Warnings
    and failures are the provider's findings (node oidc-provider's reviewed
    missing `Pragma`, say), not a failed run. Returns (ok, why not)."""
    if summary.get("total") != n:
        return False, f"the run has {summary.get('total')} cases, not {n}"
    for verdict in ("error", "skip"):
        if summary.get(verdict, 0):
            return False, f"{summary[verdict]} of {n} cases ended as `{verdict}`"
    ran = sum(summary.get(v, 0) for v in ("pass", "warn", "fail", "known"))
    if ran != n:
        return False, f"{ran} of {n} cases ran to a verdict"
    return True, ""


def self_test():
    """The completeness rule on hand-made summaries (run by the test suite)."""
    assert complete({"total": 7, "pass": 0, "warn": 7, "skip": 0, "fail": 0, "error": 0, "known": 0}, 7) == (True, "")
    assert complete({"total": 3, "pass": 1, "warn": 1, "fail": 1, "error": 0, "skip": 0, "known": 0}, 3)[0]
    assert not complete({"total": 3, "pass": 2, "warn": 0, "fail": 0, "error": 1, "skip": 0, "known": 0}, 3)[0]
    assert not complete({"total": 3, "pass": 2, "warn": 0, "fail": 0, "error": 0, "skip": 1, "known": 0}, 3)[0]
    assert not complete({"total": 2, "pass": 2, "warn": 0, "fail": 0, "error": 0, "skip": 0, "known": 0}, 3)[0]
    print("bench self-test: ok")


def summarise(runs, startup_runs, n):
    """Medians of a series of runs of one tool, with the startup-corrected per-case time."""
    ok = [r for r in runs if r["ok"]]
    if not ok:
        return {"runs": len(runs), "ok_runs": 0}
    wall = median([r["wall"] for r in ok])
    s = {
        "runs": len(runs),
        "ok_runs": len(ok),
        "n": n,
        "jobs": ok[0]["jobs"],
        "wall_s": wall,
        "wall_all_s": [round(r["wall"], 4) for r in ok],
        "e2e_cases_per_s": n / wall,
        "e2e_ms_per_case": 1000 * wall / n,
        "client_cpu_ms_per_case": 1000 * median([r["cpu"] for r in ok]) / n,
        "ctx_switches_per_case": median([r["ctx_switches"] for r in ok]) / n,
        "peak_rss_mb": max(r["rss_mb"] for r in ok),
    }
    pc = [r["provider_cpu"] for r in ok if r.get("provider_cpu") is not None]
    if pc:
        s["provider_cpu_ms_per_case"] = 1000 * median(pc) / n
    if any("report_mb" in r for r in ok):
        s["report_mb"] = median([r["report_mb"] for r in ok if "report_mb" in r])
    if any("inner_seconds" in r for r in ok):
        s["inner_cases_per_s"] = n / median([r["inner_seconds"] for r in ok if "inner_seconds" in r])
    st = [r["wall"] for r in (startup_runs or []) if r["ok"]]
    if st and n > 1:
        s["startup_s"] = median(st)
        s["startup_cpu_s"] = median([r["cpu"] for r in startup_runs if r["ok"]])
        # CPU per case without the fixed start-up CPU (key generation, loading), like ms/case.
        s["client_cpu_ms_per_case"] = max(0.0, 1000 * (median([r["cpu"] for r in ok]) - s["startup_cpu_s"]) / (n - 1))
        marginal = (wall - s["startup_s"]) / (n - 1)
        if marginal > 0:
            s["ms_per_case"] = 1000 * marginal
            s["cases_per_s"] = 1 / marginal
    return s


# ---------------------------------------------------------------- sections

def section_compare(b: Bench, refp, nodep, cfg):
    """Harness vs raw replay vs peer, same cases and concurrency, per provider."""
    J, R = cfg["jobs"], cfg["repeat"]
    plan = [  # (key, tool, provider, n)
        ("conform_embedded", "conform", None, cfg["n_ref"]),
        ("conform_ref", "conform", refp, cfg["n_ref"]),
        ("raw_ref", "raw", refp, cfg["n_ref"]),
        ("raw_client_per_case_ref", "raw_client_per_case", refp, cfg["n_ref"]),
        ("raw_threads_ref", "raw_threads", refp, cfg["n_ref"]),
        ("peer_ref", "peer", refp, cfg["n_ref"]),
    ]
    if nodep:
        plan += [
            ("conform_node", "conform", nodep, cfg["n_node"]),
            ("raw_node", "raw", nodep, cfg["n_node"]),
            ("peer_node", "peer", nodep, cfg["n_node"]),
        ]
    runs = {k: [] for k, *_ in plan}
    startup = {k: [] for k, *_ in plan}
    for rep in range(R):
        order = plan[rep % len(plan):] + plan[: rep % len(plan)]  # rotate: no tool always first
        for key, tool, prov, n in order:
            log(f"compare rep {rep + 1}/{R}: {key} n={n} jobs={J}")
            startup[key].append(b.run(tool, 1, J, prov))
            runs[key].append(b.run(tool, n, J, prov))
    return {key: summarise(runs[key], startup[key], n) | {"tool": tool, "provider": prov.kind if prov else "embedded"}
            for key, tool, prov, n in plan}


def section_scaling(b: Bench, cfg):
    """Embedded provider, growing N: time per case and peak RSS."""
    J = cfg["jobs"]
    startup = []
    out = {}
    for n in cfg["scaling_n"]:
        reps = cfg["repeat"] if n <= 1000 else cfg["repeat_big"]
        runs = []
        for rep in range(reps):
            if len(startup) < cfg["repeat"]:
                startup.append(b.run("conform", 1, J))
            log(f"scaling n={n} rep {rep + 1}/{reps}")
            runs.append(b.run("conform", n, J))
        out[str(n)] = summarise(runs, startup, n)
    return out


CHROMIUM = Path("/usr/bin/chromium")

# Measures, in the browser, the page's first paint and when its DOM was ready.
PAINT_PROBE = """<script>
window.addEventListener("load", function () {
  var fcp = performance.getEntriesByName("first-contentful-paint")[0];
  var nav = performance.getEntriesByType("navigation")[0];
  var pre = document.createElement("pre"); pre.id = "probe";
  pre.textContent = JSON.stringify({fcp: fcp ? fcp.startTime : null, dom: nav.domContentLoadedEventEnd,
    cases: document.querySelectorAll(".case").length});
  document.body.appendChild(pre);
});
</script>"""


def browser_paint(page: Path, tmp: Path):
    """First contentful paint and DOM-ready of a report.html in headless Chromium (ms), or None."""
    if not CHROMIUM.exists():
        return None
    html = page.read_text()
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html, count=1)
    probe = tmp / "paint-probe.html"
    probe.write_text(html.replace("</body>", PAINT_PROBE + "</body>"))
    profile = tmp / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    t0 = time.perf_counter()
    p = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND",
                        f"--user-data-dir={profile}", "--dump-dom", f"file://{probe}"],
                       capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    m = re.search(r'<pre id="probe">([^<]*)</pre>', p.stdout)
    if not m:
        return None
    v = json.loads(m.group(1).replace("&quot;", '"'))
    return {"first_paint_ms": v["fcp"], "dom_ready_ms": v["dom"], "cases_on_page": v["cases"], "browser_wall_s": wall}


def section_reports(b: Bench, cfg):
    """Every default format at N cases (one case in 100 failing): peak RSS, file sizes,
    `report render` of the saved run.json, and the HTML's first paint in headless Chromium."""
    out = {}
    for n in cfg["reports_n"]:
        suite = write_suite(b.tmp, n)
        # One case in a hundred fails (its suite expects a `name` the user does not have),
        # so the page has failures to show in full.
        failing_suite = b.tmp / f"suites/bench-reports-{n}.yaml"
        text = suite.read_text()
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("  - name: code-") and int(line.rsplit("-", 1)[1]) % 100 == 0:
                lines[i + 1] = "    request: { scope: openid profile }\n    expect: { id_token: { equals: { name: nobody-has-this-name } } }"
        failing_suite.write_text("\n".join(lines) + "\n")
        outdir = b.tmp / f"reports-{n}"
        shutil.rmtree(outdir, ignore_errors=True)
        log(f"reports n={n}: run with every format")
        r = timed([CONFORM, "run", failing_suite, "--jobs", cfg["jobs"], "--output", outdir])
        row = {"n": n, "rc": r["rc"], "wall_s": r["wall"], "peak_rss_mb": r["rss_mb"]}
        for name in ["run.json", "report.html", "junit.xml", "summary.md"]:
            f = outdir / name
            row[name.replace(".", "_") + "_mb"] = f.stat().st_size / 2**20 if f.exists() else None
        log(f"reports n={n}: report render of the saved run.json")
        rr = timed([CONFORM, "report", "render", outdir / "run.json", "--output", b.tmp / f"rerender-{n}"])
        row.update(render_rc=rr["rc"], render_wall_s=rr["wall"], render_peak_rss_mb=rr["rss_mb"])
        if (outdir / "report.html").exists():
            log(f"reports n={n}: report.html in headless Chromium")
            paint = browser_paint(outdir / "report.html", b.tmp)
            if paint:
                row.update(paint)
        if r["rc"] != 1 or rr["rc"] != 0:
            b.failures.append(f"reports n={n}: run exit {r['rc']} (expected 1: some cases fail), render exit {rr['rc']}\n{r['stderr'][-1500:]}")
        out[str(n)] = row
    return out


def section_drivers(b: Bench, cfg):
    """The same code-flow cases through the form driver and through the browser driver
    (headless Chromium), on the embedded provider: time per case and CPU."""
    if not CHROMIUM.exists():
        log("drivers: no /usr/bin/chromium, section left out")
        return {}
    n, J = cfg["drivers_n"], cfg["jobs"]
    out = {}
    for driver in ["form", "browser"]:
        runs, starts = [], []
        for rep in range(cfg["repeat_big"]):
            log(f"drivers: {driver} n={n} rep {rep + 1}/{cfg['repeat_big']}")
            for k, count in ((starts, 1), (runs, n)):
                s1 = write_suite(b.tmp, count)
                outdir = b.tmp / f"drivers-{driver}"
                shutil.rmtree(outdir, ignore_errors=True)
                r = timed([CONFORM, "run", s1, "--login-driver", driver, "--jobs", J, "--format", "json", "--output", outdir])
                r["ok"] = r["rc"] == 0
                r["jobs"] = J
                if not r["ok"]:
                    b.failures.append(f"drivers {driver} n={count}: exit {r['rc']}\n{r['stderr'][-1500:]}")
                del r["stdout"], r["stderr"]
                k.append(r)
        out[driver] = summarise(runs, starts, n)
    return out


# The fixture providers the tests run, started here the same way: (name, what
# starts it, the directory it runs in, issuer template, the profile's issuer
# variable, profile, baseline, environment).
SUITE_FIXTURES = [
    ("node oidc-provider (server-rendered login)", ["node", "server.mjs", "{port}"], NODE_DIR,
     "http://127.0.0.1:{port}", "NODE_OIDC_ISSUER", "profile.yaml", "baseline.yaml", {"NODE_OIDC_VARIANT": "full"}),
    ("node oidc-provider (JavaScript login)", ["node", "server.mjs", "{port}"], NODE_DIR,
     "http://127.0.0.1:{port}", "NODE_OIDC_ISSUER", "profile.spa.yaml", "baseline.spa.yaml", {"NODE_OIDC_VARIANT": "spa"}),
    ("django-oauth-toolkit", [".venv/bin/python", "serve.py", "{port}"], ROOT / "fixtures/providers/django-oauth-toolkit",
     "http://127.0.0.1:{port}/o", "DJANGO_OIDC_ISSUER", "profile.yaml", "baseline.yaml", {"PYTHONDONTWRITEBYTECODE": "1"}),
    ("idpyoidc", [".venv/bin/python", "serve.py", "{port}"], ROOT / "fixtures/providers/idpyoidc",
     "http://127.0.0.1:{port}", "IDPY_OIDC_ISSUER", "profile.yaml", None, {"IDPY_VARIANT": "full"}),
]


def fixture_venv(d: Path):
    """The fixture's virtualenv, created from its requirements.txt when missing (as the tests do)."""
    py = d / ".venv/bin/python"
    if not py.exists():
        log(f"suites: creating {d / '.venv'}")
        subprocess.run(["python3", "-m", "venv", ".venv"], cwd=d, check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements.txt"],
                       cwd=d, check=True)


def verdict_counts(report: dict) -> dict:
    counts = {}
    for c in report.get("cases", []):
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    return counts


def section_suites(b: Bench, cfg):
    """What a user waits for: the shipped suites, all of them, against each fixture
    provider as its profile declares it (its opt-in waits included), at the default
    concurrency: wall time, the harness's CPU (the browser's included) and the provider's."""
    out = {}
    runs = [("embedded reference provider", None)] + [(f[0], f) for f in SUITE_FIXTURES]
    for name, fx in runs:
        if fx is not None and fx[2] == NODE_DIR and not (NODE_DIR / "node_modules").exists():
            log(f"suites: {name}: no node_modules (npm ci in {NODE_DIR}), left out")
            b.failures.append(f"suites {name}: node_modules missing")
            continue
        outdir = b.tmp / "suites-out"
        shutil.rmtree(outdir, ignore_errors=True)
        proc = None
        try:
            env, cmd, prov_cpu0 = {}, [CONFORM, "run", "--format", "json", "--output", outdir], 0.0
            if fx is not None:
                _, start, cwd, issuer_t, var, profile, baseline, fenv = fx
                if start[0].startswith(".venv"):
                    fixture_venv(cwd)
                port = free_port()
                issuer = issuer_t.format(port=port)
                proc = subprocess.Popen([a.format(port=port) for a in start], cwd=cwd, stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env=dict(os.environ, **fenv))
                wait_discovery(issuer, proc, timeout=180)
                cmd += ["--provider", cwd / profile]
                if baseline:
                    cmd += ["--baseline", cwd / baseline]
                env = {var: issuer}
                prov_cpu0 = proc_cpu_seconds(proc.pid)
            log(f"suites: {name}")
            r = timed(cmd, env)
            report = json.loads((outdir / "run.json").read_text()) if (outdir / "run.json").exists() else {}
            ok = r["rc"] in (0, 1) and bool(report)
            if not ok:
                b.failures.append(f"suites {name}: exit {r['rc']}\n{r['stderr'][-1500:]}")
            out[name] = {
                "ok": ok, "wall_s": r["wall"], "cpu_s": r["cpu"], "peak_rss_mb": r["rss_mb"],
                "provider_cpu_s": (proc_cpu_seconds(proc.pid) - prov_cpu0) if proc else None,
                "cases": len(report.get("cases", [])), "verdicts": verdict_counts(report),
                "case_seconds": sum(c.get("duration_ms", 0) for c in report.get("cases", [])) / 1000,
            }
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            b.failures.append(f"suites {name}: {e}")
            out[name] = {"ok": False}
        finally:
            if proc and proc.poll() is None:
                try:
                    proc.stdin.close()  # the fixtures exit when their standard input closes
                    proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    proc.kill()
                    proc.wait()
    return out


def section_concurrency(b: Bench, refp, cfg):
    """Cases/s against the embedded provider at each --jobs (raw replay on the standalone one alongside)."""
    n, R = cfg["n_conc"], cfg["repeat_conc"]
    out = {}
    startup = [b.run("conform", 1, 1) for _ in range(max(3, R))]
    for jobs in cfg["jobs_levels"]:
        c, raw = [], []
        for rep in range(R):
            log(f"concurrency jobs={jobs} rep {rep + 1}/{R}")
            c.append(b.run("conform", n, jobs))
            raw.append(b.run("raw", n, jobs, refp))
        out[str(jobs)] = {"conform_embedded": summarise(c, startup, n), "raw_ref": summarise(raw, None, n)}
    return out


# ---------------------------------------------------------------- machine and report

def sh(cmd, cwd=ROOT):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:
        return f"unavailable ({e})"


def machine():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    peer_versions = sh([str(PEER_PY), "-c", "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
                        "['requests', 'beautifulsoup4', 'PyJWT', 'cryptography']}))"])
    try:
        op = json.loads((NODE_DIR / "node_modules/oidc-provider/package.json").read_text())["version"]
    except Exception:
        op = "not installed"
    dirty = sh(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
        "kernel": platform.release(),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "oidc_conform": sh([str(CONFORM), "--version"]),
        "git_commit": sh(["git", "rev-parse", "--short", "HEAD"]) + (" (with uncommitted changes)" if dirty else ""),
        "rustc": sh(["rustc", "--version"]),
        "python_peer": sh([str(PEER_PY), "--version"]),
        "peer_packages": json.loads(peer_versions) if peer_versions.startswith("{") else peer_versions,
        "node": sh(["node", "--version"]),
        "oidc_provider": op,
    }


def ratio(a, b):
    return a / b if a and b else None


def verdicts(res):
    """The issue's targets, from the comparison section (startup-corrected per-case times)."""
    c = res.get("compare", {})
    get = lambda k, f: c.get(k, {}).get(f)
    rows = []

    def add(name, value, e2e, target, ok, note):
        rows.append({"measure": name, "value": value, "e2e_value": e2e, "target": target,
                     "met": None if value is None else ok(value), "note": note})

    add("harness overhead: oidc-conform --provider (standalone reference) ÷ raw replay, time per case",
        ratio(get("conform_ref", "ms_per_case"), get("raw_ref", "ms_per_case")),
        ratio(get("conform_ref", "wall_s"), get("raw_ref", "wall_s")), "≤ 1.15×", lambda v: v <= 1.15,
        "like for like: same standalone provider, same exchanges")
    add("harness overhead: oidc-conform (embedded) ÷ raw replay (standalone reference), time per case",
        ratio(get("conform_embedded", "ms_per_case"), get("raw_ref", "ms_per_case")),
        ratio(get("conform_embedded", "wall_s"), get("raw_ref", "wall_s")), "≤ 1.15×", lambda v: v <= 1.15,
        "the embedded provider shares the harness's process and runtime")
    add("raw replay with a new client per case ÷ raw replay (standalone reference)",
        ratio(get("raw_client_per_case_ref", "ms_per_case"), get("raw_ref", "ms_per_case")),
        ratio(get("raw_client_per_case_ref", "wall_s"), get("raw_ref", "wall_s")), "(diagnostic)", lambda v: True,
        "the cost of building an HTTP client per case; the harness builds one per provider")
    add("raw replay with its cases on block_on threads (a thread per job) ÷ raw replay on tokio tasks",
        ratio(get("raw_threads_ref", "ms_per_case"), get("raw_ref", "ms_per_case")),
        ratio(get("raw_threads_ref", "wall_s"), get("raw_ref", "wall_s")), "(diagnostic)", lambda v: True,
        "what a case costs driven by Runtime::block_on from a thread of its own; the harness runs its cases as tasks (run::trials)")
    add("peer: oidc-conform (embedded) cases/s ÷ Python peer cases/s (standalone reference)",
        ratio(get("conform_embedded", "cases_per_s"), get("peer_ref", "cases_per_s")),
        ratio(get("conform_embedded", "e2e_cases_per_s"), get("peer_ref", "e2e_cases_per_s")), "≥ 20×", lambda v: v >= 20,
        "")
    add("peer: oidc-conform --provider (standalone reference) ÷ Python peer, cases/s",
        ratio(get("conform_ref", "cases_per_s"), get("peer_ref", "cases_per_s")),
        ratio(get("conform_ref", "e2e_cases_per_s"), get("peer_ref", "e2e_cases_per_s")), "(like for like)", lambda v: True, "")
    if "conform_node" in c:
        add("harness overhead on node oidc-provider: oidc-conform ÷ raw replay, time per case",
            ratio(get("conform_node", "ms_per_case"), get("raw_node", "ms_per_case")),
            ratio(get("conform_node", "wall_s"), get("raw_node", "wall_s")), "≤ 1.15×", lambda v: v <= 1.15, "")
        add("peer on node oidc-provider: oidc-conform cases/s ÷ Python peer cases/s",
            ratio(get("conform_node", "cases_per_s"), get("peer_node", "cases_per_s")),
            ratio(get("conform_node", "e2e_cases_per_s"), get("peer_node", "e2e_cases_per_s")), "≥ 1.5×", lambda v: v >= 1.5, "")
    s = res.get("scaling", {})
    per_case = [v.get("ms_per_case") for v in s.values() if v.get("ms_per_case")]
    if len(per_case) >= 2:
        add("scaling: slowest ÷ fastest time per case over N = " + ", ".join(s.keys()),
            max(per_case) / min(per_case), None, "≤ 1.25× (flat)", lambda v: v <= 1.25, "startup-corrected time per case")
    if s:
        big = list(s.keys())[-1]
        add(f"scaling: peak RSS at N = {big} (MB)", s[big].get("peak_rss_mb"), None,
            "≤ 150 MB" if big == "10000" else "≤ 150 MB at 10 000 (not run)", lambda v: v <= 150, "")
    d = res.get("drivers", {})
    if d.get("form", {}).get("ms_per_case") and d.get("browser", {}).get("ms_per_case"):
        add("drivers: browser driver ÷ form driver, time per case (embedded provider)",
            d["browser"]["ms_per_case"] / d["form"]["ms_per_case"], None, "(cost of the browser)", lambda v: True,
            f"{d['form']['ms_per_case']:.1f} ms vs {d['browser']['ms_per_case']:.1f} ms per case")
    rep = res.get("reports", {})
    if rep:
        big = list(rep.keys())[-1]
        r = rep[big]
        full = big == "10000"
        add(f"reports: peak RSS of a run with every format at N = {big} (MB)", r.get("peak_rss_mb"), None,
            "≤ 150 MB" if full else "≤ 150 MB at 10 000 (not run)", lambda v: v <= 150, "")
        add(f"reports: report render of the saved run.json at N = {big}, peak RSS (MB)", r.get("render_peak_rss_mb"), None,
            "≤ 150 MB", lambda v: v <= 150, "")
        add(f"reports: report.html at N = {big} (MB)", r.get("report_html_mb"), None,
            "≤ 15 MB", lambda v: v <= 15, "")
        add(f"reports: report.html at N = {big}, first paint in headless Chromium (s)",
            None if r.get("first_paint_ms") is None else r["first_paint_ms"] / 1000, None,
            "< 3 s", lambda v: v < 3, "needs /usr/bin/chromium")
    return rows


def fmt(v, nd=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        if v != v:
            return "–"
        return f"{v:,.{nd}f}"
    return str(v)


LABELS = {
    "conform_embedded": ("oidc-conform", "embedded reference"),
    "conform_ref": ("oidc-conform --provider", "reference (standalone)"),
    "raw_ref": ("raw replay", "reference (standalone)"),
    "raw_client_per_case_ref": ("raw replay, client per case", "reference (standalone)"),
    "raw_threads_ref": ("raw replay, cases on block_on threads", "reference (standalone)"),
    "peer_ref": ("Python peer", "reference (standalone)"),
    "conform_node": ("oidc-conform --provider", "node oidc-provider"),
    "raw_node": ("raw replay", "node oidc-provider"),
    "peer_node": ("Python peer", "node oidc-provider"),
}


def markdown(res):
    m = res["machine"]
    cfg = res["config"]
    L = [f"# oidc-conform benchmark ({'quick' if cfg['quick'] else 'full'})", ""]
    L.append(f"{m['date']} · {m['nproc']} CPUs ({m['cpu_model']}) · {m['memory_gib']} GiB · Linux {m['kernel']} · "
             f"load at start {' '.join(m['loadavg_start'])} · {m['oidc_conform']} @ {m['git_commit']} · {m['rustc']} · "
             f"peer: {m['python_peer']}, {', '.join(f'{k} {v}' for k, v in m['peer_packages'].items()) if isinstance(m['peer_packages'], dict) else m['peer_packages']} · "
             f"node {m['node']}, oidc-provider {m['oidc_provider']}")
    L.append("")
    L.append(f"Medians of {cfg['repeat']} runs (interleaved). Every case is a code flow with PKCE, scope `{SCOPE}`: "
             "authorize → login → consent → token → userinfo (+2 userinfo probes). *ms/case* and *cases/s* are "
             "startup-corrected: (wall(N) − wall(1 case)) ÷ (N − 1); *e2e* is N ÷ wall of the whole process. "
             "CPU is user+sys of the measured process (start-up CPU subtracted the same way; 10 ms resolution), provider CPU "
             "is the standalone provider's, from /proc; context switches are the process's voluntary + involuntary ones.")
    L.append("")
    if res.get("verdicts"):
        L += ["## Targets", "", "| measure | value | e2e value | target | met |", "|---|---:|---:|---|---|"]
        for v in res["verdicts"]:
            met = "–" if v["met"] is None else ("yes" if v["met"] else "**no**")
            if v["target"].startswith("("):
                met = ""
            L.append(f"| {v['measure']} | {fmt(v['value'])} | {fmt(v['e2e_value'])} | {v['target']} | {met} |")
        L.append("")
    if res.get("compare"):
        L += [f"## Harness vs raw replay vs peer (--jobs {cfg['jobs']})", "",
              "| tool | provider | N | wall s | ms/case | cases/s | e2e cases/s | client CPU ms/case | provider CPU ms/case | ctx switches/case | peak RSS MB |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for key, s in res["compare"].items():
            tool, prov = LABELS.get(key, (key, ""))
            if not s.get("ok_runs"):
                L.append(f"| {tool} | {prov} | – | failed | | | | | | | |")
                continue
            L.append(f"| {tool} | {prov} | {s['n']} | {fmt(s['wall_s'], 3)} | {fmt(s.get('ms_per_case'), 3)} | "
                     f"{fmt(s.get('cases_per_s'), 0)} | {fmt(s['e2e_cases_per_s'], 0)} | {fmt(s['client_cpu_ms_per_case'], 3)} | "
                     f"{fmt(s.get('provider_cpu_ms_per_case'), 3)} | {fmt(s['ctx_switches_per_case'], 1)} | {fmt(s['peak_rss_mb'], 1)} |")
        L.append("")
    if res.get("scaling"):
        L += [f"## Scaling (embedded reference provider, --jobs {cfg['jobs']})", "",
              "| N | runs | wall s | ms/case | e2e ms/case | CPU ms/case | peak RSS MB | run.json MB |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for n, s in res["scaling"].items():
            if not s.get("ok_runs"):
                L.append(f"| {n} | failed | | | | | | |")
                continue
            L.append(f"| {int(n):,} | {s['ok_runs']} | {fmt(s['wall_s'], 3)} | {fmt(s.get('ms_per_case'), 3)} | "
                     f"{fmt(s['e2e_ms_per_case'], 3)} | {fmt(s['client_cpu_ms_per_case'], 3)} | {fmt(s['peak_rss_mb'], 1)} | "
                     f"{fmt(s.get('report_mb'), 1)} |")
        L.append("")
    if res.get("drivers"):
        L += [f"## Login drivers (embedded reference provider, code flow, --jobs {cfg['jobs']})", "",
              "| driver | N | wall s | ms/case | e2e ms/case | CPU ms/case | peak RSS MB |",
              "|---|---:|---:|---:|---:|---:|---:|"]
        for name, s_ in res["drivers"].items():
            if not s_.get("ok_runs"):
                L.append(f"| {name} | failed | | | | | |")
                continue
            L.append(f"| {name} | {s_['n']} | {fmt(s_['wall_s'], 2)} | {fmt(s_.get('ms_per_case'), 1)} | "
                     f"{fmt(s_['e2e_ms_per_case'], 1)} | {fmt(s_['client_cpu_ms_per_case'], 1)} | {fmt(s_['peak_rss_mb'], 1)} |")
        L += ["", "CPU includes the browser's processes (children of the harness); peak RSS is the largest single process.", ""]
    if res.get("reports"):
        L += [f"## Reports (embedded reference provider, every format, one case in 100 failing, --jobs {cfg['jobs']})", "",
              "| N | wall s | peak RSS MB | run.json MB | report.html MB | junit.xml MB | render s | render RSS MB | first paint ms | DOM ready ms |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for n, r in res["reports"].items():
            L.append(f"| {int(n):,} | {fmt(r.get('wall_s'), 2)} | {fmt(r.get('peak_rss_mb'), 1)} | {fmt(r.get('run_json_mb'), 1)} | "
                     f"{fmt(r.get('report_html_mb'), 1)} | {fmt(r.get('junit_xml_mb'), 1)} | {fmt(r.get('render_wall_s'), 2)} | "
                     f"{fmt(r.get('render_peak_rss_mb'), 1)} | {fmt(r.get('first_paint_ms'), 0)} | {fmt(r.get('dom_ready_ms'), 0)} |")
        L.append("")
    if res.get("suites"):
        L += ["## The shipped suites per fixture provider (what a user waits for)", "",
              "Every shipped suite against each provider as its profile declares it (opt-in waits included), "
              "at the default concurrency; harness CPU includes the browser's processes.", "",
              "| provider | cases | wall s | harness CPU s | provider CPU s | peak RSS MB | verdicts |",
              "|---|---:|---:|---:|---:|---:|---|"]
        for name, r in res["suites"].items():
            if not r.get("ok"):
                L.append(f"| {name} | – | **failed** | | | | |")
                continue
            v = ", ".join(f"{n} {k}" for k, n in sorted(r["verdicts"].items()))
            L.append(f"| {name} | {r['cases']} | {fmt(r['wall_s'], 1)} | {fmt(r['cpu_s'], 1)} | {fmt(r['provider_cpu_s'], 1)} | "
                     f"{fmt(r['peak_rss_mb'], 0)} | {v} |")
        js, html = (res["suites"].get("node oidc-provider (JavaScript login)", {}),
                    res["suites"].get("node oidc-provider (server-rendered login)", {}))
        if js.get("ok") and html.get("ok"):
            L += ["", f"JavaScript login ÷ server-rendered login, same provider and suites: "
                      f"{fmt(js['wall_s'] / html['wall_s'])}× the wall time (target ≤ 2×)."]
        L.append("")
    if res.get("concurrency"):
        L += [f"## Throughput vs concurrency (N = {cfg['n_conc']}, medians of {cfg['repeat_conc']})", "",
              "| --jobs | oidc-conform cases/s | oidc-conform e2e cases/s | CPU ms/case | raw replay e2e cases/s (standalone reference) |",
              "|---:|---:|---:|---:|---:|"]
        for j, s in res["concurrency"].items():
            c, r = s["conform_embedded"], s["raw_ref"]
            L.append(f"| {j} | {fmt(c.get('cases_per_s'), 0)} | {fmt(c.get('e2e_cases_per_s'), 0)} | "
                     f"{fmt(c.get('client_cpu_ms_per_case'), 3)} | {fmt(r.get('e2e_cases_per_s'), 0)} |")
        L.append("")
    if res.get("failures"):
        L += ["## Failed runs", ""] + [f"- `{f.splitlines()[0]}`" for f in res["failures"]] + [""]
    L.append(f"Load average at the end: {' '.join(res['loadavg_end'])}. Total bench time {res['bench_seconds']:.0f} s.")
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description="oidc-conform benchmark (see bench/README.md)")
    p.add_argument("--quick", action="store_true", help="short version: small N, fewer repetitions (about a minute)")
    p.add_argument("--repeat", type=int, help="repetitions per measurement")
    p.add_argument("--jobs", type=int, default=4, help="concurrency of the comparison and scaling runs (default 4)")
    p.add_argument("--skip-node", action="store_true", help="leave out node oidc-provider")
    p.add_argument("--only", default="compare,scaling,reports,drivers,concurrency,suites", help="sections to run, comma-separated")
    p.add_argument("--name", help="file name of the results under reports/bench/ (default: full, or quick)")
    p.add_argument("--self-test", action="store_true", help="check the bench's own rules and exit")
    args = p.parse_args()
    if args.self_test:
        self_test()
        return 0

    if args.quick:
        cfg = dict(n_ref=100, n_node=50, repeat=3, repeat_big=1, scaling_n=[100, 1000], n_conc=500, repeat_conc=1,
                   reports_n=[1000], drivers_n=20)
    else:
        cfg = dict(n_ref=1000, n_node=300, repeat=5, repeat_big=3, scaling_n=[100, 1000, 10000], n_conc=1000, repeat_conc=3,
                   reports_n=[1000, 10000], drivers_n=100)
    if args.repeat:
        cfg["repeat"] = cfg["repeat_conc"] = args.repeat
        cfg["repeat_big"] = min(cfg["repeat_big"], args.repeat)
    cfg.update(quick=args.quick, jobs=args.jobs, jobs_levels=[1, 2, 4, 8, 16])
    sections = set(args.only.split(","))

    started = time.time()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    res = {"machine": machine(), "config": cfg}
    with tempfile.TemporaryDirectory(prefix="oidc-bench-") as tmp:
        tmp = Path(tmp)
        b = Bench(args, tmp)
        providers = []
        try:
            need_ref = bool(sections & {"compare", "concurrency"})
            refp = Provider("reference", tmp) if need_ref else None
            providers.append(refp)
            nodep = None
            if "compare" in sections and not args.skip_node:
                nodep = Provider("node", tmp)
                providers.append(nodep)
            if "compare" in sections:
                res["compare"] = section_compare(b, refp, nodep, cfg)
                res["provider_rss_mb"] = {p.kind: p.rss_mb() for p in providers if p}
            if "scaling" in sections:
                res["scaling"] = section_scaling(b, cfg)
            if "reports" in sections:
                res["reports"] = section_reports(b, cfg)
            if "drivers" in sections:
                res["drivers"] = section_drivers(b, cfg)
            if "concurrency" in sections:
                res["concurrency"] = section_concurrency(b, refp, cfg)
            if "suites" in sections:
                res["suites"] = section_suites(b, cfg)
        finally:
            for prov in providers:
                if prov:
                    prov.stop()
        res["failures"] = b.failures
    res["verdicts"] = verdicts(res)
    res["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    res["bench_seconds"] = time.time() - started
    name = args.name or ("quick" if args.quick else "full")
    (OUT_DIR / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
    md = markdown(res)
    (OUT_DIR / f"{name}.md").write_text(md)
    print(md)
    print(f"written: {OUT_DIR / (name + '.md')}, {OUT_DIR / (name + '.json')}")
    return 1 if b.failures else 0


if __name__ == "__main__":
    sys.exit(main())
