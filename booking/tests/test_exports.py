"""The bookings CSV neutralises anything a spreadsheet would run as a formula (CSV injection)."""

import csv
import io

import pytest

from booking.exports import write_bookings_csv


class _Doctor:
    name = "Dr. Safe"
    specialty = ""


class _Slot:
    pk = 1
    doctor = _Doctor()
    start_time = end_time = None


class _Booking:
    reference = "ref"
    status = "CONFIRMED"
    slot = _Slot()
    created_at = cancelled_at = None

    def __init__(self, user_id: str):
        self.user_id = user_id


def exported_patient(user_id: str) -> str:
    out = io.StringIO()
    write_bookings_csv([_Booking(user_id)], out)
    return list(csv.reader(io.StringIO(out.getvalue())))[1][2]


@pytest.mark.parametrize(
    "typed",
    [
        '=HYPERLINK("http://evil")',
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\tx=1",
        "\rx=1",
        "\uff1d1+1",  # full-width equals sign: spreadsheets read it as "="
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(A1)",
        "\ufeff=1+1",  # a byte-order mark in front
        "\u200b=1+1",  # a zero-width space in front
        "\u2060+1",  # a word joiner in front
        " =1+1",  # a space in front: spreadsheets trim it
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_made_inert(typed):
    assert exported_patient(typed) == "'" + typed


@pytest.mark.parametrize("typed", ["Ada Lovelace", "patient-7", "42", "Zoë", "a=b", "x+1"])
def test_plain_text_is_left_as_it_is(typed):
    assert exported_patient(typed) == typed
