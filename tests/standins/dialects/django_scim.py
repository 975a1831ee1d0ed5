"""What django-scim2 (15five/django-scim2, ``src/django_scim/``) does the same for every app built on it.

Read at commit b725a1a (after release 0.23.0), the version on PyPI as
``django-scim2==0.23.0``. The zulip and django-groups dialects share it:

* ``views.py`` ``SCIMView.dispatch``: the authentication check runs first;
  a view marked ``implemented=False`` then answers 501 with an empty body; a
  :class:`SCIMException` becomes ``{"schemas":[Error],"detail":...,
  "status":<int>}`` (``exceptions.py`` ``to_dict``: ``status`` is a number,
  ``scimType`` only when set); any other exception a 500 with the detail
  "Exception occurred while processing the SCIM request".
* ``FilterMixin._page``: ``startIndex`` defaults to 1 (below 1 is a 400),
  ``count`` to 50 and is not capped; a non-number is a 400.
  ``_build_response``: ``totalResults``, ``itemsPerPage``, ``startIndex``.
* ``FilterMixin._search`` / ``filters.py``: the filter goes through
  scim2-filter-parser's ``SQLQuery`` with the app's attribute map; a filter
  that does not parse is a 400 "Invalid filter/search query"; a filter on
  attributes the map lacks has no WHERE clause and finds nothing (200, empty
  list), and the unmapped parts of a mixed filter are dropped. The stand-in
  runs the very SQL scim2-filter-parser writes, on an SQLite copy of the
  accounts (``LIKE`` made case-sensitive, as in PostgreSQL).
* ``load_body``: an empty body is ``{}``; invalid JSON a 400.
* ``adapters.py`` ``SCIMMixin.handle_operations``: each PATCH operation's
  path is parsed by scim2-filter-parser's ``AttrPath`` (``path + ' eq ""'``);
  the op must be add/remove/replace (400), a remove needs a path (400,
  ``noTarget``), ``active`` must be a boolean (400); the adapter's
  ``handle_add``/``handle_remove``/``handle_replace`` default to 501. The
  PATCH runs in one transaction (``PatchView``: ``transaction.atomic``).
"""

import json
import re
import sqlite3
from collections.abc import Callable
from typing import Any

from .core import ERROR_SCHEMA, LIST_SCHEMA, Reply, json_reply

GENERIC_DETAIL = "Exception occurred while processing the SCIM request"
WWW_AUTHENTICATE = 'Basic realm="django-scim2"'
VALID_PATCH_OPS = ("add", "remove", "replace")


class ScimError(Exception):
    """django_scim.exceptions.SCIMException and its subclasses."""

    def __init__(self, status: int, detail: str = "", scim_type: str | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def reply(self) -> Reply:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "detail": self.detail, "status": self.status}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return json_reply(self.status, body)


def bad_request(detail: str, scim_type: str | None = None) -> ScimError:
    return ScimError(400, detail, scim_type)


def not_found(resource_id: str) -> ScimError:
    return ScimError(404, f"Resource {resource_id} not found")


def not_implemented(detail: str = "") -> ScimError:
    return ScimError(501, detail)


class Crash(Exception):
    """A Python exception inside the app that django-scim2 turns into its generic 500."""


def crash_reply() -> Reply:
    return ScimError(500, GENERIC_DETAIL).reply()


def status_501() -> Reply:
    return Reply(501, None)


def unauthorized() -> Reply:
    # django_scim.middleware.SCIMAuthCheckMiddleware: HttpResponse(status=401) and the header.
    return Reply(401, None, {"WWW-Authenticate": WWW_AUTHENTICATE}, content_type="text/html; charset=utf-8")


def method_not_allowed(allowed: list[str]) -> Reply:
    return Reply(405, None, {"Allow": ", ".join(m.upper() for m in allowed)},
                 content_type="text/html; charset=utf-8")


def django_404(path: str) -> Reply:
    return Reply(404, f"<h1>Not Found</h1><p>The requested resource {path} was not found on this server.</p>",
                 content_type="text/html; charset=utf-8")


def load_body(body: bytes) -> Any:
    text = body.decode("utf-8", "replace").strip() or "{}"
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise bad_request("Could not decode JSON body: " + e.args[0]) from e


def page(query: dict[str, str]) -> tuple[int, int]:
    try:
        start = int(query.get("startIndex", 1))
        if start < 1:
            raise bad_request("Invalid startIndex (must be >= 1)")
        count = int(query.get("count", 50))
    except ValueError as e:
        raise bad_request("Invalid pagination values: " + str(e)) from e
    return start, count


def list_reply(resources: list[dict[str, Any]], start: int, count: int,
               render: Callable[[dict[str, Any]], dict[str, Any]]) -> Reply:
    if count < 0:
        raise bad_request("Negative indexing is not supported.")
    chosen = resources[start - 1:(start - 1) + count]
    rendered = [render(r) for r in chosen]
    return json_reply(200, {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(resources),
        "itemsPerPage": len(rendered),
        "startIndex": start,
        "Resources": rendered,
    })


