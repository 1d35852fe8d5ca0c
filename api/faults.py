"""Domain errors as OpenStack fault bodies: one key naming the fault, with code and message."""

from __future__ import annotations

FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


class ApiFault(Exception):
    """An error the API answers with an OpenStack fault body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BadRequest(ApiFault):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class NotFound(ApiFault):
    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class Forbidden(ApiFault):
    def __init__(self, message: str = "Policy doesn't allow this operation to be performed.") -> None:
        super().__init__(403, message)


class Unauthorized(ApiFault):
    def __init__(self, message: str = "The request you have made requires authentication.") -> None:
        super().__init__(401, message)


class Conflict(ApiFault):
    def __init__(self, message: str) -> None:
        super().__init__(409, message)


def fault_body(status: int, message: str) -> dict[str, dict[str, int | str]]:
    """`{"<name>": {"code": status, "message": message}}` as Nova writes it."""
    return {FAULT_NAMES.get(status, "computeFault"): {"code": status, "message": message}}
