"""django-scim2's models: Django's auth user with the library's SCIM mixin, and a group."""
