"""zulip: Zulip's SCIM API (beta), django-scim2 with Zulip's own user adapter.

What it stands for: a Zulip server with ``SCIM_CONFIG`` set, as in
zulip/zulip ``zproject/urls.py`` (commit bfdc906, the stored version, where
Groups are not implemented; Zulip 11 later added group sync), the user adapter
``zerver/lib/scim.py`` ``ZulipSCIMUser`` (commit 06ae4ee), the filter map
``zerver/lib/scim_filter.py`` (commit 0c1e56b), the auth check
``zerver/middleware.py`` ``validate_scim_bearer_token`` /
``ZulipSCIMAuthCheckMiddleware``, ``zerver/lib/create_user.py`` and
``zerver/models/users.py``. Served under ``/scim/v2`` (and, for
convenience, at the root and under ``/v2``). django-scim2's common behaviour
is in ``django_scim.py``.

Reproduced:

* 501 with an empty body for ``/Groups`` (any method, with or without an id,
  and ``/Groups/.search``), ``/Me``, ``/ServiceProviderConfig``,
  ``/ResourceTypes``, ``/Schemas``, ``/Bulk``, the root and ``/.search``
  (``zproject/urls.py``: ``SCIMView.as_view(implemented=False)``), after the
  authentication check.
* Authentication: the whole Authorization header must equal
  ``Bearer <token>`` (``constant_time_compare``); otherwise 401, empty body,
  ``WWW-Authenticate: Basic realm="django-scim2"``.
* Users are ``{"schemas","id","userName","name","displayName","active","role",
  "meta"}`` (``ZulipSCIMUser.to_dict``): no ``externalId`` (never read, never
  stored), no ``emails``; ``userName`` is the delivery email; ``id`` is the
  integer UserProfile id; ``meta.created`` = ``lastModified`` = date joined.
  ``name`` is ``{"formatted": full name}``, or ``givenName``/``familyName``
  split on the first space when ``name_formatted_included`` is false
  (``--name-formatted-included false``, Okta's setting).
* ``role`` is single-valued: ``owner``, ``administrator``, ``moderator``,
  ``member``, ``guest`` (``UserProfile.ROLE_ID_TO_API_NAME``); default
  ``member`` on create; another value is a 400 "Invalid role".
* Create (POST): ``userName`` must be a string (else an assertion fails: 500)
  and a valid email (400); a full name is required (400); ``active`` must be
  true (400 "New user must have active=True"); the email is normalized with
  Django's ``normalize_email`` (only the domain is lowercased,
  ``create_user_profile``); a delivery email already used in the realm,
  compared ignoring case, is a 409 ``uniqueness``
  (``validate_email_not_already_in_realm``: ``user_dict.get(email.lower())``),
  also when the account is deactivated.
* PUT: ``userName`` required (500 without it); a changed userName is checked
  for uniqueness ignoring case against every account, the account itself
  included, so changing only its case answers 409; a missing or empty name
  leaves the full name alone; a missing ``active`` leaves it alone; ``active:
  false`` deactivates, ``true`` reactivates; ``role`` changes the role.
* PATCH: only ``replace`` (``handle_replace``) of ``userName``,
  ``name.formatted``, ``active``, ``role``; any other path (``displayName``,
  ``externalId``, ``name.givenName``...) is a 501 "Not Implemented"; ``add`` and
  ``remove`` are 501 (django-scim2's default handlers). A PATCH answers 200
  with the user. This is also how a test renames a user "by themselves".
* DELETE: 400 'DELETE operation not supported. Use PUT or PATCH to modify the
  "active" attribute instead.' (``ZulipSCIMUser.delete``).
* Filters: only ``userName`` (compared ignoring case: ``UPPER(...) =
  UPPER(...)``), ``name.formatted`` and ``active`` are mapped
  (``ZulipUserFilterQuery.attr_map``); a filter on anything else finds nothing
  (200, empty list); results ordered by id. ``POST /Users/.search`` too.
* Pages of 50 by default, ``count`` honoured; ``GET /Users/abc`` is a 500
  (Django cannot look an integer id up by "abc"); an unknown id is a 404.
"""

