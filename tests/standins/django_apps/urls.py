"""SCIM at ``/scim/v2/``, where both libraries' READMEs mount it."""

from django.conf import settings
from django.urls import include, path

if settings.SCIM_APP == "django-scim2":
    # The namespace must be "scim" (django-scim2's README).
    urlpatterns = [path("scim/v2/", include("django_scim.urls", namespace="scim"))]
else:
    urlpatterns = [path("scim/v2/", include("django_scim2_server.urls"))]
