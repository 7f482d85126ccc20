"""SCIM bodies: `application/scim+json`, dumped by scim2-models for the response's context
(what is `returned: never` never leaves, `attributes`/`excludedAttributes` applied)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from scim2_models import BaseModel, Context, ResponseParameters
from starlette.responses import Response

SCIM_JSON = "application/scim+json"


def scim_json(
    body: Any,
    status: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
    ctx: Context = Context.RESOURCE_QUERY_RESPONSE,
    parameters: ResponseParameters[Any] | None = None,
) -> Response:
    if isinstance(body, BaseModel):
        body = body.model_dump(scim_ctx=ctx, response_parameters=parameters)
    return Response(orjson.dumps(body), status_code=status, media_type=SCIM_JSON, headers=dict(headers or {}))
