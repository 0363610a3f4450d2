"""A patient's booking over HTTP, the way the harness's clients send it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from loadtests.harness.environment import patient_address


def post_book(
    base_url: str, user_id: str, slot_id: int, *, address: str | None = None, timeout: float = 30
) -> tuple[int, str]:
    """POST /api/book from the patient's own address (``patient_address``), or from
    ``address`` as the proxy in front would name it; (the HTTP status, the answer's ``status``
    on success or its error ``code``)."""
    request = urllib.request.Request(
        f"{base_url}/api/book",
        data=json.dumps({"userId": user_id, "slotId": slot_id}).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Forwarded-For": address or patient_address(user_id),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())["status"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["code"]
