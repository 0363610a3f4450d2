"""Look-alike patient ids are one patient or refused (security review 2, finding 11:
"alice-123" with a zero-width space, a Cyrillic "a" or bidi controls booked five seats that
staff all saw as "alice-123")."""

import pytest

from booking.models import Booking
from mediqueue import validation


@pytest.mark.parametrize(
    "sent, kept",
    [
        (
            "\uff41\uff4c\uff49\uff43\uff45-123",
            "alice-123",
        ),  # full-width letters are the same letters (NFKC)
        ("alice\u00a0123", "alice 123"),  # a no-break space is a space
        ("Zoe\u0308", "Zoë"),  # a combining diaeresis is composed
        ("ﬁona", "fiona"),  # a ligature is its letters
        ("иван-7", "иван-7"),  # one script, not Latin: a patient id like any other
        ("山田たろう", "山田たろう"),  # Han with Hiragana: how Japanese is written
        ("김민준", "김민준"),
        (12345, "12345"),
    ],
)
def test_patient_ids_are_normalised(sent, kept):
    assert validation.patient_id(sent) == kept


@pytest.mark.parametrize(
    "sent",
    [
        "alice\u200b-123",  # zero-width space
        "alice\u200d-123",  # zero-width joiner
        "\u2060alice-123",  # word joiner
        "alice-123\ufeff",  # byte-order mark
        "alice\u00ad-123",  # soft hyphen
        "\u202ealice-123",  # right-to-left override
        "alice-123\u2066",  # left-to-right isolate
        "\u200falice-123",  # right-to-left mark
        "alice\u3164-123",  # Hangul filler: a blank that is a "letter"
        "alice\ufe0f-123",  # variation selector
        "\u0430lice-123",  # Cyrillic a among Latin letters
        "alic\u0435-123",  # Cyrillic e among Latin letters
        "\u03b1lice-123",  # Greek alpha among Latin letters
        "alice\x00-123",  # ASCII controls: a NUL, an escape sequence, a tab, a DEL
        "alice\x1b[8m-123",
        "alice\t123",
        "alice-12\x7f3",
    ],
)
def test_invisible_bidi_and_mixed_script_ids_are_refused(sent):
    with pytest.raises(validation.FieldError) as refused:
        validation.patient_id(sent)
    assert refused.value.message


@pytest.mark.django_db
def test_look_alikes_cannot_take_a_second_seat_through_the_api(
    api_client, make_slot, post_json, assert_error
):
    slot = make_slot(seats=10)
    first = post_json(api_client, "/api/book", {"userId": "alice-123", "slotId": slot.pk})

    answers = [
        post_json(api_client, "/api/book", {"userId": look_alike, "slotId": slot.pk})
        for look_alike in (
            "\uff41\uff4c\uff49\uff43\uff45-123",
            "alice\u200b-123",
            "\u0430lice-123",
            "\u202ealice-123",
        )
    ]

    assert first.status_code == 201
    assert_error(answers[0], 409, "already_booked")
    for refused in answers[1:]:
        assert_error(refused, 400, "invalid")
    assert list(Booking.objects.values_list("user_id", flat=True)) == ["alice-123"]
