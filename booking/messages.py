"""What patients are told when things go right, in the API's answers and on the pages alike.
(What they are told when things go wrong is each error's message, in ``booking.errors``.)"""

BOOKED = "Booking confirmed."
FOUND = "Booking found."
CANCELLED = "Booking cancelled; the seat is free again."
ALREADY_CANCELLED = "This booking was already cancelled."
