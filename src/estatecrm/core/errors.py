"""Errors that actions raise for the edges (views, API, commands) to show."""

from collections.abc import Mapping

from django.utils.functional import Promise


class ApplicationError(Exception):
    """A business rule refused the request. `code` is stable (error_codes.py); `message` is translated.

    `fields` maps a field name to its message(s) when the refusal is about particular input fields.
    """

    status_code = 400

    def __init__(self, code: str, message: str | Promise, *, fields: Mapping[str, list[str]] | None = None):
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        self.fields = {name: [str(m) for m in messages] for name, messages in (fields or {}).items()}


class NotFound(ApplicationError):
    """The object does not exist for this actor: of another company, outside visibility, or absent."""

    status_code = 404

    def __init__(self, message: str | Promise | None = None):
        from django.utils.translation import gettext

        super().__init__("not_found", message or gettext("Not found."))


class PermissionDenied(ApplicationError):
    """The actor sees the object but may not do this to it."""

    status_code = 403

    def __init__(self, message: str | Promise | None = None):
        from django.utils.translation import gettext

        super().__init__("permission_denied", message or gettext("You do not have permission to do this."))


class Conflict(ApplicationError):
    """The object changed since the caller read it."""

    status_code = 409
