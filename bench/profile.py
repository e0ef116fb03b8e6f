#!/usr/bin/env python3
"""`scripts/bench --profile`: where one oidc-conform run's CPU time goes.

Records `oidc-conform run` (embedded reference provider, N generated code-flow
cases) with `perf record --call-graph dwarf`, then files every sample under the
first category (in the order below) whose pattern appears anywhere in its call
stack, and prints CPU ms per case and shares. Writes
reports/bench/profile.{md,json}. Needs `perf` (apt-get install linux-perf).

    python3 bench/profile.py [--cases 1000] [--jobs 4] [--freq 499] [--perf-data FILE]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import CONFORM, OUT_DIR, ROOT, machine, write_suite  # noqa: E402

# (category, substrings of a frame); the first category with a matching frame wins.
CATEGORIES = [
    ("startup: dynamic loading, provider RSA key generation", ["_dl_start", "_dl_relocate", "keys::Keys::generate", "KeyPair::generate"]),
    ("harness: HTTP client built (flow::http::client → rustls-platform-verifier → /etc/ssl/certs)",
     ["oidc_conform::flow::http::client", "ClientBuilder::build"]),
    ("provider: RSA signing of ID/access tokens (reference::keys)", ["oidc_conform::reference::keys", "RSA_sign", "rsa_sign"]),
    ("provider: HTML pages (minijinja)", ["minijinja::"]),
    ("provider: request handlers (other)", ["oidc_conform::reference::"]),
    ("provider: HTTP server (axum/hyper server side)", ["axum::serve", "hyper::proto::h1::dispatch::Server", "hyper::server::conn"]),
    ("harness: JWT signature verification (check::jwt::verify, jsonwebtoken, RSA verify)",
     ["oidc_conform::check::jwt::verify", "jsonwebtoken::decode", "DecodingKey::from_jwk"]),
    ("harness: JWT decoding and claim checks (check::*)", ["oidc_conform::check::"]),
    ("harness: login/consent page analysis (flow::form, scraper, html5ever)", ["oidc_conform::flow::form::", "html5ever::", "scraper::", "page_summary"]),
    ("harness: report (token views, JSON serialisation, file writing)",
     ["oidc_conform::report::", "oidc_conform::run::token_views", "serde_json::ser::"]),
    ("harness: suites and profile loading", ["oidc_conform::suite::", "oidc_conform::profile::", "serde_saphyr", "oidc_conform::run::load_cases"]),
    ("harness: HTTP client requests (reqwest/hyper client side, cookies)", ["reqwest::", "hyper_util::client", "hyper::client", "cookie_store::"]),
    ("harness: flow engine (other)", ["oidc_conform::flow::"]),
    ("harness: test runner (run::trials)", ["oidc_conform::run::trials::"]),
    ("tokio scheduler, thread wake-ups", ["tokio::runtime::"]),
]
KERNEL = "kernel without a user-space caller in the stack"
OTHER = "other"


def parse_samples(script_output: str):
    """Yields (period, frames leaf→root) from `perf script -F period,ip,sym,dso`."""
    period, frames = None, []
    for line in script_output.splitlines():
        if not line.strip():
            if period is not None:
                yield period, frames
            period, frames = None, []
        elif not line.startswith(("\t", " ")):
            parts = line.split()
            period = int(parts[-1]) if parts and parts[-1].isdigit() else 1
        else:
            frames.append(line.strip())
    if period is not None:
        yield period, frames


def categorise(frames):
    for name, pats in CATEGORIES:
        for f in frames:
            if any(p in f for p in pats):
                return name
    if frames and all("[kernel" in f for f in frames):
        return KERNEL
    return OTHER


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--jobs", type=int, default=4)
    p.add_argument("--freq", type=int, default=499)
    p.add_argument("--perf-data", help="analyse this perf.data instead of recording")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="oidc-profile-") as tmp:
        tmp = Path(tmp)
        data = Path(args.perf_data) if args.perf_data else tmp / "perf.data"
        wall = None
        if not args.perf_data:
            suite = write_suite(tmp, args.cases)
            cmd = ["perf", "record", "-q", "-F", str(args.freq), "-g", "--call-graph", "dwarf,16384", "-o", str(data),
                   str(CONFORM), "run", str(suite), "--jobs", str(args.jobs), "--format", "json", "--output", str(tmp / "out")]
            print(f"[profile] {' '.join(cmd)}", file=sys.stderr)
            t0 = time.perf_counter()
            r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if r.returncode != 0:
                print(r.stdout[-2000:], r.stderr[-2000:], file=sys.stderr)
                sys.exit(f"perf record failed ({r.returncode}); is perf installed (apt-get install linux-perf) and allowed "
                         "(/proc/sys/kernel/perf_event_paranoid)?")
        print("[profile] perf script (this takes a while)", file=sys.stderr)
        script = subprocess.run(["perf", "script", "-i", str(data), "-F", "comm,tid,period,ip,sym,dso"],
                                capture_output=True, text=True).stdout
    by_cat, total = Counter(), 0
    for period, frames in parse_samples(script):
        by_cat[categorise(frames)] += period
        total += period
    n = args.cases
    rows = [{"category": c, "share": v / total, "cpu_ms_per_case": v / 1e6 / n} for c, v in by_cat.most_common()]
    res = {"machine": machine(), "cases": n, "jobs": args.jobs, "wall_s_under_perf": wall,
           "cpu_s_sampled": total / 1e9, "categories": rows}
    lines = [f"# Where oidc-conform's CPU goes ({n} code-flow cases, embedded reference provider, --jobs {args.jobs})", "",
             f"perf, {args.freq} Hz, DWARF call graphs; {total / 1e9:.2f} CPU s sampled"
             + (f", {wall:.2f} s wall under perf" if wall else "") + ". A sample counts under the first category "
             "(in this order) with a matching frame anywhere in its stack.", "",
             "| category | share | CPU ms/case |", "|---|---:|---:|"]
    lines += [f"| {r['category']} | {100 * r['share']:.1f}% | {r['cpu_ms_per_case']:.3f} |" for r in rows]
    md = "\n".join(lines) + "\n"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "profile.json").write_text(json.dumps(res, indent=2) + "\n")
    (OUT_DIR / "profile.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
