"""nextcloud: Nextcloud's ``scimserviceprovider`` app 0.0.1 on audriga/scim-server-php 1.0.0.

What it stands for: the SCIM app for Nextcloud 22 to 25 (``appinfo/info.xml``:
version 0.0.1, ``<nextcloud min-version="22" max-version="25"/>``), the
libre.sh/audriga code now at github.com/nextcloud/scimserviceprovider (read
here as the mirror rawtaz/scimserviceprovider, commit 8f9b120 "doc: Correct
installation instructions"), built on github.com/audriga/scim-server-php tag
1.0.0 (commit 18ef960). The real app is mounted at
``/index.php/apps/scimserviceprovider``; with ``auth_type`` ``bearer`` its
Users and Groups are under ``/bearer/``. The stand-in serves the same
resources at the root, under ``/bearer``, and under both prefixes.

Reproduced, with the file each comes from (app = scimserviceprovider,
lib = scim-server-php 1.0.0, nc = nextcloud/server):

* Routes: only GET/POST on ``/Users`` and ``/Groups``, GET/PUT/DELETE on
  ``/Users/{id}`` and ``/Groups/{id}`` (app ``appinfo/routes.php``). Any other
  method, PATCH included, is a 405 from Nextcloud's router with an empty body.
* ``/ServiceProviderConfig`` is the library's JSON file verbatim: filter
  supported (maxResults 200), patch, bulk, sort, etag and changePassword not
  (lib ``config/ServiceProviderConfig/serviceProviderConfig.json``). The three
  discovery endpoints need no authentication (app ``BearerAuthMiddleware``).
* Filtering (lib ``src/Util/Filters/FilterParser.php``, ``FilterUtil.php``): the
  filter is split on its first two spaces into attribute path, operator and
  value, and the value is compared as is, quotes included, so
  ``userName eq "x"`` matches nothing and answers an empty list. A path that
  reaches into a multi-valued or null attribute (``emails.value``,
  ``members.value``, ``meta.location``), an unknown attribute or operator, or an
  operator other than lower-case ``eq ne co sw ew pr gt ge lt le`` throws, which
  Nextcloud answers with 500. A filter that does match (unquoted value) goes
  back through ``CoreUser::fromSCIM``, which indexes the email objects as
  arrays and dies (500) when the matched account has an email.
* No paging: ``startIndex``, ``count``, ``attributes`` are ignored; every list
  has ``startIndex`` 1, ``totalResults`` = all of them, no ``itemsPerPage``
  (app ``lib/Responses/SCIMListResponse.php``, ``UserService::getAll``).
* The resource shape of ``CoreUser::toSCIM`` / ``CoreGroup::toSCIM`` (lib):
  every attribute present, most of them null; ``meta`` null; ``id`` and
  ``userName`` are the Nextcloud uid; an account without email has
  ``"emails": null`` (app ``NextcloudUserAdapter::getCoreUser``); emails are
  ``{"type":null,"primary":true,"display":null,"value":...,"$ref":null}``;
  a group's ``id`` is its gid, which is the displayName it was created with
  (app ``NextcloudGroupDataAccess::create``), its ``externalId`` is null, and a
  group without members has ``"members": null``.
* ``externalId``: stored on POST (app ``NextcloudUserAdapter::getNCUser``,
  user preference ``scimserviceprovider/externalId``) and returned as ``""``
  when unset; PUT never changes it (below).
* POST /Users takes ``active`` (default true), ``displayName``, ``emails``,
  ``externalId``, ``userName`` (app ``UserController::create``). A taken
  userName (compared ignoring case, as Nextcloud's user lookup does), an empty
  one, or one with characters outside ``a-zA-Z0-9 _.@-'`` makes Nextcloud's
  ``Manager::createUser`` throw: 500, not 409 (nc ``lib/private/User/Manager.php``).
* PUT /Users/{id} takes only ``active`` (a required parameter: without it the
  controller call fails, 500), ``displayName`` (ignored when empty) and the
  first email (ignored when empty); ``userName`` and ``externalId`` are ignored
  (app ``UserController::update``). Nothing can be cleared.
* Emails are stored lowercased (nc ``lib/private/AllConfig.php``
  ``setUserValue``: ``settings``/``email`` is ``strtolower``-ed).
* Group PUT only adds members: the adapter adds each listed member to the live
  group, then the data access removes "all current members" and re-adds the
  same set (app ``NextcloudGroupAdapter::getNCGroup``,
  ``NextcloudGroupDataAccess::update``). Members missing from the body stay.
  Unknown member ids are skipped silently. POST /Groups adds members the same
  way. A duplicate displayName answers 409 only when it equals its own
  ``urlencode`` (the existence check uses the url-encoded name,
  ``GroupService::create``); otherwise Nextcloud's ``createGroup`` returns the
  existing group and the POST answers 201 with it.
* DELETE ``/Groups/admin`` answers 403 (``GroupService::destroy``); DELETE of an
  unknown user or group answers 503 (``UserService::destroy``).
* Errors are ``{"schemas":[Error],"detail":...,"scimType":"","status":<int>}``
  (app ``SCIMErrorResponse``); an uncaught exception is Nextcloud's HTML 500
  page.
* Bodies: ``--json-only`` reproduces Nextcloud up to 25, whose request parser
  reads a JSON body only when Content-Type contains ``application/json``
  (the app's README, "Disclaimer", and nextcloud/server PR #34172): a body sent
  as ``application/scim+json`` is then ignored, so POST /Users fails on the
  empty userName (500) and PUT on the missing ``active`` (500). Without the
  flag, any ``application/...+json`` body is read.
* Authentication (app ``BearerAuthMiddleware``, ``BearerAuthenticator``):
  ``Authorization: Bearer <jwt>``, exactly two space-separated parts, the JWT
  HS256-signed with the configured secret, checked by firebase/php-jwt
  (signature, ``exp``, ``nbf``, ``iat``, no leeway), and carrying a ``user``
  claim that names an existing account; failures answer 401 with a SCIM error.
  ``--bearer-token`` accepts a static token instead (not in the real app).
  Basic auth (``--basic USER:PASS``) stands for Nextcloud's own login with an
  app password; a failure answers 401 ``{"message": "Current user is not
  logged in"}``.
* A fresh Nextcloud has an ``admin`` account in the ``admin`` group; the
  stand-in starts with them (``--admin-user`` names the account).

Not reproduced: Nextcloud's other user backends, quotas, group display names
that differ from gids after creation by other means, and the ``meta`` dates
(always null here, as in the app).
"""

