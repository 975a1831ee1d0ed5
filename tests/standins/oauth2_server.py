#!/usr/bin/env python3
"""A real OAuth2 authorization server for tests: Canaille, started the way pytest-iam starts it.

pytest-iam 0.3.0 (PyPI, ``pytest_iam/__init__.py``) builds its ``iam_server``
fixture like this: ``canaille.create_app(config=...)`` with an in-memory
database, ``TESTING``, ``SERVER_NAME=localhost:PORT``, a generated RSA key in
``CANAILLE_OIDC.ACTIVE_JWKS`` and ``AUTHLIB_INSECURE_TRANSPORT=1`` (plain
http), then wraps the Flask app in ``pytest_iam.Server`` (a ``wsgiref`` server
bound to ``localhost``) and serves it from a thread. This script does exactly
that, from the command line, without pytest running: it reuses
``pytest_iam.Server`` and the same configuration keys, then registers the
clients the tests need and serves until killed. One change: each connection is
served in a thread of its own (``threaded``), so an idle connection a browser
left open does not hold up the next request.

Clients registered (Canaille ``models.Client``):

* the provisioning client (``--client-id``/``--client-secret``): grant type
  ``client_credentials`` at ``POST /oauth/token``, authenticated the way
  ``--token-endpoint-auth-method`` says (``client_secret_basic`` by default);
* the resource-server client (``--introspection-client-id``/
  ``--introspection-client-secret``): the SCIM stand-in uses it to call
  ``POST /oauth/introspect`` (RFC 7662). Canaille only answers an
  introspection for a client listed in the token's audience
  (``canaille/oidc/provider.py``, ``IntrospectionEndpoint.check_permission``),
  so the provisioning client's audience lists both clients.

* the sign-in client (``--oidc-client-id``/``--oidc-client-secret``), when given:
  a confidential OpenID Connect client for the authorization code grant (Canaille
  requires PKCE, ``CodeChallenge(required=True)``), ``client_secret_basic``, scopes
  ``openid email profile``, its ``--redirect-uri`` and ``--post-logout-redirect-uri``.
  Its ``client_uri`` is on ``127.0.0.1``, one of Canaille's default
  ``TRUSTED_DOMAINS``, so no consent page is shown (``Client.trusted``).

People (``--user NAME:EMAIL:PASSWORD:FLAG``, repeatable) sign in at ``/login``
(field ``login``) then ``/auth/password`` (field ``password``); CSRF is off
(``WTF_CSRF_ENABLED``), so a test drives the forms over HTTP with a cookie jar, or
a browser does.

What this script adds to Canaille, and why: Canaille 0.3.6 never sends
``email_verified`` (its ``USERINFO_MAPPING`` has no key for it), so a dashboard
that requires it would refuse everyone. To test both answers a provider can give,
this script adds the claim where ``canaille.oidc.provider`` builds the claims (ID
token and userinfo alike), by FLAG: ``verified`` adds ``email_verified: true``,
``unverified`` adds ``email_verified: false``, and ``unmarked`` adds nothing:
that person's claims are exactly what Canaille 0.3.6 itself sends (the case of
``[sso] trust_unverified_email``).

Canaille issues client-credentials access tokens as opaque random strings
(``canaille/oidc/provider.py``, ``generate_access_token``: ``gen_salt(48)``),
not JWTs, so a resource server cannot check them against ``/oauth/jwks.json``:
introspection is the way Canaille offers, and the one ``dialect_server.py
--oauth2-introspect`` uses. An expired or revoked token introspects as
``{"active": false}`` (authlib ``rfc7662.IntrospectionEndpoint``).

The token lifetime (``expires_in``) is authlib's ``OAUTH2_TOKEN_EXPIRES_IN``
for the ``client_credentials`` grant, set from ``--token-lifetime``.

Usage::

    oauth2_server.py --port 18400 --client-id accessboard --client-secret s3cr3t \
        --introspection-client-id scim-rs --introspection-client-secret rs-s3cr3t \
        [--token-lifetime 3600] [--scope "scim"]

Prints ``Serving OAuth2 on http://localhost:PORT/ ...`` once it accepts
connections. Like pytest-iam, it binds ``localhost`` and sets ``SERVER_NAME``
to ``localhost:PORT``: Flask then answers 400 ("This request should be sent
to ...") to a request whose Host header is anything else, such as
``127.0.0.1:PORT``, so clients must use ``http://localhost:PORT``. The token endpoint is ``/oauth/token``, introspection
``/oauth/introspect``, discovery ``/.well-known/openid-configuration``.
Needs the packages of requirements-oauth2.txt (pytest-iam pulls Canaille).
"""

import argparse
import datetime
import os
import signal
import sys
import uuid


def build_config(port: int, token_lifetime: int) -> dict:
    """The configuration pytest-iam's ``iam_configuration`` fixture gives, plus the token lifetime."""
    # Same as pytest_iam.iam_configuration (0.3.0); it is a pytest fixture, so it
    # cannot be called outside a test session: its keys are repeated here.
    from joserfc.jwk import JWKRegistry

    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    jwk = JWKRegistry.generate_key("RSA", 2048)
    jwk.ensure_kid()
    return {
        "TESTING": True,
        "ENV_FILE": None,
        "SECRET_KEY": str(uuid.uuid4()),
        "WTF_CSRF_ENABLED": False,
        "PREFERRED_URL_SCHEME": "http",
        "SERVER_NAME": f"localhost:{port}",
        "CANAILLE": {
            "DATABASE": "memory",
            "ENABLE_REGISTRATION": True,
            "JAVASCRIPT": False,
            "ACL": {"DEFAULT": {"PERMISSIONS": ["use_oidc", "manage_oidc"]}},
            "LOGGING": {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"canaille": {"class": "logging.NullHandler"}},
                "loggers": {"canaille": {"level": "DEBUG", "handlers": ["canaille"]}},
            },
        },
        "CANAILLE_OIDC": {
            "DYNAMIC_CLIENT_REGISTRATION_OPEN": True,
            "ACTIVE_JWKS": [jwk.as_dict(private=True)],
        },
        # authlib (flask_oauth2.AuthorizationServer): expires_in per grant type.
        "OAUTH2_TOKEN_EXPIRES_IN": {"client_credentials": token_lifetime},
    }