def sql_search(query: str, table: str, attr_map: dict[tuple, str], columns: dict[str, str],
               rows: list[dict[str, Any]], extra_sql: str = "") -> list[dict[str, Any]]:
    """Runs scim2-filter-parser's SQL for a filter on an SQLite table holding ``rows``.

    ``columns`` maps the column names to SQLite types; each row is a dict with
    these columns plus ``_row``, the object it stands for, which is returned.
    """
    from scim2_filter_parser.parser import SCIMParserError
    from scim2_filter_parser.queries.sql import SQLQuery

    try:
        q = SQLQuery(query, table, attr_map)
        where = q.where_sql
    except (ValueError, SCIMParserError) as e:
        raise bad_request("Invalid filter/search query: " + str(e)) from e
    except Exception as e:  # scim2-filter-parser's lexer and transpiler raise others too
        raise bad_request("Invalid filter/search query: " + str(e)) from e
    if where is None:
        return []
    sql = q.sql.strip().rstrip(";") + (" " + extra_sql if extra_sql else "") + ";"
    sql = sql.replace("%s", "?")
    db = sqlite3.connect(":memory:")
    try:
        db.execute("PRAGMA case_sensitive_like = ON")
        names = list(columns)
        db.execute(f"CREATE TABLE {table} (_pos INTEGER, {', '.join(f'{n} {columns[n]}' for n in names)})")
        for position, row in enumerate(rows):
            db.execute(f"INSERT INTO {table} VALUES (?, {', '.join('?' for _ in names)})",
                       [position] + [row.get(n) for n in names])
        # SELECT DISTINCT table.* returns _pos first.
        found = db.execute(sql, list(q.params)).fetchall()
    except sqlite3.Error as e:
        raise Crash(f"SQL error: {e}") from e
    finally:
        db.close()
    return [rows[record[0]]["_row"] for record in found]


def split_path(path: str, attr_map: dict[tuple, str]) -> Any:
    """SCIMMixin.split_path: an AttrPath of ``path eq ""``; a parse error is an uncaught exception (500)."""
    from scim2_filter_parser.attr_paths import AttrPath

    if not isinstance(path, str):
        raise Crash("path is not a string")
    try:
        attr_path = AttrPath(path + ' eq ""', attr_map)
        if not list(attr_path):
            raise bad_request("No attribute path found in request")
    except ScimError:
        raise
    except Exception as e:
        raise Crash(f"cannot parse path {path!r}: {e}") from e
    return attr_path


def patch_operations(body: Any, attr_map: dict[tuple, str]) -> list[tuple[str, Any, Any, dict]]:
    """PatchView.patch + SCIMMixin.handle_operations, up to the handlers.

    Returns (op code, AttrPath or None, value, operation) for each path and
    value to hand to ``handle_<op>``, after django-scim2's checks. The checks
    run operation by operation, interleaved with the handlers, so the caller
    gets them lazily.
    """
    if not isinstance(body, dict):
        raise Crash("body is not an object")
    operations = body.get("Operations")
    if not operations:
        raise bad_request("PATCH call made without operations array")
    if not isinstance(operations, list):
        raise Crash("Operations is not a list")
    for operation in operations:
        if not isinstance(operation, dict):
            raise Crash("operation is not an object")
        path = operation.get("path")
        value = operation.get("value")
        if not path:
            if not isinstance(value, dict):
                raise Crash("No path and operation value is a non-dict. Can not determine attribute.")
            pairs = [(split_path(k, attr_map), v) for k, v in value.items()]
        else:
            pairs = [(split_path(path, attr_map), value)]
        for attr_path, attr_value in pairs:
            op = operation.get("op")
            if not isinstance(op, str):
                raise Crash("op is not a string")
            op_code = op.lower()
            if op_code not in VALID_PATCH_OPS:
                raise bad_request(f'Unknown PATCH op "{op_code}"')
            if op_code == "remove" and not attr_path:
                raise bad_request('"path" must be specified during "remove" PATCH calls', "noTarget")
            if (attr_path and not attr_path.is_complex
                    and attr_path.first_path == ("active", None, None)
                    and not isinstance(attr_value, bool)):
                if "path" not in operation:
                    raise Crash("KeyError: 'path'")  # the error message reads operation['path']
                raise bad_request(f'"{operation["path"]}" should be of type "bool". '
                                  f'Got type "{type(attr_value).__name__}"')
            yield op_code, attr_path, attr_value, operation


# Django's EmailValidator (django/core/validators.py), in short.
_USER_RE = re.compile(
    r"(^[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*\Z"
    r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z)',
    re.IGNORECASE)
_DOMAIN_RE = re.compile(
    r"((?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+)(?:[A-Z0-9-]{2,63}(?<!-))\Z", re.IGNORECASE)


def valid_email(value: Any) -> bool:
    if not value or not isinstance(value, str) or "@" not in value or len(value) > 320:
        return False
    user, _, domain = value.rpartition("@")
    if not _USER_RE.match(user):
        return False
    return domain == "localhost" or bool(_DOMAIN_RE.match(domain))


def normalize_email(email: str) -> str:
    """django.contrib.auth.models.BaseUserManager.normalize_email: lowercases the domain only."""
    try:
        name, domain = email.strip().rsplit("@", 1)
    except ValueError:
        return email
    return name + "@" + domain.lower()
