#!/usr/bin/env python3
"""Real Django SCIM servers from PyPI, each in a small generated Django project.

    django_server.py --app django-scim2|django-scim2-server --hostname 127.0.0.1 --port P \
        --bearer-token T [--data-dir DIR] [--concurrent]

* ``django-scim2``         django-scim2 0.23.0 (15five), the library Zulip's SCIM is built on,
                           with its default ``SCIMUser``/``SCIMGroup`` adapters
                           (models: ``django_apps/accounts/models.py``)
* ``django-scim2-server``  django-scim2-server 1.1.0 (browniebroke), its defaults over
                           Django's ``auth.User``/``auth.Group``

SCIM is served at ``/scim/v2`` (``/scim/v2/Users``, ...), behind ``Authorization: Bearer T``
(``django_apps/bearer.py``). The SQLite database is made (``migrate``) in ``--data-dir``
(default: the working directory). ``GET /__standin__/ready`` answers 200 without
authentication once it listens; it prints ``Serving SCIM on http://HOST:PORT/scim/v2 (app
NAME)`` and then one access-log line per request (``"GET /path?query HTTP/1.1" 200 ...``).

Requests are served one at a time (a threaded server whose application holds a lock), as a
single-worker deployment would: with SQLite, concurrent writes make django-scim2-server
answer an HTML 500 ("database is locked"). ``--concurrent`` drops the lock.
"""

import argparse
import os
import socketserver
import sys
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

READY = "/__standin__/ready"


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Handler(WSGIRequestHandler):
    def log_message(self, format, *args):
        # wsgiref's line: 127.0.0.1 - - [date] "GET /path?query HTTP/1.1" 200 123
        super().log_message(format, *args)
        sys.stderr.flush()


def application(django_app, serialise: bool):
    lock = threading.Lock() if serialise else None

    def app(environ, start_response):
        if environ.get("PATH_INFO") == READY:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ready"]
        if lock is None:
            return django_app(environ, start_response)
        with lock:
            # The whole answer is made under the lock, then written.
            result = django_app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                if hasattr(result, "close"):
                    result.close()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="django_server.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", required=True, choices=["django-scim2", "django-scim2-server"])
    parser.add_argument("--hostname", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--bearer-token", required=True)
    parser.add_argument("--data-dir", default=".", help="Where the SQLite file is made.")
    parser.add_argument("--concurrent", action="store_true", help="Serve requests in parallel (no lock).")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="django_apps.settings",
        SCIM_APP=args.app,
        SCIM_DB=str(Path(args.data_dir).resolve() / "scim.sqlite3"),
        SCIM_PORT=str(args.port),
        SCIM_BEARER_TOKEN=args.bearer_token,
    )
    import django
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    app = application(get_wsgi_application(), serialise=not args.concurrent)
    server = make_server(args.hostname, args.port, app, server_class=ThreadingWSGIServer, handler_class=Handler)
    print(f"Serving SCIM on http://{args.hostname}:{args.port}/scim/v2 (app {args.app})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
