"""The registry of identity provider types: the config fields each accepts, and where its code lives.

The fields are here, not in the provider modules, so that reading the config imports no HTTP library.
A field is (type, required); `str` fields may hold any string.
"""

from __future__ import annotations

import importlib
from typing import Any

Field = tuple[type, bool]

_COMMON: dict[str, Field] = {
    "type": (str, True),
    "username": (str, False),
    "password": (str, False),
    "mfa": (str, False),
    "totp_secret": (str, False),
    "ca_bundle": (str, False),
}

FIELDS: dict[str, dict[str, Field]] = {
    "onelogin": {
        **_COMMON,
        "base_url": (str, False),
        "region": (str, False),
        "subdomain": (str, True),
        "app_id": (str, True),
        "client_id": (str, True),
        "client_secret": (str, False),
        "api_version": (int, False),
        "ip_address": (str, False),
    },
    "okta": {
        **_COMMON,
        "org_url": (str, True),
        "app_url": (str, False),
        "app_id": (str, False),
        "remember_device": (bool, False),
        "client_id": (str, False),
    },
    "sso": {
        "type": (str, True),
        "start_url": (str, True),
        "sso_region": (str, True),
        "session_name": (str, False),
        "oidc_url": (str, False),
        "portal_url": (str, False),
        "ca_bundle": (str, False),
    },
    "saml-form": {
        **_COMMON,
        "url": (str, True),
        "username_field": (str, False),
        "password_field": (str, False),
        "code_field": (str, False),
    },
}

_MODULES = {
    "onelogin": ("shellenv.providers.onelogin", "OneLogin"),
    "okta": ("shellenv.providers.okta", "Okta"),
    "sso": ("shellenv.providers.sso", "IdentityCenter"),
    "saml-form": ("shellenv.providers.samlform", "SamlForm"),
}


def provider_class(idp_type: str) -> Any:
    """The provider class for an IdP type, imported on first use."""
    module, name = _MODULES[idp_type]
    return getattr(importlib.import_module(module), name)
