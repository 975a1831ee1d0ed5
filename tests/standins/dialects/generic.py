"""generic: plain scim2-server 0.8.3, plus switches that take away what some servers lack.

Without switches it behaves as ``scim2-server`` itself: same routes (with and
without ``/v2``), same bearer-token check and 401, same answers (it forwards
every request to scim2-server's own WSGI application). ``--schema``,
``--resource-type`` and ``--service-provider-config`` are scim2-server's
options; ``--schema schemas/user-with-role.json`` gives a User schema with a
single-valued ``role`` attribute (the "role by attribute" case).

Switches, each reproducing a behaviour seen in a real server:

* ``--group-put-ignores-members``: a group PUT answers 200 but keeps the
  members the group had (django-scim2's ``SCIMGroup.from_dict`` reads no
  ``members``).
* ``--member-removal {filter-path,value-list,both,none}``: which PATCH forms
  remove a member; the refused forms answer 501 (django-scim2's
  ``NotImplementedError``). ``value-list`` is
  ``{"op":"remove","path":"members","value":[{"value":"ID"}]}`` (django-scim2's
  only form, also Azure's), ``filter-path`` is
  ``{"op":"remove","path":"members[value eq \\"ID\\"]"}`` (RFC 7644 §3.5.2.2,
  scim2-server's only form). Without the switch, scim2-server's own answers
  stand: the filter path works, a value list is a 400 ``invalidValue``.
* ``--no-external-id``: ``externalId`` is dropped from what the server stores
  and from every answer (Zulip: ``ZulipSCIMUser.to_dict`` has none;
  Nextcloud before externalId support).
* ``--lowercase-username``: ``userName`` is stored lowercased on POST, PUT
  and PATCH (a server that normalizes login names).
* ``--spc-500``: ``GET /ServiceProviderConfig`` always answers 500 with an HTML
  error page, while ``/Users`` and ``/Groups`` work (audriga/scim-server-php
  1.0.0, the library under Nextcloud's SCIM app: its
  ``ListServiceProviderConfigurationsAction`` over
  ``Util::getServiceProviderConfig`` fails on every request, as issue 23 found
  running it standalone).

Membership variants of the tests:

* (a) only the value-list removal: ``--member-removal value-list --group-put-ignores-members``
* (b) PUT ignores members, filter-path removal works:
  ``--member-removal filter-path --group-put-ignores-members``
* (c) no way to remove a member: ``--member-removal none --group-put-ignores-members``
* (d) never returns externalId, lowercases userName: ``--no-external-id --lowercase-username``
"""

import copy
import json
import re
from typing import Any

from scim2_models import InvalidFilterException, NotImplementedException, SCIMException, UnauthorizedException
from scim2_server.applications.base import BaseApplication
from scim2_server.requests import ScimRequest
from scim2_server.routing import Operation
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME

from .core import (
    AuthConfig,
    Backend,
    Reply,
    Request,
    authenticate,
    load_config,
    load_resource_types,
    load_schemas,
)


