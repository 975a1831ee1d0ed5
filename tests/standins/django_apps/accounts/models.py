"""The models django-scim2's default ``SCIMUser``/``SCIMGroup`` adapters are written for.

The adapters read ``scim_id``, ``scim_external_id`` and ``scim_groups`` on the user and
``scim_id``, ``scim_external_id``, ``name`` and ``user_set`` on the group, which Django's
``auth.User``/``auth.Group`` lack; so, as the library's own tests do (django-scim2
``tests/models.py``: ``TestUser``, ``TestGroup``), the user is Django's ``AbstractUser`` with
``AbstractSCIMUserMixin`` and the group a model with ``AbstractSCIMGroupMixin``.
"""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim import models as scim_models


class Group(scim_models.AbstractSCIMGroupMixin):
    name = models.CharField("name", max_length=80, unique=True)


class User(scim_models.AbstractSCIMUserMixin, AbstractUser):
    scim_groups = models.ManyToManyField(Group, related_name="user_set")
