"""Changes of doctors and slots made through the ORM outside the services (the admin's add and
delete) move the listing's version on too, once committed; the services' own raw-SQL seat
changes call slot_listing_changed themselves."""

from django.db import transaction
from django.dispatch import Signal

from slots.selectors import slot_listing_changed


def listing_changed(sender, **kwargs) -> None:
    transaction.on_commit(slot_listing_changed)


# Sent by slots.services.slot_update when an admin adds seats to a slot, inside the transaction
# and under the slot's row lock, with ``slot`` as it now is. The booking app hands the new seats
# to the slot's waiting list here (booking.services.fill_free_seats): slots cannot know of it,
# since layers only point down.
seats_added = Signal()