class Generic:
    name = "generic"
    base_path = "/v2"

    def __init__(self, auth: AuthConfig, schema: str | None = None, resource_type: str | None = None,
                 service_provider_config: str | None = None, group_put_ignores_members: bool = False,
                 member_removal: str | None = None, no_external_id: bool = False,
                 lowercase_username: bool = False, single_comparison_filters: bool = False,
                 spc_500: bool = False):
        self.auth = auth
        config = load_config(service_provider_config)
        if auth.configured:
            # As the scim2-server command does with --bearer-token: announce the scheme, so
            # that a 401 carries a WWW-Authenticate challenge.
            config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
        self.backend = Backend(load_schemas(schema), load_resource_types(resource_type), config)
        self.group_put_ignores_members = group_put_ignores_members
        self.member_removal = member_removal
        self.no_external_id = no_external_id
        self.lowercase_username = lowercase_username
        self.single_comparison_filters = single_comparison_filters
        self.spc_500 = spc_500

    def handle(self, request: Request) -> Reply:
        path = BaseApplication.split_path(request.path)
        base_url = request.root_url + "/v2"
        # As scim2-server's dispatch_request: a path or method it does not serve is answered
        # (404/405) before authentication, and /ServiceProviderConfig needs none (RFC 7643 §5).
        try:
            operation = self.backend.service.match(ScimRequest(request.method, base_url, path)).operation
        except SCIMException:
            operation = None
        if (operation is not None and operation is not Operation.service_provider_config
                and not authenticate(self.auth, request.header("Authorization")).ok):
            return self.error(UnauthorizedException())
        segments = path.strip("/").split("/") if path.strip("/") else []
        if self.spc_500 and segments[-1:] == ["ServiceProviderConfig"]:
            # Slim's default error page, as scim-server-php sends it (no SCIM error body).
            return Reply(500, SLIM_ERROR_PAGE, content_type="text/html; charset=UTF-8")
        query_filter = request.query.get("filter", "")
        if self.single_comparison_filters and re.search(r"\s(or|and)\s", query_filter, re.IGNORECASE):
            return self.error(InvalidFilterException(detail="only one comparison per filter is supported"))
        body: Any = ...
        if request.body.strip() and request.method in ("POST", "PUT", "PATCH"):
            try:
                parsed = request.json()
            except ValueError:
                parsed = None  # let scim2-server answer the syntax error
            if isinstance(parsed, dict):
                rewritten = self.rewrite(request.method, segments, copy.deepcopy(parsed))
                if isinstance(rewritten, Reply):
                    return rewritten
                if rewritten != parsed:
                    body = json.dumps(rewritten).encode()
        reply = self.backend.forward(request, path, base_url, body=body)
        if self.no_external_id:
            reply.body = strip_external_id(reply.body)
        return reply

    def error(self, exception: Exception) -> Reply:
        response = self.backend.service.error_response(exception)
        return Reply(response.status.value, response.body, dict(response.headers))

    def rewrite(self, method: str, segments: list[str], body: dict[str, Any]) -> Any:
        kind = segments[0] if segments else ""
        if kind == "Users":
            if method in ("POST", "PUT"):
                if self.no_external_id:
                    body.pop("externalId", None)
                if self.lowercase_username and isinstance(body.get("userName"), str):
                    body["userName"] = body["userName"].lower()
            elif method == "PATCH":
                body["Operations"] = [op for op in (self.rewrite_user_op(o) for o in body.get("Operations") or [])
                                      if op is not None]
            return body
        if kind == "Groups" and len(segments) == 2:
            if method == "PUT" and self.group_put_ignores_members:
                status, current, _ = self.backend.call("GET", f"/Groups/{segments[1]}")
                if status == 200:
                    if current.get("members"):
                        body["members"] = [{"value": m["value"]} for m in current["members"]]
                    else:
                        body.pop("members", None)
            elif method == "PATCH" and self.member_removal is not None:
                operations = []
                for op in body.get("Operations") or []:
                    rewritten = self.rewrite_group_op(op)
                    if isinstance(rewritten, Reply):
                        return rewritten
                    operations.extend(rewritten)
                body["Operations"] = operations
            if self.no_external_id:
                body.pop("externalId", None)
        elif kind == "Groups" and method == "POST" and self.no_external_id:
            body.pop("externalId", None)
        return body

    def rewrite_user_op(self, op: Any) -> Any:
        if not isinstance(op, dict):
            return op
        path = op.get("path")
        value = op.get("value")
        if isinstance(path, str):
            attribute = path.rsplit(":", 1)[-1]
            if self.no_external_id and attribute == "externalId":
                return None
            if self.lowercase_username and attribute == "userName" and isinstance(value, str):
                return {**op, "value": value.lower()}
            return op
        if isinstance(value, dict):
            value = dict(value)
            if self.no_external_id:
                value.pop("externalId", None)
            if self.lowercase_username and isinstance(value.get("userName"), str):
                value["userName"] = value["userName"].lower()
            if not value:
                return None
            return {**op, "value": value}
        return op

    def rewrite_group_op(self, op: Any) -> Any:
        """Sorts a group PATCH operation into the member-removal forms, and refuses the forms switched off."""
        if not isinstance(op, dict) or str(op.get("op", "")).lower() != "remove":
            return [op]
        path = op.get("path")
        if not isinstance(path, str):
            return [op]
        stripped = path.replace(" ", "")
        if stripped.startswith("members["):
            if self.member_removal in ("filter-path", "both"):
                return [op]
            return self.error(NotImplementedException(detail="Removing a member by a filter path is not supported"))
        if stripped == "members" and op.get("value") is not None:
            if self.member_removal not in ("value-list", "both"):
                return self.error(NotImplementedException(detail="Removing members by a value list is not supported"))
            values = op.get("value")
            if not isinstance(values, list):
                values = [values]
            return [{"op": "remove", "path": f'members[value eq {json.dumps(str(v.get("value")))}]'}
                    for v in values if isinstance(v, dict)]
        return [op]


SLIM_ERROR_PAGE = ("<!doctype html><html><head><title>Slim Application Error</title></head>"
                   "<body><h1>Slim Application Error</h1><p>A website error has occurred. "
                   "Sorry for the temporary inconvenience.</p></body></html>")


def strip_external_id(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: strip_external_id(v) for k, v in body.items() if k != "externalId"}
    if isinstance(body, list):
        return [strip_external_id(v) for v in body]
    return body

