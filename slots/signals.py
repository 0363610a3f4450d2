"""Changes of doctors and slots made through the ORM outside the services (the admin's add and
delete) move the listing's version on too, once committed; the services' own raw-SQL seat
changes call slot_listing_changed themselves."""

from django.db import transaction

from slots.selectors import slot_listing_changed


def listing_changed(sender, **kwargs) -> None:
    transaction.on_commit(slot_listing_changed)
