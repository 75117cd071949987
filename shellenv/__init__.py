"""shellenv: short-lived AWS keys from your identity provider, in the shell you are working in."""

__version__ = "0.1.0"
