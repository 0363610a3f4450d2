"""What patients are told when things go right, in the API's answers and on the pages alike.
(What they are told when things go wrong is each error's message, in ``booking.errors``.)"""

BOOKED = "Booking confirmed."
FOUND = "Booking found."
CANCELLED = "Booking cancelled; the seat is free again."
ALREADY_CANCELLED = "This booking was already cancelled."
WAITING = "You are on the waiting list; a freed seat goes to the earliest patient waiting."
WAITLIST_FOUND = "Waiting list entry found."
LEFT = "You left the waiting list."
ALREADY_LEFT = "You had already left the waiting list."
EXPIRED = "The slot started before a seat was freed for you."
PROMOTED = "A seat was freed for you: you are booked."
PASSED_OVER = (
    "When a seat was freed for this entry, its patient already held a seat in this slot, so "
    "the seat went to the next patient waiting."
)
QUEUED = "You are in line: seats go in order of arrival. Ask again with the ticket for the outcome."
