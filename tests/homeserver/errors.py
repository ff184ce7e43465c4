"""The Matrix error that every layer of the fake homeserver raises.

A MatrixError carries what the client-server API answers: the HTTP status,
the errcode and a message, plus any extra fields (retry_after_ms, status,
body, soft_logout).  The HTTP layer turns it into the JSON error body; the
test-side helpers let it propagate so a test sees why an action failed.
"""


class MatrixError(Exception):
    """An error as the homeserver would answer it: status, errcode, error."""

    # The first parameter is not called "status": M_BAD_STATUS errors carry
    # an extra field of that name.
    def __init__(self, http_status, errcode, error, **extra):
        super().__init__(f"{http_status} {errcode}: {error}")
        self.status = http_status
        self.errcode = errcode
        self.error = error
        self.extra = extra

    def body(self):
        """The JSON object a client receives."""
        body = {"errcode": self.errcode, "error": self.error}
        body.update(self.extra)
        return body


def not_found(error="Not found"):
    """404 M_NOT_FOUND."""
    return MatrixError(404, "M_NOT_FOUND", error)


def forbidden(error, status=403):
    """403 M_FORBIDDEN (Synapse's AuthError)."""
    return MatrixError(status, "M_FORBIDDEN", error)


def bad_request(error, errcode="M_UNKNOWN"):
    """400 with Synapse's default errcode M_UNKNOWN unless told otherwise."""
    return MatrixError(400, errcode, error)
