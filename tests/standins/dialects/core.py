"""What every dialect shares: scim2-server as the store, the WSGI front, the replies, the authentication.

A dialect is a class with a ``handle(request)`` method. The front reads the
HTTP request into a :class:`Request`, checks nothing itself, and sends back
the :class:`Reply` the dialect returns. A dialect keeps its resources in a
real scim2-server 0.8.3 (:class:`Backend`): it forwards the requests it does
not change, and sends scim2-server the requests it rewrote. What the real app
does differently is the dialect's own code.
"""

import base64
import hmac
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from scim2_models import ResourceType, Schema, ScimProvider, ServiceProviderConfig
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import InMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.service import ScimService
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SCIM_JSON = "application/scim+json"

# The path every dialect answers without authentication, for a test harness to
# know the server is up (some dialects answer 501 or 401 everywhere else).
READY_PATH = "/__standin__/ready"


# -- Requests and replies -------------------------------------------------


@dataclass
class Request:
    """An HTTP request as the front read it; ``path`` is PATH_INFO, undecoded prefixes included."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    root_url: str  # scheme://host[:port] plus SCRIPT_NAME, as the client sees it

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    @property
    def content_type(self) -> str:
        return self.header("Content-Type") or ""

    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not JSON."""
        text = self.body.decode("utf-8").strip()
        return json.loads(text) if text else None


@dataclass
class Reply:
    status: int
    body: Any = None  # dict/list -> JSON; bytes/str -> sent as is; None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = SCIM_JSON

    def encode(self) -> tuple[str, list[tuple[str, str]], bytes]:
        if self.body is None:
            payload = b""
        elif isinstance(self.body, bytes):
            payload = self.body
        elif isinstance(self.body, str):
            payload = self.body.encode()
        else:
            payload = json.dumps(self.body).encode()
        headers = dict(self.headers)
        if self.content_type and (payload or self.status >= 400 or self.content_type != SCIM_JSON):
            headers.setdefault("Content-Type", self.content_type)
        headers["Content-Length"] = str(len(payload))
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Status"
        return f"{self.status} {phrase}", list(headers.items()), payload


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None,
               content_type: str = SCIM_JSON) -> Reply:
    return Reply(status, body, dict(headers or {}), content_type)


# -- scim2-server, the store of every dialect -----------------------------


class StandinStorage(InMemoryStorage):
    """scim2-server's in-memory storage, with the identifiers the real app hands out."""

    def __init__(self, id_factory: Callable[[ResourceType, Any], str] | None = None):
        super().__init__()
        self.id_factory = id_factory

    def generate_id(self, resource_type: ResourceType, resource: Any) -> str:
        if self.id_factory is not None:
            return self.id_factory(resource_type, resource)
        return super().generate_id(resource_type, resource)


def load_schemas(path: str | None) -> list[Schema]:
    if path is None:
        return list(load_default_schemas().values())
    with open(path) as f:
        return [Schema.model_validate(s) for s in json.load(f)]


def user_schema_with_role() -> list[Schema]:
    """RFC 7643's schemas, with a single-valued ``role`` string added to the core User schema.

    Zulip puts the role of an account in such a top-level attribute
    (``zerver/lib/scim.py``: ``"role": UserProfile.ROLE_ID_TO_API_NAME[...]``).
    schemas/user-with-role.json is this list, for ``scim2-server --schema``.
    """
    schemas = [s.model_dump(mode="json") for s in load_schemas(None)]
    for schema in schemas:
        if schema["id"] == USER_SCHEMA:
            schema["attributes"].append({
                "name": "role",
                "type": "string",
                "multiValued": False,
                "description": "The single role of the account in the application "
                               "(as Zulip's top-level role attribute).",
                "required": False,
                "caseExact": False,
                "canonicalValues": ["owner", "administrator", "moderator", "member", "guest"],
                "mutability": "readWrite",
                "returned": "default",
                "uniqueness": "none",
            })
    return [Schema.model_validate(s) for s in schemas]


