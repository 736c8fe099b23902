"""Why a store failed, in one line: which store, the HTTP status, the backend's own error code and message, and what
to do about it.

obstore and gcsfs put the server's error body (S3 and Azure XML, Google's JSON) inside their exception text, after
which obstore appends a multi-line debug dump; ``backend_error`` digs the useful part out of that text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, NamedTuple

from reelm.storage.base import StorageError

# obstore appends its multi-line debug dump after this marker; the server's body comes before it.
_DEBUG_DUMP = "\n\nDebug source:"
_STATUS = re.compile(r"status code: (\d{3})\b")
_JSON_ERROR = re.compile(r'\{\s*"error"\s*:')
# gcsfs turns a 403 into ``OSError("Forbidden: <path>\n<message>")``.
_GCSFS_FORBIDDEN = "Forbidden: "
_MAX_MESSAGE = 200

_MISSING_STORE = {"NoSuchBucket": "bucket", "ContainerNotFound": "container"}
_BAD_CREDENTIALS = {
    "AccessDenied",
    "AllAccessDisabled",
    "AuthenticationFailed",
    "AuthorizationFailure",
    "AuthorizationPermissionMismatch",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidAuthenticationInfo",
    "InvalidToken",
    "SignatureDoesNotMatch",
    "forbidden",
    "unauthorized",
    "authError",
}


class BackendError(NamedTuple):
    """What the server said, as far as the client's exception tells: any part may be unknown."""

    status: int | None
    code: str | None
    message: str | None


def plain(exc: BaseException) -> str:
    """The first line of a client error, without obstore's debug dump."""
    return str(exc).split("\n", 1)[0].strip() or type(exc).__name__


def _line(text: str) -> str | None:
    # Azure continues its message with request id and time on further lines: noise for an operator.
    line = html.unescape(text).strip().split("\n", 1)[0].strip()
    return line[:_MAX_MESSAGE] or None


def _xml_field(text: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}>([^<]*)</{tag}>", text)
    return _line(match.group(1)) if match else None


def _json_error(error: Any) -> BackendError:
    """``{"code", "message", "errors": [{"reason"}]}`` as Google's JSON API sends it (``code`` is the status)."""
    if isinstance(error, str):  # OAuth's {"error": "invalid_grant", "error_description": ...} style
        return BackendError(None, error, None)
    if not isinstance(error, dict):
        return BackendError(None, None, None)
    status = error.get("code") if isinstance(error.get("code"), int) else None
    reasons = [item.get("reason") for item in error.get("errors") or [] if isinstance(item, dict)]
    code = next((reason for reason in reasons if isinstance(reason, str)), None) or error.get("status")
    if code is None and isinstance(error.get("code"), str):
        code = error["code"]
    message = error.get("message")
    return BackendError(status, code if isinstance(code, str) else None, _line(message) if message else None)


def _json_in(text: str) -> BackendError | None:
    match = _JSON_ERROR.search(text)
    if match is None:
        return None
    try:
        body, _ = json.JSONDecoder().raw_decode(text, match.start())
    except ValueError:
        return None
    return _json_error(body.get("error"))


def backend_error(exc: BaseException) -> BackendError:
    """The HTTP status and the backend's error code and message in a client exception, where it has them."""
    response = getattr(exc, "_error_response", None)
    if isinstance(response, dict):  # gcsfs's HttpError: Google's JSON error, already decoded
        return _json_error(response)
    text = str(exc).split(_DEBUG_DUMP, 1)[0]
    if isinstance(exc, OSError) and text.startswith(_GCSFS_FORBIDDEN):
        return BackendError(403, None, _line(text.split("\n", 1)[1]) if "\n" in text else None)
    match = _STATUS.search(text)
    status = int(match.group(1)) if match else None
    code, message = _xml_field(text, "Code"), _xml_field(text, "Message")
    if code is None and message is None and (found := _json_in(text)) is not None:
        status, code, message = found.status or status, found.code, found.message
    if code is not None and code.isdigit():  # fake-gcs-server puts the status in <Code>: no information
        status, code = status or int(code), None
    return BackendError(status, code, message)


def unreachable(exc: BaseException) -> str | None:
    """Why the server could not be reached at all (nothing answered), or None when it answered."""
    os_error = getattr(exc, "os_error", None)  # aiohttp's connector errors (gcsfs) wrap the socket's error
    for error in (exc, os_error):
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, TimeoutError):
            return "timed out"
    text = str(exc)
    if "Connection refused" in text or "ConnectionRefused" in text or "Connect call failed" in text:
        return "connection refused"
    if "kind: Timeout" in text or "timed out" in text or "TimedOut" in text:
        return "timed out"
    if "dns error" in text or "failed to lookup address" in text or "Name or service not known" in text:
        return "its host name does not resolve"
    if "error sending request" in text or "Cannot connect to host" in text:
        return "no connection"
    return None


def _hint(found: BackendError, *, action: str, url: str, secret_variables: Sequence[str]) -> str | None:
    kind = "container" if url.startswith("az://") else "bucket"
    message = (found.message or "").lower()
    if found.code in _MISSING_STORE or "no bucket named" in message or (found.status == 404 and action == "list"):
        kind = _MISSING_STORE.get(found.code or "", kind)
        return f"create the {kind}, or correct its name in the URL"
    if found.code == "RequestTimeTooSkewed":
        return "set this machine's clock right"
    if found.code in _BAD_CREDENTIALS or found.status in (401, 403):
        where = f"check {', '.join(secret_variables)}" if secret_variables else "check the credentials"
        return where + (" and the account in the URL" if url.startswith("az://") else "")
    return None


def storage_failure(
    exc: BaseException, *, action: str, target: str, url: str, secret_variables: Sequence[str] = ()
) -> StorageError:
    """A ``StorageError`` for ``exc``: "could not <action> <target>: <store> answered <status> <code> (<message>);
    <what to do>" in one line. Only the store's URL, the server's words and variable names appear, never a
    secret."""
    where = f"could not {action} {target}"
    found = backend_error(exc)
    if found.status is None and found.code is None and (reason := unreachable(exc)):
        return StorageError(
            f"{where}: {url} does not answer ({reason}); is the server running, and the endpoint in the URL right?",
            store=url,
        )
    if found.status is None and found.code is None:
        return StorageError(f"{where}: {url}: {plain(exc)}", store=url)
    said = " ".join(part for part in (str(found.status or ""), found.code or "") if part)
    message = found.message
    if message is None and found.code is None and found.status is not None:
        message = _phrase(found.status)
    text = f"{where}: {url} answered {said}" + (f" ({message.rstrip('.')})" if message else "")
    if hint := _hint(found, action=action, url=url, secret_variables=secret_variables):
        text += f"; {hint}"
    return StorageError(text, store=url, status=found.status, code=found.code)


def _phrase(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None
