"""SCIM error responses (RFC 7644 §3.12): the Error message, its status as a string, a
`scimType` where one applies, `application/scim+json`. The services' user errors map here:
a taken username is 409 `uniqueness`, a stale version 412 (with If-Match) or 409, the
authority rule 403, any other rule 400 naming the SCIM attribute in `detail`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import ValidationError
from scim2_models import Error, SCIMException
from starlette.responses import Response

from ccgraph.scim.responses import scim_json
from ccgraph.services.errors import UserError

AUTHORITY = frozenset(
    {
        "TARGET_OUTRANKS_ACTOR",
        "PERMISSION_NOT_HELD",
        "PERMISSION_REQUIRED",
        "MASTER_ADMINISTRATOR_PROTECTED",
        "ADMINISTRATOR_PROFILE_PROTECTED",
    }
)


class ScimError(Exception):
    """Ends a SCIM request with an Error response."""

    def __init__(
        self,
        status: int,
        detail: str,
        scim_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type
        self.headers = dict(headers or {})

    @classmethod
    def of(cls, exc: SCIMException) -> ScimError:
        return cls(exc.status, exc.detail, exc.scim_type or None)

    @classmethod
    def invalid(cls, errors: ValidationError) -> ScimError:
        """A payload scim2-models refused: the first problem, its keyword and where it is."""
        found = Error.from_validation_errors(errors)
        first = found[0]
        detail = "; ".join(e.detail or "" for e in found)
        return cls(first.status or 400, detail, first.scim_type or "invalidValue")

    def response(self) -> Response:
        return scim_json(
            Error(status=self.status, scim_type=self.scim_type, detail=self.detail),
            self.status,
            headers=self.headers,
        )


def from_user_errors(
    errors: Sequence[UserError],
    attribute: Mapping[str, str],
    *,
    if_match: bool = False,
    missing_is_404: bool = True,
) -> ScimError:
    """The services' refusal as a SCIM error. `attribute` maps a service input path ("firstName",
    "contact.mainPhone") to the SCIM attribute it came from, named in `detail`."""
    codes = {e.code for e in errors}
    detail = "; ".join(f"{_named(e.field, attribute)}: {e.message} ({e.code})" for e in errors)
    if "CONFLICT" in codes:
        return ScimError(412 if if_match else 409, detail)
    if "TAKEN" in codes:
        return ScimError(409, detail, "uniqueness")
    if codes & AUTHORITY:
        return ScimError(403, detail)
    if missing_is_404 and codes == {"NOT_FOUND"} and all(e.field in (["id"], ["userId"]) for e in errors):
        return ScimError(404, detail)
    return ScimError(400, detail, "invalidValue")


def _named(field: Sequence[str] | None, attribute: Mapping[str, str]) -> str:
    if not field:
        return "request"
    for length in range(len(field), 0, -1):
        found = attribute.get(".".join(field[:length]))
        if found is not None:
            return found
    return ".".join(field)