def load_resource_types(path: str | None) -> list[ResourceType]:
    if path is None:
        return list(load_default_resource_types().values())
    with open(path) as f:
        return [ResourceType.model_validate(rt) for rt in json.load(f)]


def load_config(source: str | dict | None) -> ServiceProviderConfig:
    if source is None:
        return load_default_service_provider_config()
    if isinstance(source, dict):
        return ServiceProviderConfig.model_validate(source)
    with open(source) as f:
        return ServiceProviderConfig.model_validate(json.load(f))


class Backend:
    """A real scim2-server (provider, service, in-memory storage, WSGI application) that a dialect talks to.

    ``call`` and ``forward`` run a request through scim2-server's own
    application, so validation, uniqueness, PATCH and filtering are
    scim2-server's. ``resources`` reads the store directly.
    """

    BASE_URL = "http://scim2-server.internal/v2"

    def __init__(self, schemas: Iterable[Schema] | None = None,
                 resource_types: Iterable[ResourceType] | None = None,
                 config: ServiceProviderConfig | None = None,
                 id_factory: Callable[[ResourceType, Any], str] | None = None):
        self.provider = ScimProvider.from_discovery(
            list(schemas) if schemas is not None else load_schemas(None),
            list(resource_types) if resource_types is not None else load_resource_types(None),
            config=config if config is not None else load_config(None),
        )
        self.service = ScimService(self.provider)
        self.storage = StandinStorage(id_factory)
        self.app = WSGIApplication(self.storage, self.provider, self.service)

    def resource_type(self, name: str) -> ResourceType:
        return self.service.get_resource_type(name)

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
             content_type: str = SCIM_JSON, base_url: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        """One request to scim2-server; returns its status, JSON body (or None) and headers."""
        raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        all_headers = {"Content-Type": content_type} if raw else {}
        all_headers.update(headers or {})
        request = ScimRequest(
            method=method.upper(),
            base_url=base_url or self.BASE_URL,
            path=path,
            query=dict(query or {}),
            headers=all_headers,
            body=raw,
        )
        response = self.app.serve(request)
        return response.status.value, response.body, dict(response.headers)

    def forward(self, request: Request, path: str, base_url: str, body: Any = ...,
                query: dict[str, str] | None = None, method: str | None = None) -> Reply:
        """Passes a client request to scim2-server (optionally rewritten) and returns its answer."""
        raw = request.body if body is ... else body
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("if-match", "if-none-match", "content-type")}
        status, answer, answer_headers = self.call(
            method or request.method, path, raw,
            query=request.query if query is None else query,
            content_type=request.content_type or SCIM_JSON,
            base_url=base_url, headers=headers)
        answer_headers.pop("Content-Type", None)
        return Reply(status, answer, answer_headers)

    def resources(self, resource_type: str) -> list[dict[str, Any]]:
        """Every stored resource of a type, as SCIM JSON, in creation order of their identifiers' store."""
        with self.storage.lock:
            found = [r for r in self.storage.resources
                     if r.meta is not None and r.meta.resource_type == resource_type]
            return [r.model_dump(mode="json") for r in found]

    def get(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        status, body, _ = self.call("GET", f"/{endpoint_of(resource_type)}/{resource_id}")
        return body if status == 200 else None


def endpoint_of(resource_type: str) -> str:
    return {"User": "Users", "Group": "Groups"}[resource_type]


# -- Authentication ------------------------------------------------------


@dataclass
class AuthConfig:
    """The credentials a stand-in accepts. Nothing configured accepts every request, as scim2-server does."""

    bearer_tokens: list[str] = field(default_factory=list)
    basic: tuple[str, str] | None = None
    jwt_secret: str | None = None
    introspect_url: str | None = None
    introspect_client: tuple[str, str] | None = None
    required_scope: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.bearer_tokens or self.basic or self.jwt_secret or self.introspect_url)


