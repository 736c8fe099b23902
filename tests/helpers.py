"""Assertions shared by the test modules."""

from __future__ import annotations

from typing import Any


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one error shape: ``{"error": {"code": ..., "message": ...}}``, as JSON, with the expected status."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    # A user-facing message never leaks a server path or a traceback.
    assert "/tmp" not in error["message"] and "Traceback" not in error["message"], error["message"]
    return error