def mark_verified_emails(verified: dict) -> None:
    """Adds ``email_verified`` to the claims Canaille builds (it has no mapping for it),
    except for the people flagged ``unmarked``."""
    from canaille.oidc import provider

    original = provider.generate_user_claims

    def with_verified(user, jwt_mapping_config=None):
        claims = original(user, jwt_mapping_config)
        flag = verified.get(user.user_name, "unverified")
        if "email" in claims and flag != "unmarked":
            claims["email_verified"] = flag == "verified"
        return claims

    provider.generate_user_claims = with_verified


def threaded(server) -> None:
    """Serves each connection in its own thread, on the socket pytest-iam bound.

    pytest-iam's ``wsgiref`` server answers one connection at a time; Chromium opens
    spare connections to a site it just used and may leave one idle, and the
    dashboard's token request then waits behind it until it times out. Only the
    server loop changes: the same app, handler and socket.
    """
    import socketserver
    import wsgiref.simple_server

    class ThreadingWSGIServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
        daemon_threads = True

    server.httpd.__class__ = ThreadingWSGIServer


def register_sign_in_client(args, now) -> None:
    """The authorization-code client of a dashboard signing people in (see the docstring)."""
    from canaille.app import models
    from canaille.backends import Backend

    client = models.Client(
        client_id=args.oidc_client_id,
        client_secret=args.oidc_client_secret,
        client_name="accessboard sign-in (tests)",
        client_id_issued_at=now,
        client_uri="http://127.0.0.1/",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="client_secret_basic",
        scope=["openid", "email", "profile"],
        redirect_uris=[args.redirect_uri],
        post_logout_redirect_uris=[args.post_logout_redirect_uri or args.redirect_uri],
    )
    Backend.instance.save(client)
    client.audience = [client]
    Backend.instance.save(client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--introspection-client-id", default="scim-resource-server")
    parser.add_argument("--introspection-client-secret", default=None,
                        help="Defaults to a random secret (printed at start).")
    parser.add_argument("--token-lifetime", type=int, default=3600,
                        help="expires_in of client-credentials tokens, in seconds (default 3600).")
    parser.add_argument("--scope", default="scim", help="Space-separated scopes of the client.")
    parser.add_argument("--token-endpoint-auth-method", default="client_secret_basic",
                        choices=["client_secret_basic", "client_secret_post"],
                        help="How the provisioning client authenticates at /oauth/token.")
    parser.add_argument("--oidc-client-id", default=None,
                        help="Also register a confidential authorization-code client.")
    parser.add_argument("--oidc-client-secret", default=None)
    parser.add_argument("--redirect-uri", default=None)
    parser.add_argument("--post-logout-redirect-uri", default=None)
    parser.add_argument("--user", action="append", default=[],
                        help="NAME:EMAIL:PASSWORD:verified|unverified|unmarked (repeatable).")
    parser.add_argument("--log-requests", action="store_true")
    args = parser.parse_args()
    rs_secret = args.introspection_client_secret or uuid.uuid4().hex

    from canaille import create_app
    from canaille.app import models
    from canaille.backends import Backend
    from pytest_iam import Server

    app = create_app(config=build_config(args.port, args.token_lifetime))
    verified = {}
    for spec in args.user:
        name, _email, _password, flag = spec.split(":")
        if flag not in ("verified", "unverified", "unmarked"):
            parser.error(f"--user {name}: the flag is verified, unverified or unmarked")
        verified[name] = flag
    mark_verified_emails(verified)
    server = Server(app, args.port, Backend.instance, logging=args.log_requests)
    threaded(server)
    now = datetime.datetime.now(datetime.timezone.utc)
    with app.app_context():
        resource_server = models.Client(
            client_id=args.introspection_client_id,
            client_secret=rs_secret,
            client_name="SCIM stand-in (introspection)",
            client_id_issued_at=now,
            grant_types=["client_credentials"],
            response_types=[],
            token_endpoint_auth_method="client_secret_basic",
            scope=[],
        )
        Backend.instance.save(resource_server)
        resource_server.audience = [resource_server]
        Backend.instance.save(resource_server)
        client = models.Client(
            client_id=args.client_id,
            client_secret=args.client_secret,
            client_name="accessboard (tests)",
            client_id_issued_at=now,
            grant_types=["client_credentials"],
            response_types=[],
            token_endpoint_auth_method=args.token_endpoint_auth_method,
            scope=args.scope.split(),
        )
        Backend.instance.save(client)
        client.audience = [client, resource_server]
        Backend.instance.save(client)

        if args.oidc_client_id:
            register_sign_in_client(args, now)
        for spec in args.user:
            name, email, password, _flag = spec.split(":")
            user = models.User(user_name=name, emails=[email], formatted_name=name.title())
            Backend.instance.save(user)
            Backend.instance.set_user_password(user, password)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    print(
        f"Serving OAuth2 on {server.url} token={server.url}oauth/token "
        f"introspect={server.url}oauth/introspect "
        f"introspection-client={args.introspection_client_id}:{rs_secret}",
        flush=True,
    )
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
