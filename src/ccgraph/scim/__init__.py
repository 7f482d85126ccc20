"""SCIM 2.0 provisioning at /scim/v2 (README, "SCIM 2.0 provisioning")."""

from ccgraph.scim.app import scim_app

__all__ = ["scim_app"]
