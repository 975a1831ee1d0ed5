"""django-groups: a Django app using django-scim2's default adapters (``SCIMUser``, ``SCIMGroup``).

What it stands for: django-scim2 0.23.0 (15five/django-scim2 at b725a1a)
mounted at ``/scim/v2/`` (``django_scim/urls.py``) in a Django app that
keeps the library's default user and group adapters, the way many Django
apps (and Zulip, for what it does not override) use it. Sources:
``src/django_scim/views.py``, ``adapters.py``, ``filters.py``,
``models.py``, ``middleware.py``, ``settings.py``. The common part is in
``django_scim.py``. Served under ``/scim/v2`` and, for convenience, at the
root and under ``/v2``.

Reproduced:

* ``/ServiceProviderConfig`` is ``SCIMServiceProviderConfig.to_dict``:
  ``filter.supported`` false with ``maxResults`` 50, ``patch`` true, ``bulk``
  false, ``changePassword`` true, ``sort`` and ``etag`` false. ``/Bulk``,
  ``/Me``, the root and ``/.search`` answer 501 with an empty body.
* Pages of 50 by default (``count`` honoured, not capped).
* Groups (``SCIMGroup``): ``from_dict`` reads only ``displayName`` and
  ``externalId``, so POST and PUT answer 201/200 and **ignore ``members``**
  (a new group starts empty). ``to_dict`` always lists ``members`` (possibly
  ``[]``) as ``{"value","$ref","display"}``. PATCH: ``add`` / ``remove`` with
  ``path: "members"`` and a value list ``[{"value": "ID"}]`` add or remove
  those users (ids must be integers: otherwise a 500; unknown users: 400
  "Can not add/remove a non-existent user ..."); a remove with a filter path
  ``members[value eq "ID"]`` is a 501 (its parsed first path is
  ``members.value``, not ``members``); ``replace`` is only implemented for the
  odd path ``name`` (501 otherwise, ``displayName`` and ``members`` included).
  A duplicate ``displayName`` is a 409 (``Group.name`` is unique; no
  ``scimType``). Filters on groups find nothing (``GroupFilterQuery.attr_map``
  is empty).
* Users (``SCIMUser``): ``to_dict`` has ``externalId`` (``""`` once written
  without one), ``name.givenName``/``familyName``/``formatted``,
  ``displayName`` (first and last name, else the username), one primary
  email, ``active``, ``groups``. PUT replaces ``userName``, names and
  ``externalId`` (missing ones become empty), the email only when given,
  ``active`` only when given. PATCH ``replace`` of ``userName``,
  ``name.givenName``, ``name.familyName``, ``givenName``, ``familyName``,
  ``active`` or ``emails``, 501 otherwise; a PATCH that makes a username
  clash is an uncaught IntegrityError, 500 (only POST and PUT turn it into
  409). DELETE deletes (204). Filters work on the mapped attributes
  (``UserFilterQuery.attr_map``: ``userName`` ignoring case, names,
  ``active``) although the configuration says filtering is not supported.
* Ids are the ``scim_id`` strings of integer primary keys; unfiltered lists
  are ordered by ``scim_id`` as strings ("10" before "9"), as
  ``GetView.get_many`` orders by the lookup field.
* Authentication is the app's (``AUTH_CHECK_MIDDLEWARE``): here the
  configured bearer tokens/basic/OAuth2; a failure is a 401 with an empty
  body and ``WWW-Authenticate: Basic realm="django-scim2"``.

Not reproduced: usernames that differ only in case are refused here
(scim2-server's store treats ``userName`` as case-insensitive), while a
PostgreSQL-backed Django would accept them.
"""

import itertools
from typing import Any

from . import django_scim as dj
from .core import (
    GROUP_SCHEMA,
    USER_SCHEMA,
    AuthConfig,
    Backend,
    Reply,
    Request,
    authenticate,
    django_date,
    json_reply,
    split,
    strip_prefix,
)