import re
import urllib.parse
from typing import Any

from .core import (
    ERROR_SCHEMA,
    GROUP_SCHEMA,
    LIST_SCHEMA,
    USER_SCHEMA,
    AuthConfig,
    Backend,
    Reply,
    Request,
    authenticate,
    json_reply,
    split,
    strip_prefix,
)

APP_PREFIX = "/index.php/apps/scimserviceprovider"
CONTENT_TYPE = "application/scim+json; charset=utf-8"
UID_CHARS = re.compile(r"^[a-zA-Z0-9 _.@\-']+$")
FILTER_OPERATORS = {"eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"}

# scim-server-php 1.0.0, config/ServiceProviderConfig/serviceProviderConfig.json, verbatim.
SERVICE_PROVIDER_CONFIG = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "documentationUri": None,
    "patch": {"supported": False},
    "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
    "filter": {"supported": True, "maxResults": 200},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": False},
    "authenticationSchemes": [
        {
            "name": "HTTP Basic",
            "description": "Authentication scheme using the HTTP Basic Standard",
            "specUri": "http://www.rfc-editor.org/info/rfc2617",
            "documentationUri": None,
            "type": "httpbasic",
        },
        {
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard",
            "specUri": "http://www.rfc-editor.org/info/rfc6750",
            "documentationUri": "http://example.com/help/oauth.html",
            "type": "oauthbearertoken",
            "primary": True,
        },
    ],
    "meta": {
        "location": "https://example.com/v2/ServiceProviderConfig",
        "resourceType": "ServiceProviderConfig",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
        "version": 'W/"3694e05e9dff594"',
    },
}


class Fatal(Exception):
    """An uncaught PHP exception or error: Nextcloud answers its HTML 500 page."""


class PhpObject(dict):
    """A scim-server-php MultiValuedAttribute object inside a ``toSCIM(false)`` array: not an array."""


def error(status: int, detail: str) -> Reply:
    body = {"schemas": [ERROR_SCHEMA], "detail": detail, "scimType": "", "status": status}
    return json_reply(status, body, content_type=CONTENT_TYPE)