@dataclass
class AuthResult:
    ok: bool
    scheme: str | None = None  # "bearer", "jwt", "oauth2", "basic", or None when nothing is configured
    subject: Any = None  # JWT claims, introspection answer, or the basic user name
    error: str = ""


def authenticate(config: AuthConfig, authorization: str | None, *,
                 case_sensitive_scheme: bool = False) -> AuthResult:
    """Checks an Authorization header against every configured scheme."""
    if not config.configured:
        return AuthResult(True)
    if not authorization:
        return AuthResult(False, error="No Authorization header supplied")
    scheme, _, credentials = authorization.partition(" ")
    wanted = scheme if case_sensitive_scheme else scheme.lower()
    bearer = "Bearer" if case_sensitive_scheme else "bearer"
    basic = "Basic" if case_sensitive_scheme else "basic"
    if wanted == bearer:
        token = credentials.strip()
        for known in config.bearer_tokens:
            if hmac.compare_digest(token.encode(), known.encode()):
                return AuthResult(True, "bearer", None)
        if config.jwt_secret:
            claims, error = check_jwt(token, config.jwt_secret)
            if claims is not None:
                return AuthResult(True, "jwt", claims)
            if not config.introspect_url:
                return AuthResult(False, error=error)
        if config.introspect_url:
            info, error = introspect(config, token)
            if info is not None:
                return AuthResult(True, "oauth2", info)
            return AuthResult(False, error=error)
        return AuthResult(False, error="Bearer token is invalid")
    if wanted == basic and config.basic:
        try:
            user, _, password = base64.b64decode(credentials.strip()).decode().partition(":")
        except Exception:
            return AuthResult(False, error="Malformed basic credentials")
        if hmac.compare_digest(f"{user}:{password}".encode(), ":".join(config.basic).encode()):
            return AuthResult(True, "basic", user)
        return AuthResult(False, error="Wrong user name or password")
    return AuthResult(False, error="Unsupported authorization scheme")


def check_jwt(token: str, secret: str) -> tuple[dict | None, str]:
    """HS256 signature, ``exp``, ``nbf`` and ``iat`` with no leeway, as firebase/php-jwt's JWT::decode checks them."""
    import jwt  # PyJWT

    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"],
                            options={"require": [], "verify_aud": False})
    except jwt.ExpiredSignatureError:
        return None, "Expired token"
    except jwt.InvalidTokenError as e:
        return None, f"Invalid token: {e}"
    return claims, ""


def mint_jwt(secret: str, claims: dict[str, Any], ttl: int | None) -> str:
    import jwt  # PyJWT

    now = int(time.time())
    payload = {"iat": min(now, now + ttl) if ttl is not None else now, **claims}
    if ttl is not None:
        payload["exp"] = now + ttl
    return jwt.encode(payload, secret, algorithm="HS256")