import itertools
from typing import Any

from . import django_scim as dj
from .core import (
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
    user_schema_with_role,
)

ROLES = ["owner", "administrator", "moderator", "member", "guest"]
ATTR_MAP = {
    ("userName", None, None): "zerver_userprofile.delivery_email",
    ("name", "formatted", None): "zerver_userprofile.full_name",
    ("active", None, None): "zerver_userprofile.is_active",
}


class Zulip:
    name = "zulip"
    base_path = "/scim/v2"

    def __init__(self, auth: AuthConfig, name_formatted_included: bool = True):
        self.auth = auth
        self.name_formatted_included = name_formatted_included
        ids = itertools.count(8)  # a realm already has a few accounts (owner, bots)
        self.backend = Backend(schemas=user_schema_with_role(), id_factory=lambda rt, r: str(next(ids)))

    # -- Routing -------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        path = strip_prefix(request.path, "/scim/v2", "/v2")
        segments = split(path)
        user_view = (segments[:1] == ["Users"] and len(segments) <= 2
                     and segments[1:] != [".search"])
        search_view = segments == ["Users", ".search"]
        unimplemented = (
            segments in ([], [".search"], ["Me"], ["ServiceProviderConfig"], ["Bulk"])
            or (segments[:1] in (["Groups"], ["ResourceTypes"], ["Schemas"]) and len(segments) <= 2)
        )
        if not (user_view or search_view or unimplemented):
            return dj.django_404(request.path)
        if not self.authorized(request):
            return dj.unauthorized()
        if unimplemented:
            return dj.status_501()
        try:
            if search_view:
                if request.method != "POST":
                    return dj.method_not_allowed(["post"])
                return self.search(request)
            if request.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                return dj.method_not_allowed(["get", "post", "put", "patch", "delete"])
            return self.users(request, segments[1] if len(segments) == 2 else None)
        except dj.ScimError as e:
            return e.reply()
        except dj.Crash:
            return dj.crash_reply()

    def authorized(self, request: Request) -> bool:
        header = request.header("Authorization")
        if not self.auth.configured:
            return True
        if header is not None and any(header == f"Bearer {t}" for t in self.auth.bearer_tokens):
            return True
        if self.auth.jwt_secret or self.auth.introspect_url or self.auth.basic:
            extra = AuthConfig(jwt_secret=self.auth.jwt_secret, introspect_url=self.auth.introspect_url,
                               introspect_client=self.auth.introspect_client,
                               required_scope=self.auth.required_scope, basic=self.auth.basic)
            return authenticate(extra, header, case_sensitive_scheme=True).ok
        return False

    # -- The adapter ---------------------------------------------------------

    def all_users(self) -> list[dict[str, Any]]:
        return sorted(self.backend.resources("User"), key=lambda u: int(u["id"]))

    def get_object(self, user_id: str) -> dict[str, Any]:
        try:
            wanted = int(user_id)
        except ValueError as e:
            raise dj.Crash(f"Field 'id' expected a number but got {user_id!r}.") from e
        for user in self.all_users():
            if int(user["id"]) == wanted:
                return user
        raise dj.not_found(user_id)

    def location(self, request: Request, user_id: str) -> str:
        return f"{request.root_url}/scim/v2/Users/{user_id}"

    def to_dict(self, user: dict[str, Any], request: Request) -> dict[str, Any]:
        full_name = user.get("displayName", "")
        if self.name_formatted_included:
            name = {"formatted": full_name}
        else:
            first, _, last = full_name.partition(" ")
            name = {"givenName": first, "familyName": last}
        joined = django_date(user["meta"]["created"])
        return {
            "schemas": [USER_SCHEMA],
            "id": str(user["id"]),
            "userName": user["userName"],
            "name": name,
            "displayName": full_name,
            "active": bool(user.get("active", True)),
            "role": user.get("role", "member"),
            "meta": {"resourceType": "User", "created": joined, "lastModified": joined,
                     "location": self.location(request, user["id"])},
        }

    def full_name_of(self, d: dict[str, Any]) -> str:
        name = d.get("name", {})
        if not isinstance(name, dict):
            raise dj.Crash("'name' is not a dict")
        if self.name_formatted_included:
            return name.get("formatted", "") or ""
        return f"{name.get('givenName', '') or ''} {name.get('familyName', '') or ''}".strip()

    @staticmethod
    def check_role(role: Any) -> str:
        if not isinstance(role, str):
            raise dj.Crash("role is not a string")
        if role not in ROLES:
            raise dj.bad_request(f"Invalid role: {role}. Valid values are: {ROLES}")
        return role

    @staticmethod
    def check_email(email: Any) -> str:
        if not isinstance(email, str):
            raise dj.Crash("assert isinstance(email, str)")
        if not dj.valid_email(email):
            raise dj.bad_request("Invalid email value")
        return email

    def check_email_free(self, email: str) -> None:
        """validate_email_not_already_in_realm: any account with this email, ignoring case, itself included."""
        for user in self.all_users():
            if user["userName"].lower() == email.lower():
                message = (f"{email} already has an account" if user.get("active", True)
                           else "Account has been deactivated.")
                raise dj.ScimError(409, f"Email address already in use: ['{message}']", "uniqueness")

    def from_dict(self, d: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """ZulipSCIMUser.from_dict: the pending changes of a POST or PUT."""
        changes: dict[str, Any] = {}
        email = self.check_email(d.get("userName"))
        if current is None or current["userName"] != email:
            changes["userName"] = email
        full_name = self.full_name_of(d)
        if full_name and (current is None or current.get("displayName") != full_name):
            changes["displayName"] = full_name
        if current is None and not full_name:
            raise dj.bad_request("Must specify name.formatted, name.givenName or name.familyName "
                                 "when creating a new user")
        active = d.get("active")
        if current is None and not active:
            raise dj.bad_request("New user must have active=True")
        if active is not None:
            if not isinstance(active, bool):
                raise dj.Crash("assert isinstance(active, bool)")
            if current is None or bool(current.get("active", True)) != active:
                changes["active"] = active
        role = d.get("role")
        if role:
            role = self.check_role(role)
            if current is None or current.get("role", "member") != role:
                changes["role"] = role
        return changes

    def save(self, changes: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        if "userName" in changes:
            self.check_email_free(changes["userName"])
        if current is None:
            body = {"schemas": [USER_SCHEMA], "userName": dj.normalize_email(changes["userName"]),
                    "displayName": changes["displayName"], "name": {"formatted": changes["displayName"]},
                    "active": True, "role": changes.get("role", "member")}
            status, created, _ = self.backend.call("POST", "/Users", body)
            if status != 201:
                raise dj.Crash(f"could not store the user: {created}")
            return created
        replacement = {k: v for k, v in current.items() if k not in ("id", "meta")}
        replacement.update(changes)
        if "displayName" in changes:
            replacement["name"] = {"formatted": changes["displayName"]}
        status, updated, _ = self.backend.call("PUT", f"/Users/{current['id']}", replacement)
        if status != 200:
            raise dj.Crash(f"could not store the user: {updated}")
        return updated

    @staticmethod
    def validate_dict(d: dict[str, Any]) -> None:
        if "active" in d and not isinstance(d["active"], bool):
            raise dj.bad_request(f'"active" should be of type "bool". Got type "{type(d["active"]).__name__}"')

    # -- Views ---------------------------------------------------------------

    def users(self, request: Request, user_id: str | None) -> Reply:
        if request.method == "GET" and user_id is None:
            query = request.query.get("filter")
            if query:
                return self.search_reply(request, query)
            return dj.list_reply(self.all_users(), *dj.page(request.query), lambda u: self.to_dict(u, request))
        if request.method == "GET":
            user = self.get_object(user_id)
            return self.resource_reply(200, user, request)
        if request.method == "POST":
            body = dj.load_body(request.body)
            if not body:
                raise dj.bad_request("POST call made with empty body")
            if not isinstance(body, dict):
                raise dj.Crash("body is not an object")
            self.validate_dict(body)
            created = self.save(self.from_dict(body, None), None)
            return self.resource_reply(201, created, request)
        if user_id is None:
            raise dj.bad_request('Expected view UsersView to be called with a URL keyword argument named "uuid". '
                                 'Fix your URL conf, or set the `.lookup_field` attribute on the view correctly.')
        user = self.get_object(user_id)
        if request.method == "PUT":
            body = dj.load_body(request.body)
            if not body:
                raise dj.bad_request("PUT call made with empty body")
            if not isinstance(body, dict):
                raise dj.Crash("body is not an object")
            self.validate_dict(body)
            changes = self.from_dict(body, user)
            return self.resource_reply(200, self.save(changes, user) if changes else user, request)
        if request.method == "PATCH":
            return self.resource_reply(200, self.patch(user, dj.load_body(request.body)), request)
        raise dj.bad_request('DELETE operation not supported. Use PUT or PATCH to modify the "active" '
                             'attribute instead.')

    def patch(self, user: dict[str, Any], body: Any) -> dict[str, Any]:
        """handle_operations inside transaction.atomic: every operation or none."""
        current = user
        for op_code, path, value, _ in dj.patch_operations(body, ATTR_MAP):
            if op_code != "replace":
                raise dj.not_implemented()
            pairs = value.items() if isinstance(value, dict) else [(path, value)]
            changes: dict[str, Any] = {}
            for attr_path, val in pairs:
                if isinstance(attr_path, str):
                    raise dj.Crash("'str' object has no attribute 'first_path'")
                first = attr_path.first_path
                if first == ("userName", None, None):
                    email = self.check_email(val)
                    if current["userName"] != email:
                        changes["userName"] = email
                elif first == ("name", "formatted", None):
                    if not isinstance(val, str):
                        raise dj.Crash("assert isinstance(val, str)")
                    if val and current.get("displayName") != val:
                        changes["displayName"] = val
                elif first == ("active", None, None):
                    if not isinstance(val, bool):
                        raise dj.Crash("assert isinstance(val, bool)")
                    if bool(current.get("active", True)) != val:
                        changes["active"] = val
                elif first == ("role", None, None):
                    role = self.check_role(val)
                    if current.get("role", "member") != role:
                        changes["role"] = role
                else:
                    raise dj.not_implemented("Not Implemented")
            current = self.pending(current, changes)
        if current is not user:
            return self.save({k: current[k] for k in ("userName", "displayName", "active", "role")
                              if current.get(k) != user.get(k)}, user)
        return user

    def pending(self, current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """Applies one operation's changes to a working copy, after save()'s checks."""
        if not changes:
            return current
        if "userName" in changes:
            self.check_email_free(changes["userName"])
        updated = dict(current)
        updated.update(changes)
        return updated

    def resource_reply(self, status: int, user: dict[str, Any], request: Request) -> Reply:
        return json_reply(status, self.to_dict(user, request), {"Location": self.location(request, user["id"])})

    def search_reply(self, request: Request, query: str) -> Reply:
        users = self.all_users()
        rows = [{"id": int(u["id"]), "delivery_email": u["userName"], "full_name": u.get("displayName", ""),
                 "is_active": "TRUE" if u.get("active", True) else "FALSE", "_row": u} for u in users]
        columns = {"id": "INTEGER", "delivery_email": "TEXT", "full_name": "TEXT",
                   "is_active": "TEXT COLLATE NOCASE"}
        found = dj.sql_search(query, "zerver_userprofile", ATTR_MAP, columns, rows,
                              extra_sql="ORDER BY zerver_userprofile.id")
        return dj.list_reply(found, *dj.page(request.query), lambda u: self.to_dict(u, request))

    def search(self, request: Request) -> Reply:
        body = dj.load_body(request.body)
        if not isinstance(body, dict):
            raise dj.Crash("body is not an object")
        if body.get("schemas") != ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]:
            raise dj.bad_request("Invalid schema uri. Must be SearchRequest.")
        query = body.get("filter", request.query.get("filter"))
        if not query:
            raise dj.bad_request("No filter query specified")
        reply = self.search_reply(request, query)
        reply.headers["Location"] = f"{request.root_url}/scim/v2/Users/.search"
        return reply
