#!/usr/bin/env python3
"""Stand-ins for real apps' SCIM dialects, built on scim2-server 0.8.3, started like scim2-server.

    dialect_server.py --dialect DIALECT --hostname 127.0.0.1 --port P [--bearer-token T] [options]

Dialects (each module's docstring says what it reproduces and from which source):

* ``nextcloud``      Nextcloud's scimserviceprovider app 0.0.1 on audriga/scim-server-php 1.0.0
* ``zulip``          Zulip's SCIM (django-scim2 with Zulip's adapter, no group sync)
* ``django-groups``  django-scim2 0.23.0 with its default user and group adapters
* ``generic``        scim2-server itself, with switches for the membership variants,
                     externalId-less servers and lower-cased userNames

Authentication (any dialect, any combination; none at all accepts everything):
``--bearer-token T`` (repeatable), ``--basic USER:PASS``, ``--jwt-secret S``
(HS256 JWTs, as Nextcloud's app), ``--oauth2-introspect URL`` with
``--oauth2-client ID:SECRET`` (tokens of an OAuth2 server such as
oauth2_server.py, checked by RFC 7662 introspection).

``--rate-limit N/SECONDS`` (any dialect): at most N requests in any SECONDS, beyond
that 429 with ``X-Retry-After`` and an HTML body (see ``dialects.core.RateLimit``);
requests with an ``X-Standin-Harness`` header (the test harness) are not limited.

``--delay SECONDS`` (any dialect): every answer comes this much later (an app that
answers slowly); the harness's requests and the ready probe are not delayed.

``--mint-jwt USER`` prints a JWT for the nextcloud dialect (signed with
``--jwt-secret``, ``{"user": USER}``, expiring after ``--jwt-ttl`` seconds,
negative for an already expired one) and exits.

Every dialect answers ``GET /__standin__/ready`` with 200 and no
authentication, and prints ``Serving SCIM on http://HOST:PORT/PATH (dialect
NAME)`` once it listens, PATH being where the real app serves SCIM (the
dialects also answer at the root).
"""

import argparse
import sys

from dialects.core import AuthConfig, Front, RateLimit, mint_jwt, serve


def pair(value: str) -> tuple[str, str]:
    left, sep, right = value.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError("expected NAME:SECRET")
    return left, right


def boolean(value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("expected true or false")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dialect_server.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dialect", required=True, choices=["nextcloud", "zulip", "django-groups", "generic"])
    parser.add_argument("--hostname", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rate-limit", type=RateLimit.parse, metavar="N/SECONDS",
                        help="At most N requests in any SECONDS; beyond that 429 with X-Retry-After.")
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS",
                        help="Answer every request this much later (the harness's are not delayed).")
    auth = parser.add_argument_group("authentication")
    auth.add_argument("--bearer-token", action="append", default=[], metavar="TOKEN")
    auth.add_argument("--basic", type=pair, metavar="USER:PASS")
    auth.add_argument("--jwt-secret", metavar="SECRET", help="Accept HS256 JWTs signed with this secret.")
    auth.add_argument("--oauth2-introspect", metavar="URL",
                      help="Accept the bearer tokens this RFC 7662 introspection endpoint says are active.")
    auth.add_argument("--oauth2-client", type=pair, metavar="ID:SECRET",
                      help="The client the stand-in authenticates as at the introspection endpoint.")
    auth.add_argument("--oauth2-scope", metavar="SCOPE", help="A scope the token must carry.")
    auth.add_argument("--mint-jwt", metavar="USER", help="Print a JWT for this user and exit.")
    auth.add_argument("--jwt-ttl", type=int, default=3600, metavar="SECONDS")
    nextcloud = parser.add_argument_group("nextcloud")
    nextcloud.add_argument("--json-only", action="store_true",
                           help="Read a body only when its Content-Type contains application/json "
                                "(Nextcloud up to 25).")
    nextcloud.add_argument("--admin-user", default=None,
                           help="The account Nextcloud was installed with (default: admin, or the --basic user).")
    zulip = parser.add_argument_group("zulip")
    zulip.add_argument("--name-formatted-included", type=boolean, default=True, metavar="true|false",
                       help="SCIM_CONFIG's name_formatted_included (false: givenName/familyName, as for Okta).")
    generic = parser.add_argument_group("generic")
    generic.add_argument("--schema", metavar="FILE", help="scim2-server's --schema.")
    generic.add_argument("--resource-type", metavar="FILE", help="scim2-server's --resource-type.")
    generic.add_argument("--service-provider-config", metavar="FILE",
                         help="scim2-server's --service-provider-config.")
    generic.add_argument("--group-put-ignores-members", action="store_true")
    generic.add_argument("--member-removal", choices=["filter-path", "value-list", "both", "none"])
    generic.add_argument("--no-external-id", action="store_true")
    generic.add_argument("--lowercase-username", action="store_true")
    generic.add_argument("--single-comparison-filters", action="store_true",
                         help="Answer 400 invalidFilter to a filter joining comparisons with or/and, as SCIM "
                              "libraries with a one-comparison filter parser do.")
    generic.add_argument("--spc-500", action="store_true",
                         help="Answer 500 to GET /ServiceProviderConfig, as audriga/scim-server-php 1.0.0 does.")
    return parser


def build_dialect(args: argparse.Namespace):
    auth = AuthConfig(
        bearer_tokens=list(args.bearer_token),
        basic=args.basic,
        jwt_secret=args.jwt_secret,
        introspect_url=args.oauth2_introspect,
        introspect_client=args.oauth2_client,
        required_scope=args.oauth2_scope,
    )
    if args.dialect == "nextcloud":
        from dialects.nextcloud import Nextcloud

        admin = args.admin_user or (args.basic[0] if args.basic else "admin")
        return Nextcloud(auth, json_only=args.json_only, admin_user=admin)
    if args.dialect == "zulip":
        from dialects.zulip import Zulip

        return Zulip(auth, name_formatted_included=args.name_formatted_included)
    if args.dialect == "django-groups":
        from dialects.django_groups import DjangoGroups

        return DjangoGroups(auth)
    from dialects.generic import Generic

    return Generic(
        auth,
        schema=args.schema,
        resource_type=args.resource_type,
        service_provider_config=args.service_provider_config,
        group_put_ignores_members=args.group_put_ignores_members,
        member_removal=args.member_removal,
        no_external_id=args.no_external_id,
        lowercase_username=args.lowercase_username,
        single_comparison_filters=args.single_comparison_filters,
        spc_500=args.spc_500,
    )


def main() -> None:
    args = build_parser().parse_args()
    if args.mint_jwt is not None:
        if not args.jwt_secret:
            sys.exit("--mint-jwt needs --jwt-secret")
        print(mint_jwt(args.jwt_secret, {"user": args.mint_jwt}, args.jwt_ttl))
        return
    if args.oauth2_introspect and not args.oauth2_client:
        sys.exit("--oauth2-introspect needs --oauth2-client ID:SECRET")
    dialect = build_dialect(args)
    serve(Front(dialect, args.rate_limit, args.delay), args.hostname, args.port, banner=f"dialect {dialect.name}",
          base_path=dialect.base_path)


if __name__ == "__main__":
    main()
