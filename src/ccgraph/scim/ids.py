"""SCIM ids are the GraphQL global IDs ("User:12" in base64): one identity for both faces, so an
id read over SCIM is the `node(id:)` of GraphQL and back."""

from __future__ import annotations

import binascii

from strawberry import relay


def gid(type_name: str, pk: int) -> str:
    return relay.to_base64(type_name, pk)


def pk_of(type_name: str, value: str) -> int | None:
    """The primary key a SCIM id names, or None when it is not an id of `type_name`."""
    try:
        found_type, raw = relay.from_base64(value)
        pk = int(raw)
    except (ValueError, TypeError, binascii.Error):
        return None
    return pk if found_type == type_name and pk > 0 else None
