#!/usr/bin/env python3
"""Starts each stand-in on a free loopback port and checks every quirk it claims. Plain Python, urllib only.

    python3 check_dialects.py [--python PATH] [--iam-python PATH] [--only NAME ...]

``--python`` is the interpreter that has scim2-server (default: .venv/bin/python
beside this file), ``--iam-python`` the one that has pytest-iam (default:
.venv-iam/bin/python; the OAuth2 checks are skipped, and say so, when it is
missing). Ends with the line ``N passed, M failed``; exits 1 on any failure.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

RESULTS = {"passed": 0, "failed": 0, "skipped": 0}
FAILURES: list[str] = []


def check(name: str, condition: bool, detail: object = "") -> bool:
    if condition:
        RESULTS["passed"] += 1
        print(f"  ok    {name}")
    else:
        RESULTS["failed"] += 1
        FAILURES.append(name)
        print(f"  FAIL  {name}: {str(detail)[:600]}")
    return condition


def skip(name: str, why: str) -> None:
    RESULTS["skipped"] += 1
    print(f"  skip  {name}: {why}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Answer:
    def __init__(self, status: int, raw: bytes, headers: dict[str, str]):
        self.status = status
        self.raw = raw
        self.headers = {k.lower(): v for k, v in headers.items()}
        try:
            self.json = json.loads(raw) if raw.strip() else None
        except ValueError:
            self.json = None

    def __repr__(self) -> str:
        return f"<{self.status} {self.raw[:400]!r}>"


def http(method: str, url: str, body: object = None, headers: dict[str, str] | None = None,
         content_type: str = "application/scim+json", form: dict[str, str] | None = None) -> Answer:
    data = None
    all_headers = dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers.setdefault("Content-Type", content_type)
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return Answer(r.status, r.read(), dict(r.headers))
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.read(), dict(e.headers))


class Server:
    """One stand-in process on a free port; killed by stop()."""

    def __init__(self, python: str, args: list[str], token: str | None = "t", script: str = "dialect_server.py",
                 ready_path: str = "/__standin__/ready", host: str = "127.0.0.1"):
        self.port = free_port()
        self.token = token
        self.host = host
        self.log = tempfile.TemporaryFile()
        command = [python, os.path.join(HERE, script), "--port", str(self.port), *args]
        if script == "dialect_server.py":
            command[2:2] = ["--hostname", "127.0.0.1"]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, cwd=HERE)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if http("GET", self.url(ready_path)).status in (200, 400, 401, 404):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        self.log.seek(0)
        raise RuntimeError(f"{command} did not start:\n{self.log.read().decode(errors='replace')}")

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def req(self, method: str, path: str, body: object = None, token: str | None = ..., **kw) -> Answer:
        headers = dict(kw.pop("headers", {}) or {})
        token = self.token if token is ... else token
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        return http(method, self.url(path), body, headers, **kw)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def patch_ops(*operations: dict) -> dict:
    return {"schemas": [PATCH], "Operations": list(operations)}


def jwt_hs256(secret: str, claims: dict, header: dict | None = None) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps(header or {"typ": "JWT", "alg": "HS256"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def member_ids(group: dict | None) -> set[str]:
    return {m["value"] for m in (group or {}).get("members") or []}


# -- nextcloud ---------------------------------------------------------------


def check_nextcloud(python: str) -> None:
    print("nextcloud")
    s = Server(python, ["--dialect", "nextcloud", "--bearer-token", "t"])
    try:
        spc = s.req("GET", "/ServiceProviderConfig", token=None)
        check("ServiceProviderConfig needs no auth and announces filter.supported", spc.status == 200
              and spc.json["filter"]["supported"] is True and spc.json["patch"]["supported"] is False, spc)
        check("the app's path prefix and /bearer are served", s.req(
            "GET", "/index.php/apps/scimserviceprovider/bearer/Users").status == 200)
        users = s.req("GET", "/Users").json
        check("a fresh Nextcloud has its admin account", [u["id"] for u in users["Resources"]] == ["admin"], users)
        alice = s.req("POST", "/Users", {"schemas": [USER], "userName": "alice@example.org", "displayName": "Alice",
                                         "externalId": "ext-1", "emails": [{"value": "Alice@Example.ORG",
                                                                            "primary": True}]})
        check("POST /Users answers 201, the uid as id", alice.status == 201 and alice.json["id"] == "alice@example.org",
              alice)
        check("emails come back lowercased", alice.json["emails"][0]["value"] == "alice@example.org", alice)
        check("an email entry has the library's null fields", alice.json["emails"][0] == {
            "type": None, "primary": True, "display": None, "value": "alice@example.org", "$ref": None}, alice)
        check("externalId is stored on POST", alice.json["externalId"] == "ext-1", alice)
        check("meta is null", "meta" in alice.json and alice.json["meta"] is None, alice)
        bob = s.req("POST", "/Users", {"schemas": [USER], "userName": "bob"})
        check("an account without email has \"emails\": null",
              bob.status == 201 and "emails" in bob.json and bob.json["emails"] is None, bob)
        check("an account without externalId has \"externalId\": \"\"", bob.json["externalId"] == "", bob)
        q = s.req("GET", "/Users?" + urllib.parse.urlencode({"filter": 'userName eq "alice@example.org"'}))
        check("userName eq \"x\" (quoted) matches nothing: 200, empty list",
              q.status == 200 and q.json["totalResults"] == 0 and q.json["Resources"] == [], q)
        q = s.req("GET", "/Users?" + urllib.parse.urlencode({"filter": 'emails.value eq "alice@example.org"'}))
        check("emails.value eq ... answers 500", q.status == 500, q)
        q = s.req("GET", "/Users?" + urllib.parse.urlencode({"filter": "userName eq bob"}))
        check("an unquoted value matches (account without email)", q.status == 200 and
              [u["id"] for u in q.json["Resources"]] == ["bob"], q)
        q = s.req("GET", "/Users?" + urllib.parse.urlencode({"filter": "userName eq alice@example.org"}))
        check("an unquoted value matching an account with email dies in fromSCIM: 500", q.status == 500, q)
        q = s.req("GET", "/Users?" + urllib.parse.urlencode({"filter": 'userName EQ "bob"'}))
        check("an upper-case operator answers 500", q.status == 500, q)
        page = s.req("GET", "/Users?startIndex=2&count=1")
        check("no paging: startIndex and count ignored, every account returned",
              page.status == 200 and page.json["totalResults"] == 3 and len(page.json["Resources"]) == 3
              and page.json["startIndex"] == 1 and "itemsPerPage" not in page.json, page)
        dup = s.req("POST", "/Users", {"schemas": [USER], "userName": "alice@example.org"})
        check("a duplicate POST answers 500, not 409", dup.status == 500, dup)
        dup = s.req("POST", "/Users", {"schemas": [USER], "userName": "ALICE@example.org"})
        check("a duplicate differing in case answers 500", dup.status == 500, dup)
        got = s.req("GET", "/Users/ALICE@EXAMPLE.ORG")
        check("uids are looked up ignoring case", got.status == 200 and got.json["id"] == "alice@example.org", got)
        put = s.req("PUT", "/Users/alice@example.org", {"schemas": [USER], "userName": "alice@example.org",
                                                         "displayName": "Alice B"})
        check("PUT without active answers 500", put.status == 500, put)
        put = s.req("PUT", "/Users/alice@example.org", {
            "schemas": [USER], "userName": "renamed", "externalId": "ext-2", "active": False,
            "displayName": "Alice B", "emails": [{"value": "New@Example.org"}]})
        check("PUT keeps active, displayName and email", put.status == 200 and put.json["active"] is False
              and put.json["displayName"] == "Alice B" and put.json["emails"][0]["value"] == "new@example.org", put)
        check("PUT ignores userName and externalId", put.json["userName"] == "alice@example.org"
              and put.json["externalId"] == "ext-1", put)
        put = s.req("PUT", "/Users/bob", {"schemas": [USER], "userName": "bob", "active": True, "externalId": "e"})
        check("externalId cannot be set by PUT", put.status == 200 and put.json["externalId"] == "", put)
        check("PATCH /Users/{id} answers 405", s.req("PATCH", "/Users/bob", patch_ops(
            {"op": "replace", "path": "active", "value": False})).status == 405)
        check("PATCH /Groups/{id} answers 405", s.req("PATCH", "/Groups/admin", patch_ops(
            {"op": "add", "path": "members", "value": [{"value": "bob"}]})).status == 405)
        g = s.req("POST", "/Groups", {"schemas": [GROUP], "displayName": "staff",
                                      "members": [{"value": "alice@example.org"}, {"value": "bob"}]})
        check("POST /Groups: 201, gid = displayName", g.status == 201 and g.json["id"] == "staff"
              and member_ids(g.json) == {"alice@example.org", "bob"}, g)
        put = s.req("PUT", "/Groups/staff", {"schemas": [GROUP], "displayName": "staff",
                                             "members": [{"value": "alice@example.org"}]})
        check("group PUT only adds: members absent from the body stay", put.status == 200
              and member_ids(put.json) == {"alice@example.org", "bob"}, put)
        put = s.req("PUT", "/Groups/staff", {"schemas": [GROUP], "displayName": "staff", "members": []})
        check("group PUT with no members removes nobody", member_ids(put.json) == {"alice@example.org", "bob"}, put)
        empty = s.req("POST", "/Groups", {"schemas": [GROUP], "displayName": "empty"})
        check("a group without members has \"members\": null", empty.status == 201
              and "members" in empty.json and empty.json["members"] is None, empty)
        check("a duplicate group answers 409", s.req("POST", "/Groups", {"schemas": [GROUP],
                                                                           "displayName": "staff"}).status == 409)
        check("DELETE /Groups/admin answers 403", s.req("DELETE", "/Groups/admin").status == 403)
        check("DELETE of an unknown user answers 503", s.req("DELETE", "/Users/nobody").status == 503)
        check("DELETE of a user answers 204", s.req("DELETE", "/Users/bob").status == 204)
        staff = s.req("GET", "/Groups/staff").json
        check("a deleted user leaves its groups", member_ids(staff) == {"alice@example.org"}, staff)
        check("GET of an unknown user answers 404", s.req("GET", "/Users/bob").status == 404)
        no_auth = s.req("GET", "/Users", token=None)
        check("no Authorization: 401 with a SCIM error", no_auth.status == 401
              and no_auth.json["detail"] == "No Authorization header supplied", no_auth)
        check("a wrong token: 401", s.req("GET", "/Users", token="wrong").status == 401)
        check("a lower-case bearer scheme: 401", s.req("GET", "/Users", token=None,
                                                       headers={"Authorization": "bearer t"}).status == 401)
        plain = s.req("POST", "/Users", {"schemas": [USER], "userName": "carol"}, content_type="application/json")
        check("without --json-only an application/json body is read too", plain.status == 201, plain)
    finally:
        s.stop()

    print("nextcloud --json-only (Nextcloud <= 25)")
    s = Server(python, ["--dialect", "nextcloud", "--bearer-token", "t", "--json-only"])
    try:
        scim = s.req("POST", "/Users", {"schemas": [USER], "userName": "dora"})
        check("an application/scim+json body is ignored: POST fails on the empty userName (500)",
              scim.status == 500, scim)
        ok = s.req("POST", "/Users", {"schemas": [USER], "userName": "dora"}, content_type="application/json")
        check("an application/json body is read", ok.status == 201 and ok.json["id"] == "dora", ok)
        ok = s.req("POST", "/Users", {"schemas": [USER], "userName": "eve"},
                   content_type="application/json; charset=utf-8")
        check("application/json with parameters is read", ok.status == 201, ok)
        put = s.req("PUT", "/Users/dora", {"schemas": [USER], "userName": "dora", "active": False})
        check("a PUT sent as application/scim+json loses active: 500", put.status == 500, put)
        put = s.req("PUT", "/Users/dora", {"schemas": [USER], "userName": "dora", "active": False},
                    content_type="application/json")
        check("a PUT sent as application/json works", put.status == 200 and put.json["active"] is False, put)
    finally:
        s.stop()

    print("nextcloud --jwt-secret")
    s = Server(python, ["--dialect", "nextcloud", "--jwt-secret", "topsecret123"], token=None)
    try:
        now = int(time.time())
        good = jwt_hs256("topsecret123", {"user": "admin", "iat": now, "exp": now + 600})
        check("a valid HS256 JWT for an existing user: 200", s.req("GET", "/Users", token=good).status == 200)
        no_exp = jwt_hs256("topsecret123", {"user": "admin"})
        check("a JWT without exp is accepted (php-jwt checks exp only when present)",
              s.req("GET", "/Users", token=no_exp).status == 200)
        expired = jwt_hs256("topsecret123", {"user": "admin", "iat": now - 700, "exp": now - 100})
        answer = s.req("GET", "/Users", token=expired)
        check("an expired JWT: 401", answer.status == 401, answer)
        forged = jwt_hs256("not-the-secret", {"user": "admin", "exp": now + 600})
        check("a JWT with a wrong signature: 401", s.req("GET", "/Users", token=forged).status == 401)
        ghost = jwt_hs256("topsecret123", {"user": "nobody", "exp": now + 600})
        check("a JWT whose user claim names no account: 401", s.req("GET", "/Users", token=ghost).status == 401)
        none_alg = jwt_hs256("topsecret123", {"user": "admin"}, header={"typ": "JWT", "alg": "none"})
        check("a JWT with alg none: 401", s.req("GET", "/Users", token=none_alg).status == 401)
        minted = subprocess.run([python, os.path.join(HERE, "dialect_server.py"), "--dialect", "nextcloud",
                                 "--jwt-secret", "topsecret123", "--mint-jwt", "admin", "--jwt-ttl", "60"],
                                capture_output=True, text=True, cwd=HERE).stdout.strip()
        check("dialect_server.py --mint-jwt makes a token it accepts",
              s.req("GET", "/Users", token=minted).status == 200, minted)
    finally:
        s.stop()

    print("nextcloud --basic")
    s = Server(python, ["--dialect", "nextcloud", "--basic", "root:app-password"], token=None)
    try:
        good = "Basic " + base64.b64encode(b"root:app-password").decode()
        bad = "Basic " + base64.b64encode(b"root:wrong").decode()
        answer = s.req("GET", "/Users", token=None, headers={"Authorization": good})
        check("basic auth with the right password: 200, the admin account is the basic user",
              answer.status == 200 and [u["id"] for u in answer.json["Resources"]] == ["root"], answer)
        answer = s.req("GET", "/Users", token=None, headers={"Authorization": bad})
        check("basic auth with a wrong password: 401", answer.status == 401, answer)
    finally:
        s.stop()


# -- zulip -----------------------------------------------------------------


def check_zulip(python: str) -> None:
    print("zulip")
    s = Server(python, ["--dialect", "zulip", "--bearer-token", "t"])
    try:
        for method, path in [("GET", "/ServiceProviderConfig"), ("GET", "/ResourceTypes"), ("GET", "/Schemas"),
                             ("GET", "/Groups"), ("POST", "/Groups"), ("GET", "/Groups/1"), ("PUT", "/Groups/1"),
                             ("PATCH", "/Groups/1"), ("DELETE", "/Groups/1"), ("POST", "/Bulk"),
                             ("GET", "/scim/v2/ServiceProviderConfig"), ("GET", "/Me")]:
            body = {"schemas": [GROUP], "displayName": "x"} if method in ("POST", "PUT") else None
            answer = s.req(method, path, body)
            check(f"{method} {path} answers 501 with an empty body", answer.status == 501 and not answer.raw, answer)
        unauth = s.req("GET", "/Users", token="wrong")
        check("a wrong token: 401, empty body, Basic challenge", unauth.status == 401 and not unauth.raw
              and unauth.headers.get("www-authenticate") == 'Basic realm="django-scim2"', unauth)
        check("the unimplemented endpoints check the token first",
              s.req("GET", "/Groups", token="wrong").status == 401)
        check("the header must be exactly 'Bearer <token>'",
              s.req("GET", "/Users", token=None, headers={"Authorization": "bearer t"}).status == 401)
        carol = s.req("POST", "/Users", {"schemas": [USER], "userName": "Carol@Example.COM", "externalId": "ext-c",
                                         "name": {"formatted": "Carol"}, "active": True})
        check("POST /Users: 201", carol.status == 201, carol)
        check("the domain of userName is lowercased, the local part kept",
              carol.json["userName"] == "Carol@example.com", carol)
        check("externalId is never returned", "externalId" not in carol.json, carol)
        check("role defaults to member", carol.json["role"] == "member", carol)
        check("ids are integers", carol.json["id"].isdigit(), carol)
        check("no emails attribute", "emails" not in carol.json, carol)
        got = s.req("GET", f"/Users/{carol.json['id']}").json
        check("externalId is not stored either", "externalId" not in got, got)
        admin = s.req("POST", "/Users", {"schemas": [USER], "userName": "dan@example.com",
                                         "name": {"formatted": "Dan Admin"}, "active": True,
                                         "role": "administrator"})
        check("role is stored on create and returned", admin.status == 201 and admin.json["role"] == "administrator"
              and s.req("GET", f"/Users/{admin.json['id']}").json["role"] == "administrator", admin)
        dup = s.req("POST", "/Users", {"schemas": [USER], "userName": "carol@example.com",
                                       "name": {"formatted": "Other"}, "active": True})
        check("a duplicate email, ignoring case: 409 uniqueness",
              dup.status == 409 and dup.json.get("scimType") == "uniqueness" and dup.json["status"] == 409, dup)
        bad = s.req("POST", "/Users", {"schemas": [USER], "userName": "x@example.com", "active": True})
        check("a new user without a name: 400", bad.status == 400, bad)
        bad = s.req("POST", "/Users", {"schemas": [USER], "userName": "x@example.com",
                                       "name": {"formatted": "X"}, "active": False})
        check("a new user with active false: 400", bad.status == 400 and "active=True" in bad.json["detail"], bad)
        bad = s.req("POST", "/Users", {"schemas": [USER], "userName": "x@example.com",
                                       "name": {"formatted": "X"}, "active": True, "role": "boss"})
        check("an unknown role: 400", bad.status == 400 and "Invalid role" in bad.json["detail"], bad)
        bad = s.req("POST", "/Users", {"schemas": [USER], "userName": "not-an-email",
                                       "name": {"formatted": "X"}, "active": True})
        check("a userName that is not an email: 400", bad.status == 400, bad)
        cid = carol.json["id"]

        def search(expression: str) -> Answer:
            return s.req("GET", "/Users?" + urllib.parse.urlencode({"filter": expression}))

        q = search('userName eq "carol@EXAMPLE.com"')
        check("filter userName eq matches ignoring case", q.status == 200 and [u["id"] for u in q.json["Resources"]]
              == [cid], q)
        q = search('name.formatted eq "Carol"')
        check("filter on name.formatted", q.status == 200 and q.json["totalResults"] == 1, q)
        q = search("active eq true")
        check("filter on active", q.status == 200 and q.json["totalResults"] == 2, q)
        for expression in ['emails.value eq "Carol@example.com"', 'externalId eq "ext-c"',
                           'displayName eq "Carol"', 'emails[type eq "work"].value eq "x"']:
            q = search(expression)
            check(f"filter {expression!r} (unmapped) finds nothing: 200, empty",
                  q.status == 200 and q.json["totalResults"] == 0 and q.json["Resources"] == [], q)
        q = search('userName eq "carol@example.com" and externalId eq "zzz"')
        check("the unmapped part of a mixed filter is dropped", q.status == 200 and q.json["totalResults"] == 1, q)
        q = search("userName eq carol")
        check("a filter that does not parse: 400", q.status == 400, q)
        q = s.req("POST", "/Users/.search", {"schemas": [SEARCH], "filter": 'userName eq "dan@example.com"'})
        check("POST /Users/.search", q.status == 200 and q.json["totalResults"] == 1, q)
        for op in ("add", "remove"):
            answer = s.req("PATCH", f"/Users/{cid}", patch_ops({"op": op, "path": "name.formatted", "value": "C"}))
            check(f"PATCH op {op}: 501", answer.status == 501, answer)
        answer = s.req("PATCH", f"/Users/{cid}", patch_ops({"op": "replace", "path": "displayName", "value": "C"}))
        check("PATCH replace displayName: 501", answer.status == 501, answer)
        answer = s.req("PATCH", f"/Users/{cid}", patch_ops({"op": "replace", "path": "externalId", "value": "e"}))
        check("PATCH replace externalId: 501", answer.status == 501, answer)
        answer = s.req("PATCH", f"/Users/{cid}", patch_ops({"op": "replace", "path": "role", "value": "moderator"}))
        check("PATCH replace role", answer.status == 200 and answer.json["role"] == "moderator", answer)
        answer = s.req("PATCH", f"/Users/{cid}", patch_ops({"op": "replace", "path": "name.formatted",
                                                            "value": "Carol (her own choice)"}))
        check("a rename by PATCH replace name.formatted (the user's own change)",
              answer.status == 200 and answer.json["displayName"] == "Carol (her own choice)"
              and answer.json["name"] == {"formatted": "Carol (her own choice)"}, answer)
        answer = s.req("PATCH", f"/Users/{cid}", patch_ops(
            {"op": "replace", "path": "role", "value": "guest"},
            {"op": "add", "path": "name.formatted", "value": "never"}))
        check("a PATCH is all or nothing", answer.status == 501
              and s.req("GET", f"/Users/{cid}").json["role"] == "moderator", answer)
        answer = s.req("PATCH", f"/Users/{cid}", patch_ops({"op": "replace", "value": {"active": False}}))
        check("PATCH replace active false (no path) deactivates", answer.status == 200
              and answer.json["active"] is False, answer)
        put = s.req("PUT", f"/Users/{cid}", {"schemas": [USER], "userName": "Carol@example.com", "active": True})
        check("PUT active true reactivates, a missing name keeps the full name", put.status == 200
              and put.json["active"] is True and put.json["displayName"] == "Carol (her own choice)", put)
        put = s.req("PUT", f"/Users/{cid}", {"schemas": [USER], "userName": "Carol@example.com",
                                             "name": {"formatted": "Carol Overwritten"}})
        check("PUT overwrites the full name", put.status == 200 and put.json["displayName"] == "Carol Overwritten",
              put)
        put = s.req("PUT", f"/Users/{cid}", {"schemas": [USER], "userName": "carol@example.com", "active": True})
        check("PUT changing only the case of userName: 409 (its own email counts)", put.status == 409, put)
        put = s.req("PUT", f"/Users/{cid}", {"schemas": [USER], "active": False})
        check("PUT without userName: 500", put.status == 500, put)
        put = s.req("PUT", f"/Users/{cid}", {"schemas": [USER], "userName": "Carol@example.com", "active": False})
        check("PUT active false deactivates", put.status == 200 and put.json["active"] is False, put)
        gone = s.req("DELETE", f"/Users/{cid}")
        check("DELETE: 400, use active instead", gone.status == 400 and "DELETE operation not supported"
              in gone.json["detail"], gone)
        check("the user is still there after DELETE", s.req("GET", f"/Users/{cid}").status == 200)
        check("GET /Users/abc: 500", s.req("GET", "/Users/abc").status == 500)
        check("GET /Users/99999: 404", s.req("GET", "/Users/99999").status == 404)
        for i in range(53):
            s.req("POST", "/Users", {"schemas": [USER], "userName": f"user{i}@example.com",
                                     "name": {"formatted": f"User {i}"}, "active": True})
        first = s.req("GET", "/Users").json
        check("pages of 50 by default", first["itemsPerPage"] == 50 and first["totalResults"] == 55
              and first["startIndex"] == 1, {k: first[k] for k in ("itemsPerPage", "totalResults", "startIndex")})
        ids = [int(u["id"]) for u in first["Resources"]]
        check("ordered by id", ids == sorted(ids), ids)
        rest = s.req("GET", "/Users?startIndex=51").json
        check("startIndex pages on", rest["itemsPerPage"] == 5 and rest["startIndex"] == 51, rest["itemsPerPage"])
        check("count is honoured above 50", s.req("GET", "/Users?count=100").json["itemsPerPage"] == 55)
        check("startIndex 0: 400", s.req("GET", "/Users?startIndex=0").status == 400)
    finally:
        s.stop()
    print("zulip --name-formatted-included false")
    s = Server(python, ["--dialect", "zulip", "--bearer-token", "t", "--name-formatted-included", "false"])
    try:
        okta = s.req("POST", "/scim/v2/Users", {"schemas": [USER], "userName": "okta@example.com", "active": True,
                                                "name": {"givenName": "Ok", "familyName": "Ta Person"}})
        check("givenName + familyName make the full name", okta.status == 201
              and okta.json["name"] == {"givenName": "Ok", "familyName": "Ta Person"}
              and okta.json["displayName"] == "Ok Ta Person", okta)
    finally:
        s.stop()


# -- django-groups -----------------------------------------------------------


def check_django_groups(python: str) -> None:
    print("django-groups")
    s = Server(python, ["--dialect", "django-groups", "--bearer-token", "t"])
    try:
        spc = s.req("GET", "/ServiceProviderConfig")
        check("ServiceProviderConfig: filter not supported, maxResults 50, patch supported", spc.status == 200
              and spc.json["filter"] == {"supported": False, "maxResults": 50}
              and spc.json["patch"]["supported"] is True, spc)
        check("/Bulk answers 501", s.req("POST", "/Bulk", {"Operations": []}).status == 501)
        check("a wrong token: 401 with the Basic challenge", s.req("GET", "/Users", token="x").headers.get(
            "www-authenticate") == 'Basic realm="django-scim2"')
        u1 = s.req("POST", "/Users", {"schemas": [USER], "userName": "u1", "externalId": "e1",
                                      "emails": [{"value": "u1@example.org", "primary": True}]}).json
        u2 = s.req("POST", "/Users", {"schemas": [USER], "userName": "u2",
                                      "emails": [{"value": "u2@example.org"}]}).json
        check("users get integer ids", u1["id"] == "1" and u2["id"] == "2", (u1, u2))
        check("externalId is kept", u1["externalId"] == "e1" and u2["externalId"] == "", (u1, u2))
        g = s.req("POST", "/Groups", {"schemas": [GROUP], "displayName": "team", "members": [{"value": u1["id"]}]})
        check("POST /Groups answers 201 but ignores members", g.status == 201 and g.json["members"] == [], g)
        gid = g.json["id"]
        add = s.req("PATCH", f"/Groups/{gid}", patch_ops({"op": "add", "path": "members",
                                                         "value": [{"value": u1["id"]}, {"value": u2["id"]}]}))
        check("PATCH add with a value list", add.status == 200 and member_ids(add.json) == {"1", "2"}, add)
        check("members carry value, $ref and display", set(add.json["members"][0]) == {"value", "$ref", "display"},
              add)
        rem = s.req("PATCH", f"/Groups/{gid}", patch_ops({"op": "remove", "path": f'members[value eq "{u1["id"]}"]'}))
        check("PATCH remove with a filter path: 501", rem.status == 501, rem)
        check("... and nothing was removed", member_ids(s.req("GET", f"/Groups/{gid}").json) == {"1", "2"})
        rem = s.req("PATCH", f"/Groups/{gid}", patch_ops({"op": "remove", "path": "members",
                                                         "value": [{"value": u1["id"]}]}))
        check("PATCH remove with a value list", rem.status == 200 and member_ids(rem.json) == {"2"}, rem)
        put = s.req("PUT", f"/Groups/{gid}", {"schemas": [GROUP], "displayName": "team2",
                                              "members": [{"value": u1["id"]}]})
        check("group PUT answers 200 but ignores members", put.status == 200 and put.json["displayName"] == "team2"
              and member_ids(put.json) == {"2"}, put)
        bad = s.req("PATCH", f"/Groups/{gid}", patch_ops({"op": "add", "path": "members", "value": [{"value": "99"}]}))
        check("adding an unknown user: 400", bad.status == 400, bad)
        bad = s.req("PATCH", f"/Groups/{gid}", patch_ops({"op": "replace", "path": "members",
                                                         "value": [{"value": "1"}]}))
        check("PATCH replace members: 501", bad.status == 501, bad)
        q = s.req("GET", "/Groups?" + urllib.parse.urlencode({"filter": 'displayName eq "team2"'}))
        check("group filters find nothing", q.status == 200 and q.json["totalResults"] == 0, q)
        q = s.req("GET", "/Users?" + urllib.parse.urlencode({"filter": 'userName eq "U1"'}))
        check("user filters work on userName although not announced", q.status == 200
              and [u["id"] for u in q.json["Resources"]] == ["1"], q)
        dup = s.req("POST", "/Groups", {"schemas": [GROUP], "displayName": "team2"})
        check("a duplicate group name: 409 without scimType", dup.status == 409 and "scimType" not in dup.json, dup)
        for i in range(51):
            s.req("POST", "/Users", {"schemas": [USER], "userName": f"bulk{i}"})
        page = s.req("GET", "/Users").json
        check("pages of 50 by default", page["itemsPerPage"] == 50 and page["totalResults"] == 53, page["itemsPerPage"])
        ids = [u["id"] for u in page["Resources"]]
        check("ordered by scim_id as strings", ids[:3] == ["1", "10", "11"], ids[:5])
        user = s.req("GET", "/Users/2").json
        check("a user lists its groups", [grp["value"] for grp in user["groups"]] == [gid], user)
        check("DELETE removes a user (204)", s.req("DELETE", "/Users/2").status == 204
              and member_ids(s.req("GET", f"/Groups/{gid}").json) == set())
    finally:
        s.stop()


# -- generic variants ----------------------------------------------------------


def membership_scenario(s: Server) -> tuple[str, str, str]:
    a = s.req("POST", "/Users", {"schemas": [USER], "userName": "a"}).json["id"]
    b = s.req("POST", "/Users", {"schemas": [USER], "userName": "b"}).json["id"]
    g = s.req("POST", "/Groups", {"schemas": [GROUP], "displayName": "g",
                                  "members": [{"value": a}, {"value": b}]}).json["id"]
    return a, b, g


def try_removals(s: Server, a: str, g: str) -> dict[str, int]:
    outcome = {}
    answer = s.req("PATCH", f"/Groups/{g}", patch_ops({"op": "remove", "path": f'members[value eq "{a}"]'}))
    outcome["filter-path"] = answer.status
    if a not in member_ids(s.req("GET", f"/Groups/{g}").json):
        s.req("PATCH", f"/Groups/{g}", patch_ops({"op": "add", "path": "members", "value": [{"value": a}]}))
    answer = s.req("PATCH", f"/Groups/{g}", patch_ops({"op": "remove", "path": "members", "value": [{"value": a}]}))
    outcome["value-list"] = answer.status
    outcome["removed"] = a not in member_ids(s.req("GET", f"/Groups/{g}").json)
    return outcome


def check_generic(python: str) -> None:
    print("generic (plain scim2-server)")
    s = Server(python, ["--dialect", "generic", "--bearer-token", "t"])
    try:
        a, b, g = membership_scenario(s)
        out = try_removals(s, a, g)
        check("plain: filter-path removal works, value list is scim2-server's 400",
              out["filter-path"] in (200, 204) and out["value-list"] == 400, out)
        s.req("PATCH", f"/Groups/{g}", patch_ops({"op": "add", "path": "members", "value": [{"value": a}]}))
        put = s.req("PUT", f"/Groups/{g}", {"schemas": [GROUP], "displayName": "g", "members": [{"value": a}]})
        check("plain: a group PUT replaces the members", member_ids(put.json) == {a}, put)
        check("plain: 401 without token", s.req("GET", "/Users", token=None).status == 401)
        check("plain: ServiceProviderConfig without token", s.req("GET", "/ServiceProviderConfig",
                                                                  token=None).status == 200)
    finally:
        s.stop()

    variants = {
        "(a) value-list only": (["--member-removal", "value-list", "--group-put-ignores-members"],
                                {"filter-path": 501, "value-list": 204, "removed": True}),
        "(b) PUT ignores members, filter path works": (["--member-removal", "filter-path",
                                                        "--group-put-ignores-members"],
                                                       {"filter-path": 204, "value-list": 501, "removed": False}),
        "(c) no removal at all": (["--member-removal", "none", "--group-put-ignores-members"],
                                  {"filter-path": 501, "value-list": 501, "removed": False}),
    }
    for label, (flags, expected) in variants.items():
        print(f"generic {label}: {' '.join(flags)}")
        s = Server(python, ["--dialect", "generic", "--bearer-token", "t", *flags])
        try:
            a, b, g = membership_scenario(s)
            out = try_removals(s, a, g)
            check(f"{label}: removal answers {expected}", out == expected, out)
            members_before = member_ids(s.req("GET", f"/Groups/{g}").json)
            put = s.req("PUT", f"/Groups/{g}", {"schemas": [GROUP], "displayName": "g2", "members": []})
            check(f"{label}: group PUT answers 200 and keeps the members", put.status == 200
                  and member_ids(put.json) == members_before and put.json["displayName"] == "g2", put)
        finally:
            s.stop()

    print("generic (d) --no-external-id --lowercase-username")
    s = Server(python, ["--dialect", "generic", "--bearer-token", "t", "--no-external-id", "--lowercase-username"])
    try:
        d = s.req("POST", "/Users", {"schemas": [USER], "userName": "Dave@Example.ORG", "externalId": "ext-d"})
        check("(d) userName is lowercased", d.status == 201 and d.json["userName"] == "dave@example.org", d)
        check("(d) externalId is not returned", "externalId" not in d.json, d)
        listed = s.req("GET", "/Users").json
        check("(d) nor listed", all("externalId" not in u for u in listed["Resources"]), listed)
        q = s.req("GET", "/Users?" + urllib.parse.urlencode({"filter": 'externalId eq "ext-d"'}))
        check("(d) nor stored (a filter on it finds nothing)", q.status == 200 and q.json["totalResults"] == 0, q)
        put = s.req("PUT", f"/Users/{d.json['id']}", {"schemas": [USER], "userName": "DAVE@example.org",
                                                      "externalId": "ext-d"})
        check("(d) PUT lowercases too and drops externalId", put.status == 200
              and put.json["userName"] == "dave@example.org" and "externalId" not in put.json, put)
        p = s.req("PATCH", f"/Users/{d.json['id']}?attributes=userName,externalId", patch_ops(
            {"op": "replace", "path": "userName", "value": "Dave.New@Example.org"},
            {"op": "replace", "path": "externalId", "value": "ext-e"}))
        check("(d) PATCH lowercases and drops externalId", p.status == 200
              and p.json["userName"] == "dave.new@example.org" and "externalId" not in p.json, p)
    finally:
        s.stop()

    print("generic --spc-500 (audriga/scim-server-php 1.0.0)")
    s = Server(python, ["--dialect", "generic", "--bearer-token", "t", "--spc-500"])
    try:
        for path in ("/ServiceProviderConfig", "/v2/ServiceProviderConfig"):
            spc = s.req("GET", path)
            check(f"--spc-500: {path} answers 500", spc.status == 500, spc)
        users = s.req("GET", "/Users?count=1")
        check("--spc-500: /Users answers 200", users.status == 200, users)
    finally:
        s.stop()

    print("role attribute (schemas/user-with-role.json)")
    schema = os.path.join(HERE, "schemas", "user-with-role.json")
    s = Server(python, ["--dialect", "generic", "--bearer-token", "t", "--schema", schema])
    try:
        r = s.req("POST", "/Users", {"schemas": [USER], "userName": "r", "role": "administrator"})
        check("generic --schema user-with-role.json stores role", r.status == 201
              and r.json["role"] == "administrator", r)
        p = s.req("PATCH", f"/Users/{r.json['id']}?attributes=role", patch_ops(
            {"op": "replace", "path": "role", "value": "member"}))
        check("PATCH replace role", p.status == 200 and p.json["role"] == "member", p)
        q = s.req("GET", "/Users?" + urllib.parse.urlencode({"filter": 'role eq "member"'}))
        check("filter on role", q.status == 200 and q.json["totalResults"] == 1, q)
    finally:
        s.stop()
    scim2_server = os.path.join(os.path.dirname(python), "scim2-server")
    if os.path.exists(scim2_server):
        port = free_port()
        process = subprocess.Popen([scim2_server, "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token",
                                    "t", "--schema", schema], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            answer = None
            for _ in range(100):
                try:
                    answer = http("POST", f"http://127.0.0.1:{port}/Users",
                                  {"schemas": [USER], "userName": "r", "role": "owner"},
                                  {"Authorization": "Bearer t"})
                    break
                except OSError:
                    time.sleep(0.1)
            check("the plain scim2-server command takes the same --schema file", answer is not None
                  and answer.status == 201 and answer.json["role"] == "owner", answer)
        finally:
            process.terminate()
            process.wait(10)


# -- OAuth2 ---------------------------------------------------------------------


def check_oauth2(python: str, iam_python: str) -> None:
    print("oauth2 (Canaille as pytest-iam starts it) + --oauth2-introspect")
    if not os.path.exists(iam_python):
        skip("oauth2", f"{iam_python} missing (pip install -r requirements-oauth2.txt)")
        return
    iam = Server(iam_python, ["--client-id", "accessboard", "--client-secret", "s3cr3t",
                              "--introspection-client-id", "scim-rs", "--introspection-client-secret", "rs-s3cr3t",
                              "--token-lifetime", "3"], token=None, script="oauth2_server.py",
                 ready_path="/.well-known/openid-configuration", host="localhost")
    scim = None
    try:
        token_url = iam.url("/oauth/token")
        scim = Server(python, ["--dialect", "generic", "--oauth2-introspect", iam.url("/oauth/introspect"),
                               "--oauth2-client", "scim-rs:rs-s3cr3t"], token=None)
        basic = "Basic " + base64.b64encode(b"accessboard:s3cr3t").decode()
        answer = http("POST", token_url, form={"grant_type": "client_credentials"},
                      headers={"Authorization": basic})
        check("client credentials grant at /oauth/token", answer.status == 200
              and answer.json["token_type"].lower() == "bearer" and answer.json["expires_in"] == 3, answer)
        token = answer.json["access_token"]
        check("a token from Canaille is accepted", scim.req("GET", "/Users", token=token).status == 200)
        wrong = http("POST", token_url, form={"grant_type": "client_credentials"},
                     headers={"Authorization": "Basic " + base64.b64encode(b"accessboard:nope").decode()})
        check("a wrong client secret: 401 invalid_client", wrong.status == 401
              and wrong.json["error"] == "invalid_client", wrong)
        check("a made-up token is refused", scim.req("GET", "/Users", token="made-up").status == 401)
        time.sleep(4)
        check("an expired token is refused", scim.req("GET", "/Users", token=token).status == 401)
        nextcloud = Server(python, ["--dialect", "nextcloud", "--oauth2-introspect", iam.url("/oauth/introspect"),
                                    "--oauth2-client", "scim-rs:rs-s3cr3t"], token=None)
        try:
            fresh = http("POST", token_url, form={"grant_type": "client_credentials"},
                         headers={"Authorization": basic}).json["access_token"]
            check("any dialect takes --oauth2-introspect (nextcloud)",
                  nextcloud.req("GET", "/Users", token=fresh).status == 200)
        finally:
            nextcloud.stop()
    finally:
        if scim:
            scim.stop()
        iam.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=os.path.join(HERE, ".venv", "bin", "python"))
    parser.add_argument("--iam-python", default=os.path.join(HERE, ".venv-iam", "bin", "python"))
    parser.add_argument("--only", nargs="*", choices=["nextcloud", "zulip", "django-groups", "generic", "oauth2"])
    args = parser.parse_args()
    suites = {
        "nextcloud": lambda: check_nextcloud(args.python),
        "zulip": lambda: check_zulip(args.python),
        "django-groups": lambda: check_django_groups(args.python),
        "generic": lambda: check_generic(args.python),
        "oauth2": lambda: check_oauth2(args.python, args.iam_python),
    }
    for name, suite in suites.items():
        if args.only and name not in args.only:
            continue
        try:
            suite()
        except Exception as e:  # a suite that crashes counts as one failure
            import traceback

            traceback.print_exc()
            check(f"{name} suite ran to the end", False, repr(e))
    if FAILURES:
        print("failed:", *FAILURES, sep="\n  ")
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed"
          + (f", {RESULTS['skipped']} skipped" if RESULTS["skipped"] else ""))
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
