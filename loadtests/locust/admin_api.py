"""Prepare and read back the load test's slots through the HTTP API of a server already running."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from loadtests.harness.slots import SLOTS_START_IN, SlotState


class AdminApiError(RuntimeError):
    pass


class AdminApi:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def create_slots(self, *, count: int, seats: int, label: str) -> list[int]:
        doctor_fields = {"name": f"Load test {label}", "specialty": "Load testing"}
        doctor = self._call("POST", "/api/admin/doctors", doctor_fields)
        start = (datetime.now(UTC) + SLOTS_START_IN).replace(second=0, microsecond=0)
        return [
            self._call(
                "POST",
                "/api/admin/slots",
                {
                    "doctorId": doctor["id"],
                    "startTime": (start + timedelta(minutes=30 * number)).isoformat(),
                    "totalSeats": seats,
                },
            )["id"]
            for number in range(count)
        ]

    def read_slots(self, slot_ids: list[int]) -> list[SlotState]:
        """The counts the public API shows; it does not list bookings, so those stay unknown."""
        states = []
        for slot_id in slot_ids:
            slot = self._call("GET", f"/api/slots/{slot_id}")
            states.append(
                SlotState(
                    slot_id=slot["id"],
                    total_seats=slot["total_seats"],
                    booked_seats=slot["booked_seats"],
                )
            )
        return states

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise AdminApiError(f"{method} {path} answered {error.code}: {detail}") from error
