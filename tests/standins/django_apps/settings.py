"""Settings of the Django project, for one app, from django_server.py's environment.

``SCIM_APP`` (django-scim2 | django-scim2-server), ``SCIM_DB`` (the SQLite file),
``SCIM_PORT``, ``SCIM_BEARER_TOKEN``.
"""

import os

SCIM_APP = os.environ["SCIM_APP"]
SCIM_BEARER_TOKEN = os.environ["SCIM_BEARER_TOKEN"]
PORT = os.environ["SCIM_PORT"]

SECRET_KEY = "accessboard-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "django_apps.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["SCIM_DB"],
    }
}
MIDDLEWARE = ["django_apps.bearer.BearerTokenMiddleware"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]

if SCIM_APP == "django-scim2":
    INSTALLED_APPS += ["django_scim", "django_apps.accounts"]
    AUTH_USER_MODEL = "accounts.User"
    # Our two models are made by `migrate --run-syncdb`, without migration files.
    MIGRATION_MODULES = {"accounts": None}
    SCIM_SERVICE_PROVIDER = {
        "NETLOC": f"127.0.0.1:{PORT}",
        "SCHEME": "http",
        "GROUP_MODEL": "django_apps.accounts.models.Group",
        "AUTHENTICATION_SCHEMES": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication scheme using the OAuth Bearer Token Standard",
            }
        ],
    }
elif SCIM_APP == "django-scim2-server":
    # Its defaults: auth.User, auth.Group, DefaultUserAdapter, DefaultGroupAdapter, is_superuser.
    INSTALLED_APPS += ["django_scim2_server"]
else:
    raise SystemExit(f"unknown SCIM_APP {SCIM_APP!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    # Tracebacks of 500s (django.request) in the server's log.
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