USER_ATTR_MAP = {
    ("userName", None, None): "username",
    ("name", "familyName", None): "last_name",
    ("familyName", None, None): "last_name",
    ("name", "givenName", None): "first_name",
    ("givenName", None, None): "first_name",
    ("active", None, None): "is_active",
}
# The SCIM attribute each mapped Django field is stored under in scim2-server.
FIELD_PATHS = {"username": ("userName",), "last_name": ("name", "familyName"),
               "first_name": ("name", "givenName"), "is_active": ("active",)}
GROUP_ATTR_MAP: dict[tuple, str] = {}


class DjangoGroups:
    name = "django-groups"
    base_path = "/scim/v2"

    def __init__(self, auth: AuthConfig, documentation_uri: str | None = None):
        self.auth = auth
        self.documentation_uri = documentation_uri
        ids = itertools.count(1)
        self.backend = Backend(id_factory=lambda rt, r: str(next(ids)))

    def handle(self, request: Request) -> Reply:
        path = strip_prefix(request.path, "/scim/v2", "/v2")
        segments = split(path)
        known = (
            segments in ([], [".search"], ["Me"], ["Bulk"], ["ServiceProviderConfig"],
                         ["Users", ".search"], ["Groups", ".search"])
            or (segments[:1] in (["Users"], ["Groups"], ["ResourceTypes"], ["Schemas"]) and len(segments) <= 2)
        )
        if not known:
            return dj.django_404(request.path)
        if not authenticate(self.auth, request.header("Authorization")).ok:
            return dj.unauthorized()
        if segments in ([], [".search"], ["Me"], ["Bulk"]):
            return dj.status_501()
        try:
            if segments[0] in ("ServiceProviderConfig", "ResourceTypes", "Schemas"):
                if request.method != "GET":
                    return dj.method_not_allowed(["get"])
                return self.discovery(request, segments)
            kind = "User" if segments[0] == "Users" else "Group"
            if segments[1:] == [".search"]:
                if request.method != "POST":
                    return dj.method_not_allowed(["post"])
                return self.search(request, kind)
            if request.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                return dj.method_not_allowed(["get", "post", "put", "patch", "delete"])
            return self.resources(request, kind, segments[1] if len(segments) == 2 else None)
        except dj.ScimError as e:
            return e.reply()
        except dj.Crash:
            return dj.crash_reply()

    # -- Discovery -----------------------------------------------------------

    def discovery(self, request: Request, segments: list[str]) -> Reply:
        base = f"{request.root_url}/scim/v2"
        if segments[0] == "ServiceProviderConfig":
            return json_reply(200, {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "documentationUri": self.documentation_uri,
                "patch": {"supported": True},
                "bulk": {"supported": False, "maxOperations": 1000, "maxPayloadSize": 1048576},
                "filter": {"supported": False, "maxResults": 50},
                "changePassword": {"supported": True},
                "sort": {"supported": False},
                "etag": {"supported": False},
                "authenticationSchemes": [{
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "Authentication scheme using the OAuth Bearer Token Standard",
                    "specUri": "https://www.rfc-editor.org/info/rfc6750",
                }],
                "meta": {"location": f"{base}/ServiceProviderConfig", "resourceType": "ServiceProviderConfig"},
            })
        status, body, _ = self.backend.call("GET", "/" + "/".join(segments), base_url=base)
        if status != 200:
            return Reply(404, None)
        if len(segments) == 1:
            body = {"schemas": body["schemas"], "Resources": body.get("Resources", [])}
        return json_reply(200, body)

    # -- Adapters ------------------------------------------------------------

    def location(self, request: Request, kind: str, resource_id: str) -> str:
        return f"{request.root_url}/scim/v2/{'Users' if kind == 'User' else 'Groups'}/{resource_id}"

    def all(self, kind: str) -> list[dict[str, Any]]:
        return sorted(self.backend.resources(kind), key=lambda r: r["id"])  # scim_id, a string

    def get_object(self, kind: str, resource_id: str) -> dict[str, Any]:
        for resource in self.backend.resources(kind):
            if resource["id"] == resource_id:
                return resource
        raise dj.not_found(resource_id)

    def user_display_name(self, user: dict[str, Any]) -> str:
        first = (user.get("name") or {}).get("givenName") or ""
        last = (user.get("name") or {}).get("familyName") or ""
        return f"{first} {last}" if first and last else user.get("userName", "")

    def to_dict(self, kind: str, resource: dict[str, Any], request: Request) -> dict[str, Any]:
        location = self.location(request, kind, resource["id"])
        if kind == "Group":
            users = {u["id"]: u for u in self.backend.resources("User")}
            members = [{"value": m["value"], "$ref": self.location(request, "User", m["value"]),
                        "display": self.user_display_name(users[m["value"]])}
                       for m in resource.get("members") or [] if m["value"] in users]
            return {"id": resource["id"], "externalId": resource.get("externalId"),
                    "schemas": [GROUP_SCHEMA], "displayName": resource.get("displayName", ""),
                    "members": members, "meta": {"resourceType": "Group", "location": location}}
        name = resource.get("name") or {}
        email = next((e.get("value") for e in resource.get("emails") or []), "")
        groups = [{"value": g["id"], "$ref": self.location(request, "Group", g["id"]),
                   "display": g.get("displayName", "")}
                  for g in self.all("Group") if any(m["value"] == resource["id"] for m in g.get("members") or [])]
        return {
            "id": resource["id"],
            "externalId": resource.get("externalId"),
            "schemas": [USER_SCHEMA],
            "userName": resource.get("userName", ""),
            "name": {"givenName": name.get("givenName", ""), "familyName": name.get("familyName", ""),
                     "formatted": self.user_display_name(resource)},
            "displayName": self.user_display_name(resource),
            "emails": [{"value": email, "primary": True}],
            "active": bool(resource.get("active", True)),
            "groups": groups,
            "meta": {"resourceType": "User", "created": django_date(resource["meta"]["created"]),
                     "lastModified": django_date(resource["meta"]["created"]), "location": location},
        }

    @staticmethod
    def parse_emails(value: Any) -> str | None:
        """SCIMUser.parse_emails: the primary email first, by value; None when nothing is given."""
        if not value:
            return None
        email = None
        if isinstance(value, list):
            if not all(isinstance(e, dict) for e in value):
                raise dj.Crash("email entries are not objects")
            primary = sorted((e for e in value if e.get("primary")), key=lambda d: str(d.get("value")))
            secondary = sorted((e for e in value if not e.get("primary")), key=lambda d: str(d.get("value")))
            emails = primary + secondary
            email = emails[0].get("value")
        elif isinstance(value, dict):
            email = (value.get("value") or "").strip()
        if not dj.valid_email(email):
            raise dj.bad_request("Invalid email value")
        return email

    def from_dict(self, kind: str, d: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """SCIMUser/SCIMGroup.from_dict: the stored SCIM resource after a POST or PUT."""
        new: dict[str, Any] = {k: v for k, v in (current or {}).items() if k not in ("id", "meta")}
        new["schemas"] = [USER_SCHEMA if kind == "User" else GROUP_SCHEMA]
        new["externalId"] = d.get("externalId") or ""
        if kind == "Group":
            new["displayName"] = d.get("displayName") or ""
            return new  # members are not read
        new["userName"] = d.get("userName") or ""
        name = d.get("name", {})
        if not isinstance(name, dict):
            raise dj.Crash("'name' is not a dict")
        new["name"] = {"givenName": name.get("givenName") or "", "familyName": name.get("familyName") or ""}
        email = self.parse_emails(d.get("emails", []))
        if email is not None:
            new["emails"] = [{"value": email, "primary": True}]
        if d.get("active") is not None:
            new["active"] = d["active"]
        elif current is None:
            new["active"] = True
        return new

    def store(self, kind: str, resource: dict[str, Any], current: dict[str, Any] | None,
              integrity_error_is_409: bool = True) -> dict[str, Any]:
        endpoint = "Users" if kind == "User" else "Groups"
        others = [r for r in self.backend.resources(kind) if current is None or r["id"] != current["id"]]
        key = "userName" if kind == "User" else "displayName"
        if any(r.get(key) == resource.get(key) for r in others):
            if not integrity_error_is_409:
                raise dj.Crash("IntegrityError")
            column = "auth_user.username" if kind == "User" else "auth_group.name"
            raise dj.ScimError(409, f"UNIQUE constraint failed: {column}")
        if current is None:
            status, stored, _ = self.backend.call("POST", f"/{endpoint}", resource)
            ok = status == 201
        else:
            status, stored, _ = self.backend.call("PUT", f"/{endpoint}/{current['id']}", resource)
            ok = status == 200
        if not ok:
            if status == 409:
                column = "auth_user.username" if kind == "User" else "auth_group.name"
                if not integrity_error_is_409:
                    raise dj.Crash("IntegrityError")
                raise dj.ScimError(409, f"UNIQUE constraint failed: {column}")
            raise dj.Crash(f"could not store: {stored}")
        return stored

    # -- Views ---------------------------------------------------------------

    def resources(self, request: Request, kind: str, resource_id: str | None) -> Reply:
        if request.method == "GET" and resource_id is None:
            query = request.query.get("filter")
            if query:
                return self.search_reply(request, kind, query)
            return dj.list_reply(self.all(kind), *dj.page(request.query),
                                 lambda r: self.to_dict(kind, r, request))
        if request.method == "GET":
            return self.reply(200, kind, self.get_object(kind, resource_id), request)
        if request.method == "POST":
            body = dj.load_body(request.body)
            if not body:
                raise dj.bad_request("POST call made with empty body")
            self.validate_dict(body)
            stored = self.store(kind, self.from_dict(kind, body, None), None)
            return self.reply(201, kind, stored, request)
        if resource_id is None:
            raise dj.bad_request('Expected view to be called with a URL keyword argument named "uuid".')
        current = self.get_object(kind, resource_id)
        if request.method == "PUT":
            body = dj.load_body(request.body)
            if not body:
                raise dj.bad_request("PUT call made with empty body")
            self.validate_dict(body)
            stored = self.store(kind, self.from_dict(kind, body, current), current)
            return self.reply(200, kind, stored, request)
        if request.method == "PATCH":
            body = dj.load_body(request.body)
            patched = self.patch_user(current, body) if kind == "User" else self.patch_group(current, body)
            return self.reply(200, kind, patched, request)
        self.backend.call("DELETE", f"/{'Users' if kind == 'User' else 'Groups'}/{current['id']}")
        if kind == "User":
            for group in self.all("Group"):
                kept = [m for m in group.get("members") or [] if m["value"] != current["id"]]
                if len(kept) != len(group.get("members") or []):
                    self.save_members(group, kept)
        return Reply(204, None, content_type=None)

    @staticmethod
    def validate_dict(d: Any) -> None:
        if not isinstance(d, dict):
            raise dj.Crash("body is not an object")
        if "active" in d and not isinstance(d["active"], bool):
            raise dj.bad_request(f'"active" should be of type "bool". Got type "{type(d["active"]).__name__}"')

    def reply(self, status: int, kind: str, resource: dict[str, Any], request: Request) -> Reply:
        return json_reply(status, self.to_dict(kind, resource, request),
                          {"Location": self.location(request, kind, resource["id"])})

    def save_members(self, group: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
        replacement = {k: v for k, v in group.items() if k not in ("id", "meta")}
        replacement["members"] = [{"value": m["value"]} for m in members]
        if not replacement["members"]:
            replacement.pop("members")
        status, stored, _ = self.backend.call("PUT", f"/Groups/{group['id']}", replacement)
        if status != 200:
            raise dj.Crash(f"could not store the group: {stored}")
        return stored

    def patch_group(self, group: dict[str, Any], body: Any) -> dict[str, Any]:
        """SCIMGroup.handle_add/handle_remove/handle_replace, all in one transaction."""
        members = [{"value": m["value"]} for m in group.get("members") or []]
        display_name = group.get("displayName", "")
        users = {u["id"] for u in self.backend.resources("User")}
        for op_code, path, value, _ in dj.patch_operations(body, GROUP_ATTR_MAP):
            if op_code in ("add", "remove"):
                if path.first_path != ("members", None, None):
                    raise dj.not_implemented()
                listed = value or []
                if not isinstance(listed, list) or not all(isinstance(m, dict) for m in listed):
                    raise dj.Crash("members value is not a list of objects")
                try:
                    ids = [str(int(m.get("value"))) for m in listed]
                except (TypeError, ValueError) as e:
                    raise dj.Crash(f"invalid literal for int(): {e}") from e
                if len([i for i in ids if i in users]) != len(ids):
                    verb = "add a non-existent user to" if op_code == "add" else "remove a non-existent user from"
                    raise dj.bad_request(f"Can not {verb} group")
                if op_code == "add":
                    members += [{"value": i} for i in ids if all(m["value"] != i for m in members)]
                else:
                    members = [m for m in members if m["value"] not in ids]
            else:
                if path.first_path != ("name", None, None):
                    raise dj.not_implemented()
                try:
                    display_name = value[0].get("value")
                except (TypeError, KeyError, IndexError, AttributeError) as e:
                    raise dj.Crash(f"cannot read the name: {e}") from e
        if display_name != group.get("displayName", ""):
            replacement = {k: v for k, v in group.items() if k not in ("id", "meta")}
            replacement["displayName"] = display_name
            group = self.store("Group", replacement, group, integrity_error_is_409=False)
        return self.save_members(group, members)

    def patch_user(self, user: dict[str, Any], body: Any) -> dict[str, Any]:
        """SCIMUser.handle_replace (add and remove are not implemented), in one transaction."""
        current = {k: v for k, v in user.items() if k not in ("id", "meta")}
        for op_code, path, value, _ in dj.patch_operations(body, USER_ATTR_MAP):
            if op_code != "replace":
                raise dj.not_implemented()
            pairs = value.items() if isinstance(value, dict) else [(path, value)]
            for attr_path, val in pairs:
                if isinstance(attr_path, str):
                    raise dj.Crash("'str' object has no attribute 'first_path'")
                first = tuple(attr_path.first_path)
                if first in USER_ATTR_MAP:
                    target = FIELD_PATHS[USER_ATTR_MAP[first]]
                    if len(target) == 1:
                        current[target[0]] = val
                    else:
                        current.setdefault("name", {})
                        current["name"] = {**current["name"], target[1]: val}
                elif first == ("emails", None, None):
                    email = self.parse_emails(val)
                    if email is not None:
                        current["emails"] = [{"value": email, "primary": True}]
                else:
                    raise dj.not_implemented("Not Implemented")
        return self.store("User", current, user, integrity_error_is_409=False)

    def search_reply(self, request: Request, kind: str, query: str) -> Reply:
        if kind == "Group":
            rows = [{"id": g["id"], "name": g.get("displayName", ""), "_row": g}
                    for g in self.backend.resources("Group")]
            found = dj.sql_search(query, "auth_group", GROUP_ATTR_MAP, {"id": "TEXT", "name": "TEXT"}, rows)
        else:
            rows = [{"id": u["id"], "username": u.get("userName", ""),
                     "first_name": (u.get("name") or {}).get("givenName", ""),
                     "last_name": (u.get("name") or {}).get("familyName", ""),
                     "is_active": "TRUE" if u.get("active", True) else "FALSE", "_row": u}
                    for u in sorted(self.backend.resources("User"), key=lambda u: int(u["id"]))]
            columns = {"id": "TEXT", "username": "TEXT", "first_name": "TEXT", "last_name": "TEXT",
                       "is_active": "TEXT COLLATE NOCASE"}
            found = dj.sql_search(query, "auth_user", USER_ATTR_MAP, columns, rows)
        return dj.list_reply(found, *dj.page(request.query), lambda r: self.to_dict(kind, r, request))

    def search(self, request: Request, kind: str) -> Reply:
        body = dj.load_body(request.body)
        if not isinstance(body, dict):
            raise dj.Crash("body is not an object")
        if body.get("schemas") != ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]:
            raise dj.bad_request("Invalid schema uri. Must be SearchRequest.")
        query = body.get("filter", request.query.get("filter"))
        if not query:
            raise dj.bad_request("No filter query specified")
        reply = self.search_reply(request, kind, query)
        reply.headers["Location"] = f"{request.root_url}/scim/v2/{'Users' if kind == 'User' else 'Groups'}/.search"
        return reply