def fatal_page(message: str) -> Reply:
    page = (
        "<!DOCTYPE html>\n<html><head><title>Nextcloud</title></head><body>\n"
        "<h2>Internal Server Error</h2>\n"
        "<p>The server was unable to complete your request.</p>\n"
        f"<!-- {message} -->\n</body></html>\n"
    )
    return Reply(500, page, content_type="text/html; charset=UTF-8")


def php_string(value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise Fatal("TypeError: strcmp(): Argument #1 ($string1) must be of type string, array given")


def php_truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)


def controller_bool(value: Any) -> bool:
    # Nextcloud casts a "bool" controller parameter: 'false' is false, else settype($v, 'bool').
    if value == "false":
        return False
    return php_truthy(value)


def php_urlencode(value: str) -> str:
    return urllib.parse.quote_plus(value, safe="").replace("~", "%7E")


def run_filter(expression: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """scim-server-php 1.0.0 FilterParser::parseFilterExpression + FilterUtil::performFiltering."""
    attribute, space, rest = expression.partition(" ")
    if not space or not rest:
        raise Fatal("FilterException: Incorrectly formatted AttributeExpression")
    if rest == "pr":
        operator, value = "pr", None
    else:
        operator, space, value = rest.partition(" ")
        if not space:
            value = None  # PHP: undefined array key, so null
    if operator not in FILTER_OPERATORS:
        raise Fatal("FilterException: Unknown comparison operator found")
    if operator == "pr" and value:
        raise Fatal('FilterException: "pr" filter operator must be used without a comparison value')
    if not items:
        return []
    path = attribute.split(".")
    found = []
    for item in items:
        current: Any = item
        for part in path:
            if isinstance(current, dict) and not isinstance(current, PhpObject) and part in current:
                current = current[part]
            else:
                raise Fatal(f"FilterException: Attribute {part} to filter by is undefined")
        if compare(operator, current, value):
            found.append(item)
    return found


def compare(operator: str, attribute: Any, value: str | None) -> bool:
    if operator == "pr":
        return php_truthy(attribute) if not isinstance(attribute, (list, dict)) else bool(attribute)
    left, right = php_string(attribute), php_string(value)
    if operator == "eq":
        return left == right
    if operator == "ne":
        return left != right
    if operator == "co":
        return right in left
    if operator == "sw":
        return left.startswith(right)
    if operator == "ew":
        return left.endswith(right) if right else left == ""
    if not isinstance(attribute, str) or not isinstance(value, str):
        raise Fatal(f'FilterException: "{operator}" filter operator requires the same types')
    order = (left.lower() > right.lower()) - (left.lower() < right.lower())
    return {"gt": order > 0, "ge": order >= 0, "lt": order < 0, "le": order <= 0}[operator]


class Nextcloud:
    name = "nextcloud"
    base_path = "/index.php/apps/scimserviceprovider"

    def __init__(self, auth: AuthConfig, json_only: bool = False, admin_user: str = "admin"):
        self.auth = auth
        self.json_only = json_only
        # Nextcloud's uid is the SCIM id of a user, the gid (= first displayName) the id of a group.
        self.backend = Backend(id_factory=lambda rt, r: r.user_name if rt.name == "User" else r.display_name)
        self.backend.call("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": admin_user, "active": True})
        self.backend.call("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "admin",
                                              "members": [{"value": admin_user}]})

    # -- Routing ---------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        path = strip_prefix(request.path, APP_PREFIX)
        path = strip_prefix(path, "/bearer")
        segments = split(path)
        if len(segments) == 1 and segments[0] in ("ServiceProviderConfig", "ResourceTypes", "Schemas"):
            if request.method != "GET":
                return Reply(405, None, content_type="text/html; charset=UTF-8")
            return self.discovery(segments[0])
        if not segments or segments[0] not in ("Users", "Groups") or len(segments) > 2:
            return Reply(404, "<!DOCTYPE html><html><body><h2>Page not found</h2></body></html>",
                         content_type="text/html; charset=UTF-8")
        allowed = {"GET", "POST"} if len(segments) == 1 else {"GET", "PUT", "DELETE"}
        if request.method not in allowed:
            return Reply(405, None, content_type="text/html; charset=UTF-8")
        denied = self.check_auth(request)
        if denied is not None:
            return denied
        params = self.params(request)
        try:
            if segments[0] == "Users":
                return self.users(request, segments[1] if len(segments) == 2 else None, params)
            return self.groups(request, segments[1] if len(segments) == 2 else None, params)
        except Fatal as e:
            return fatal_page(str(e))

    def discovery(self, name: str) -> Reply:
        if name == "ServiceProviderConfig":
            return json_reply(200, SERVICE_PROVIDER_CONFIG, content_type=CONTENT_TYPE)
        _, body, _ = self.backend.call("GET", f"/{name}")
        resources = body.get("Resources", [])
        return json_reply(200, {"schemas": [LIST_SCHEMA], "startIndex": 1, "Resources": resources,
                                "totalResults": len(resources)}, content_type=CONTENT_TYPE)

    def check_auth(self, request: Request) -> Reply | None:
        header = request.header("Authorization")
        if self.auth.basic and (header or "").startswith("Basic "):
            result = authenticate(self.auth, header, case_sensitive_scheme=True)
            if not result.ok:
                return json_reply(401, {"message": "Current user is not logged in"},
                                  content_type="application/json; charset=utf-8")
            return None
        if not self.auth.configured:
            return None
        if not header:
            return error(401, "No Authorization header supplied")
        parts = header.split(" ")
        if len(parts) != 2 or parts[0] != "Bearer":
            return error(401, "Incorrect Bearer token format")
        result = authenticate(self.auth, header, case_sensitive_scheme=True)
        if not result.ok:
            return error(401, "Bearer token is invalid")
        if result.scheme == "jwt":
            user = (result.subject or {}).get("user")
            if not user or self.find_user(str(user)) is None:
                return error(401, "Bearer token is invalid")
        return None

    def params(self, request: Request) -> dict[str, Any]:
        """Nextcloud's request parameters: the query string, plus the JSON body when it reads it."""
        params: dict[str, Any] = dict(request.query)
        content_type = request.content_type.lower()
        if self.json_only:
            readable = "application/json" in content_type
        else:
            readable = re.match(r"^application/(?:[\w!#$&\-^_.+]+\+)?json", content_type) is not None
        if readable and request.body.strip():
            try:
                body = request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                params.update(body)
        return params

    # -- Users -------------------------------------------------------------

    def all_users(self) -> list[dict[str, Any]]:
        return sorted(self.backend.resources("User"), key=lambda u: u["userName"].lower())

    def find_user(self, uid: str) -> dict[str, Any] | None:
        # Nextcloud's database user backend looks uids up ignoring case (users.uid_lower).
        return next((u for u in self.all_users() if u["userName"].lower() == uid.lower()), None)

    def user_json(self, user: dict[str, Any], emails_as_objects: bool = False) -> dict[str, Any]:
        uid = user["userName"]
        display = user.get("displayName") or uid
        email = next((e.get("value") for e in user.get("emails") or [] if e.get("value")), None)
        email_entry = {"type": None, "primary": True, "display": None, "value": email, "$ref": None}
        return {
            "schemas": [USER_SCHEMA],
            "id": uid,
            "externalId": user.get("externalId", ""),
            "meta": None,
            "userName": uid,
            "name": {"formatted": display, "familyName": None, "givenName": None, "middleName": None,
                     "honorificPrefix": None, "honorificSuffix": None},
            "displayName": display,
            "nickName": None,
            "profileUrl": None,
            "title": None,
            "userType": None,
            "preferredLanguage": None,
            "locale": None,
            "timezone": None,
            "active": bool(user.get("active", True)),
            "password": None,
            "emails": ([PhpObject(email_entry) if emails_as_objects else email_entry] if email else None),
            "phoneNumbers": None,
            "ims": None,
            "photos": None,
            "addresses": None,
            "groups": None,
            "entitlements": None,
            "roles": None,
            "x509Certificates": None,
        }

    def refiltered_user(self, user: dict[str, Any], request: Request) -> dict[str, Any]:
        """A matched user after CoreUser::fromSCIM then toSCIM(false, $baseUrl) (UserRepository::getAll)."""
        if user["emails"] is not None:
            raise Fatal("Error: Cannot use object of type MultiValuedAttribute as array")
        again = dict(user)
        host = urllib.parse.urlsplit(request.root_url)
        # Util::SCIM_APP_URL_PATH has no leading slash: the app builds "http://hostindex.php/...".
        base = f"{host.scheme}://{host.netloc}index.php/apps/scimserviceprovider"
        again["meta"] = {"resourceType": None, "created": None,
                         "location": f"{base}/Users/{user['id']}", "version": None}
        again["emails"] = []
        return again

    @staticmethod
    def first_email(emails: Any) -> str | None:
        if emails is None or emails == "":
            return None
        if not isinstance(emails, list):
            raise Fatal("TypeError: emails is not an array of emails")
        if not emails:
            return None
        first = emails[0]
        if not isinstance(first, dict):
            raise Fatal("TypeError: Cannot access offset on a scalar")
        value = first.get("value")
        return str(value) if php_truthy(value) else None

    def users(self, request: Request, uid: str | None, params: dict[str, Any]) -> Reply:
        if uid is None and request.method == "GET":
            listed = [self.user_json(u, emails_as_objects=True) for u in self.all_users()]
            expression = params.get("filter") or ""
            if expression:
                listed = [self.refiltered_user(u, request) for u in run_filter(str(expression), listed)]
            return self.list_reply([self.plain(u) for u in listed])
        if uid is None:
            return self.create_user(params)
        user = self.find_user(uid)
        if request.method == "GET":
            if user is None:
                return error(404, "User not found")
            return json_reply(200, self.user_json(user), content_type=CONTENT_TYPE)
        if request.method == "PUT":
            if params.get("active") is None:
                raise Fatal("TypeError: UserController::update(): Argument #2 ($active) must be of type bool, null given")
            if user is None:
                return error(404, "User not found")
            return self.update_user(user, params)
        if user is None:
            return error(503, "Couldn't delete user")
        self.backend.call("DELETE", f"/Users/{user['id']}")
        for group in self.backend.resources("Group"):
            members = [m for m in group.get("members") or [] if m.get("value") != user["id"]]
            if len(members) != len(group.get("members") or []):
                self.store_group(group, members=members)
        return Reply(204, None, content_type=None)

    @staticmethod
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: Nextcloud.plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [Nextcloud.plain(v) for v in value]
        return value

    @staticmethod
    def list_reply(resources: list[dict[str, Any]]) -> Reply:
        body = {"schemas": [LIST_SCHEMA], "startIndex": 1, "Resources": resources,
                "totalResults": len(resources)}
        return json_reply(200, body, content_type=CONTENT_TYPE)

    def create_user(self, params: dict[str, Any]) -> Reply:
        uid = params.get("userName") or ""
        uid = php_string(uid)
        if uid.strip() == "":
            raise Fatal("Exception: A valid username must be provided")
        if not UID_CHARS.match(uid):
            raise Fatal('Exception: Only the following characters are allowed in a username: "a-z", '
                        '"A-Z", "0-9", spaces and "_.@-\'"')
        if uid != uid.strip():
            raise Fatal("Exception: Username contains whitespace at the beginning or at the end")
        if self.find_user(uid) is not None:
            raise Fatal("Exception: The username is already being used")
        body: dict[str, Any] = {"schemas": [USER_SCHEMA], "userName": uid,
                                "active": controller_bool(params.get("active", True))}
        display = php_string(params.get("displayName") or "").strip()
        if display:
            body["displayName"] = display
        email = self.first_email(params.get("emails"))
        if email:
            body["emails"] = [{"value": email.lower(), "primary": True}]
        external_id = php_string(params.get("externalId") or "")
        if external_id:
            body["externalId"] = external_id
        status, created, _ = self.backend.call("POST", "/Users", body)
        if status != 201:
            raise Fatal(f"Exception: could not store the user: {created}")
        return json_reply(201, self.user_json(created), content_type=CONTENT_TYPE)

    def update_user(self, user: dict[str, Any], params: dict[str, Any]) -> Reply:
        replacement = {k: v for k, v in user.items() if k not in ("id", "meta")}
        replacement["active"] = controller_bool(params["active"])
        display = php_string(params.get("displayName") or "").strip()
        if display:
            replacement["displayName"] = display
        email = self.first_email(params.get("emails"))
        if email:
            replacement["emails"] = [{"value": email.lower(), "primary": True}]
        status, updated, _ = self.backend.call("PUT", f"/Users/{user['id']}", replacement)
        if status != 200:
            raise Fatal(f"Exception: could not update the user: {updated}")
        return json_reply(200, self.user_json(updated), content_type=CONTENT_TYPE)

    # -- Groups ------------------------------------------------------------

    def all_groups(self) -> list[dict[str, Any]]:
        return sorted(self.backend.resources("Group"), key=lambda g: g["id"])

    def find_group(self, gid: str) -> dict[str, Any] | None:
        return next((g for g in self.all_groups() if g["id"] == gid), None)

    def group_json(self, group: dict[str, Any], request: Request, as_objects: bool = False) -> dict[str, Any]:
        host = urllib.parse.urlsplit(request.root_url)
        base = f"{host.scheme}://{host.netloc}{APP_PREFIX}"
        members = []
        users = {u["id"]: u for u in self.backend.resources("User")}
        for member in sorted(group.get("members") or [], key=lambda m: m.get("value", "").lower()):
            user = users.get(member.get("value"))
            if user is None:
                continue
            entry = {"type": None, "primary": None, "display": user.get("displayName") or user["userName"],
                     "value": user["id"], "$ref": f"{base}/Users/{user['id']}"}
            members.append(PhpObject(entry) if as_objects else entry)
        return {
            "schemas": [GROUP_SCHEMA],
            "id": group["id"],
            "externalId": None,
            "meta": None,
            "displayName": group.get("displayName") or group["id"],
            "members": members or None,
        }

    def store_group(self, group: dict[str, Any], members: list[dict[str, Any]] | None = None,
                    display_name: str | None = None) -> dict[str, Any]:
        replacement = {k: v for k, v in group.items() if k not in ("id", "meta")}
        if members is not None:
            replacement["members"] = [{"value": m["value"]} for m in members]
            if not replacement["members"]:
                replacement.pop("members")
        if display_name:
            replacement["displayName"] = display_name
        status, stored, _ = self.backend.call("PUT", f"/Groups/{group['id']}", replacement)
        if status != 200:
            raise Fatal(f"Exception: could not store the group: {stored}")
        return stored

    def added_members(self, group: dict[str, Any] | None, listed: Any) -> list[dict[str, Any]]:
        """NextcloudGroupAdapter::getNCGroup: adds every listed member that exists; keeps the others."""
        current = [{"value": m["value"]} for m in (group or {}).get("members") or []]
        if listed is None or listed == "":
            return current
        if not isinstance(listed, list):
            raise Fatal("TypeError: members is not an array")
        for member in listed:
            if not isinstance(member, dict):
                raise Fatal("TypeError: Cannot access offset on a scalar")
            value = member.get("value")
            if not php_truthy(value):
                continue
            user = self.find_user(php_string(value))
            if user is not None and all(m["value"] != user["id"] for m in current):
                current.append({"value": user["id"]})
        return current

    def groups(self, request: Request, gid: str | None, params: dict[str, Any]) -> Reply:
        if gid is None and request.method == "GET":
            listed = [self.group_json(g, request, as_objects=True) for g in self.all_groups()]
            expression = params.get("filter") or ""
            if expression:
                matched = run_filter(str(expression), listed)
                for group in matched:
                    if group["members"] is not None:
                        raise Fatal("Error: Cannot use object of type MultiValuedAttribute as array")
                listed = matched
            return self.list_reply([self.plain(g) for g in listed])
        if gid is None:
            display = php_string(params.get("displayName") or "")
            checked = php_urlencode(display)
            if not checked:
                return error(400, "Invalid group name")
            if self.find_group(checked) is not None:
                return error(409, "Group exists")
            group = self.find_group(display)
            if group is None:
                status, group, _ = self.backend.call("POST", "/Groups", {"schemas": [GROUP_SCHEMA],
                                                                          "displayName": display})
                if status != 201:
                    raise Fatal(f"Exception: could not create the group: {group}")
            members = self.added_members(group, params.get("members"))
            group = self.store_group(group, members=members)
            return json_reply(201, self.group_json(group, request), content_type=CONTENT_TYPE)
        group = self.find_group(gid)
        if request.method == "GET":
            if group is None:
                return error(404, "Group not found")
            return json_reply(200, self.group_json(group, request), content_type=CONTENT_TYPE)
        if request.method == "PUT":
            if group is None:
                return error(404, "Group not found")
            display = php_string(params.get("displayName") or "").strip()
            members = self.added_members(group, params.get("members"))
            group = self.store_group(group, members=members, display_name=display or None)
            return json_reply(200, self.group_json(group, request), content_type=CONTENT_TYPE)
        if gid == "admin":
            return error(403, "Can't delete admin group")
        if group is None:
            return error(503, "Couldn't delete group")
        self.backend.call("DELETE", f"/Groups/{group['id']}")
        return Reply(204, None, content_type=None)
