"""The small Django projects django_server.py serves: settings, urls, the bearer check, and
the user and group models django-scim2's default adapters need."""
