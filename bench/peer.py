#!/usr/bin/env python3
"""The peer for `scripts/bench`: the code-flow cases done the way a QA engineer
would script them — requests (a Session per case for the cookies),
BeautifulSoup for the login and consent forms, PyJWT to verify the tokens
against the provider's JWKS — run on a thread pool.

Per case: authorize → login → consent → redirect back (state checked) → token
(client_secret_basic, PKCE S256) → ID token verified (signature by kid, iss,
aud, exp, iat, nonce, azp) → access token verified when it is a JWT → userinfo
(sub equals the ID token's, profile claims present) → userinfo refuses the ID
token as a bearer and a request with no token.

    bench/.venv/bin/python bench/peer.py --issuer http://127.0.0.1:8787 --cases 100 --jobs 4

Prints one JSON line like examples/raw_replay.rs: cases, ok, failed, seconds
(the cases alone), setup_seconds, first_error.
"""

import argparse
import base64
import hashlib
import json
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import jwt
import requests
from bs4 import BeautifulSoup


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Peer:
    def __init__(self, args):
        self.args = args
        self.discovery = requests.get(args.issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=10).json()
        assert self.discovery["issuer"] == args.issuer, "issuer mismatch"
        self.jwks = jwt.PyJWKClient(self.discovery["jwks_uri"])
        self.jwks.get_jwk_set()  # warm the key cache, once

    def fill_form(self, html, page_url):
        soup = BeautifulSoup(html, "html.parser")
        form = soup.find("form")
        if form is None:
            raise AssertionError(f"no form at {page_url}")
        data = {}
        for field in form.find_all("input"):
            name = field.get("name")
            if not name:
                continue
            kind = (field.get("type") or "text").lower()
            if kind == "password":
                data[name] = self.args.password
            elif kind in ("text", "email"):
                data[name] = self.args.username
            else:
                data[name] = field.get("value", "")
        buttons = [b for b in form.find_all("button") if b.get("name")]
        allow = [b for b in buttons if (b.get("value") or "").lower() == "allow"]
        if allow or buttons:
            b = (allow or buttons)[0]
            data[b["name"]] = b.get("value", "")
        action = urljoin(page_url, form.get("action") or page_url)
        return (form.get("method") or "get").lower(), action, data

    def run_case(self, _i):
        a, d = self.args, self.discovery
        session = requests.Session()
        verifier = secrets.token_urlsafe(32)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        params = {
            "client_id": a.client_id,
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
            "nonce": nonce,
            "redirect_uri": a.redirect_uri,
            "response_type": "code",
            "scope": a.scope,
            "state": state,
        }
        url = d["authorization_endpoint"] + "?" + urlencode(params)
        method, data = "get", None
        for _ in range(40):
            if url.startswith(a.redirect_uri):
                break
            if method == "post":
                r = session.post(url, data=data, allow_redirects=False, timeout=10)
            else:
                r = session.get(url, allow_redirects=False, timeout=10)
            if r.is_redirect:
                url, method, data = urljoin(url, r.headers["Location"]), "get", None
            elif r.status_code == 200:
                method, url, data = self.fill_form(r.text, r.url)
                if method == "get":
                    url, data = url.split("?")[0] + "?" + urlencode(data), None
            else:
                raise AssertionError(f"{url} answered {r.status_code}")
        else:
            raise AssertionError("no redirect back to the client")
        answer = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        assert answer.get("state") == state, "state mismatch"
        assert "code" in answer, f"no code: {answer}"

        r = requests.post(
            d["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": a.redirect_uri,
                "code_verifier": verifier,
            },
            auth=(a.client_id, a.client_secret),
            timeout=10,
        )
        assert r.status_code == 200, f"token endpoint answered {r.status_code}: {r.text}"
        tokens = r.json()
        assert tokens.get("token_type", "").lower() == "bearer", "token_type is not Bearer"

        id_token = tokens["id_token"]
        key = self.jwks.get_signing_key_from_jwt(id_token)
        claims = jwt.decode(
            id_token,
            key.key,
            algorithms=d.get("id_token_signing_alg_values_supported", ["RS256"]),
            audience=a.client_id,
            issuer=a.issuer,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            leeway=60,
        )
        assert claims.get("nonce") == nonce, "nonce mismatch"
        if isinstance(claims["aud"], list) and len(claims["aud"]) > 1:
            assert claims.get("azp") == a.client_id, "azp missing or wrong"

        access_token = tokens["access_token"]
        if access_token.count(".") == 2:  # a JWT access token (RFC 9068)
            at_key = self.jwks.get_signing_key_from_jwt(access_token)
            at = jwt.decode(
                access_token,
                at_key.key,
                algorithms=["RS256", "PS256", "ES256"],
                issuer=a.issuer,
                options={"verify_aud": False, "require": ["exp", "iat"]},
                leeway=60,
            )
            assert at.get("client_id", a.client_id) == a.client_id, "access token for another client"

        r = requests.get(d["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
        assert r.status_code == 200, f"userinfo answered {r.status_code}"
        userinfo = r.json()
        assert userinfo["sub"] == claims["sub"], "userinfo sub differs from the ID token's"
        if "profile" in a.scope.split():
            assert "name" in userinfo or "name" in claims, "profile scope without name"

        r = requests.get(d["userinfo_endpoint"], headers={"Authorization": f"Bearer {id_token}"}, timeout=10)
        assert r.status_code >= 400, "userinfo accepted an ID token as access token"
        r = requests.get(d["userinfo_endpoint"], timeout=10)
        assert r.status_code >= 400, "userinfo answered without a token"
        session.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--issuer", default="http://127.0.0.1:8787")
    p.add_argument("--cases", type=int, default=100)
    p.add_argument("--jobs", type=int, default=4)
    p.add_argument("--client-id", default="web-app")
    p.add_argument("--client-secret", default="web-app-secret-7f3a9c")
    p.add_argument("--redirect-uri", default="https://app.example.test/callback")
    p.add_argument("--username", default="jane")
    p.add_argument("--password", default="jane-password-5e8b")
    p.add_argument("--scope", default="openid profile")
    args = p.parse_args()

    t0 = time.perf_counter()
    peer = Peer(args)
    setup = time.perf_counter() - t0
    ok, first_error = 0, None
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(peer.run_case, i) for i in range(args.cases)]
        for f in futures:
            try:
                f.result()
                ok += 1
            except Exception as e:  # a failed case: counted, first one shown
                first_error = first_error or f"{type(e).__name__}: {e}"
    seconds = time.perf_counter() - started
    print(json.dumps({
        "tool": "python_peer",
        "cases": args.cases,
        "jobs": args.jobs,
        "ok": ok,
        "failed": args.cases - ok,
        "seconds": seconds,
        "setup_seconds": setup,
        "first_error": first_error,
    }))
    sys.exit(0 if ok == args.cases else 1)


if __name__ == "__main__":
    main()
