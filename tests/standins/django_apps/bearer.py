"""Bearer-token authentication, as a deployment puts it in front of either library.

``Authorization: Bearer <token>`` (exactly that header) makes ``request.user`` the SCIM
client: an unsaved superuser, so that it is no account in ``/Users`` (as Zulip's
``SCIMClient``). Anything else leaves an anonymous user, which the libraries refuse
themselves: django-scim2's ``AUTH_CHECK_MIDDLEWARE`` (the default
``SCIMAuthCheckMiddleware``: 401, empty body) and django-scim2-server's
``SCIM2_SERVER_AUTH_CHECK`` (the default ``is_superuser``: 401 SCIM error).
"""

import hmac

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser


def scim_client():
    return get_user_model()(username="scim-client", is_superuser=True, is_staff=True, is_active=True)


class BearerTokenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.expected = f"Bearer {settings.SCIM_BEARER_TOKEN}".encode()

    def __call__(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "").encode()
        request.user = scim_client() if hmac.compare_digest(header, self.expected) else AnonymousUser()
        return self.get_response(request)