def introspect(config: AuthConfig, token: str) -> tuple[dict | None, str]:
    """RFC 7662 token introspection at the OAuth2 server, authenticated as the resource-server client."""
    data = urllib.parse.urlencode({"token": token, "token_type_hint": "access_token"}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if config.introspect_client:
        pair = ":".join(config.introspect_client).encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    request = urllib.request.Request(config.introspect_url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            info = json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as e:
        return None, f"Introspection failed: HTTP {e.code}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        return None, f"Introspection failed: {e}"
    if not info.get("active"):
        return None, "Token is not active"
    exp = info.get("exp")
    if exp is not None and float(exp) <= time.time():
        return None, "Token expired"
    if config.required_scope and config.required_scope not in str(info.get("scope", "")).split():
        return None, f"Token lacks the scope {config.required_scope}"
    return info, ""


# -- The WSGI front --------------------------------------------------------


# A request carrying this header is the test harness reading or seeding the server,
# not the client under test: it is never rate limited.
HARNESS_HEADER = "X-Standin-Harness"


class RateLimit:
    """At most ``limit`` requests in any ``window`` seconds (a sliding log), as API gateways and
    hosted apps enforce it; beyond that a 429 with ``X-Retry-After: <seconds>`` (rounded up,
    until the oldest counted request leaves the window) and a plain HTML body, not SCIM JSON,
    as a proxy in front of the app answers it. Refused requests are not counted."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self.sent: list[float] = []
        self.lock = threading.Lock()

    @staticmethod
    def parse(value: str) -> "RateLimit":
        count, _, seconds = value.partition("/")
        return RateLimit(int(count), float(seconds))

    def admit(self) -> Reply | None:
        now = time.monotonic()
        with self.lock:
            self.sent = [t for t in self.sent if t > now - self.window]
            if len(self.sent) < self.limit:
                self.sent.append(now)
                return None
            wait = max(1, int(-(-(self.sent[0] + self.window - now) // 1)))
        body = b"<html><body><h1>429 Too Many Requests</h1></body></html>\n"
        return Reply(429, body, {"X-Retry-After": str(wait)}, content_type="text/html")


class Front:
    """The WSGI application: reads a request, asks the dialect, writes the reply.

    Requests are served one at a time (a lock), so a dialect's
    read-modify-write sequences on scim2-server need no locking of their own.
    """

    def __init__(self, dialect: Any, rate_limit: RateLimit | None = None, delay: float = 0.0):
        self.dialect = dialect
        self.lock = threading.RLock()
        self.rate_limit = rate_limit
        self.delay = delay

    @staticmethod
    def read(environ: dict[str, Any]) -> Request:
        headers = {key[5:].replace("_", "-").title(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = environ.get("CONTENT_LENGTH") or ""
        body = environ["wsgi.input"].read(int(length)) if length.isdigit() and int(length) else b""
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        return Request(
            method=environ["REQUEST_METHOD"].upper(),
            # PEP 3333: PATH_INFO is URL-decoded bytes carried as latin-1.
            path=(environ.get("PATH_INFO", "") or "/").encode("latin-1").decode("utf-8", "replace"),
            query=dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)),
            headers=headers,
            body=body,
            root_url=f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}".rstrip("/"),
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        request = self.read(environ)
        limited = None
        if self.rate_limit is not None and request.path != READY_PATH and not request.header(HARNESS_HEADER):
            limited = self.rate_limit.admit()
        if self.delay > 0 and request.path != READY_PATH and not request.header(HARNESS_HEADER):
            # Outside the lock: a slow app still answers several requests at once.
            time.sleep(self.delay)
        if request.path == READY_PATH:
            reply = Reply(200, b"ready\n", content_type="text/plain")
        elif limited is not None:
            reply = limited
        else:
            try:
                with self.lock:
                    reply = self.dialect.handle(request)
            except Exception as e:  # a bug of the stand-in: say so loudly
                import traceback

                traceback.print_exc()
                reply = Reply(500, f"stand-in bug: {type(e).__name__}: {e}\n".encode(),
                              content_type="text/plain")
        status, headers, payload = reply.encode()
        start_response(status, headers)
        return [payload] if request.method != "HEAD" else [b""]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))


def serve(front: Front, hostname: str, port: int, banner: str, base_path: str = "/v2") -> None:
    with make_server(hostname, port, front, server_class=ThreadingWSGIServer,
                     handler_class=QuietHandler) as server:
        print(f"Serving SCIM on http://{hostname}:{port}{base_path} ({banner})", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def django_date(iso: str) -> str:
    """A datetime as Django's isoformat() writes it: +00:00, not Z."""
    return iso[:-1] + "+00:00" if iso.endswith("Z") else iso


def strip_prefix(path: str, *prefixes: str) -> str:
    """Removes the first of these prefixes that the path starts with, if any."""
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix):] or "/"
            break
    return path


def split(path: str) -> list[str]:
    """The segments of a (already URL-decoded) path."""
    return path.strip("/").split("/") if path.strip("/") else []
