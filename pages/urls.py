from django.urls import path

from pages import mail, patient_views, queue_views, views, waitlist_views

app_name = "pages"

urlpatterns = [
    path("", views.slot_board, name="slot-board"),
    path("slots/<int:slot_id>/book", views.book_slot, name="book"),
    path("slots/<int:slot_id>/waitlist", waitlist_views.join_waitlist, name="join-waitlist"),
    path("book/requests/<str:ticket>", queue_views.booking_request, name="booking-request"),
    path("bookings/<str:reference>", views.booking_detail, name="booking"),
    path("bookings/<str:reference>/cancel", views.cancel_booking, name="cancel"),
    path("waitlist/<str:reference>", waitlist_views.waitlist_entry, name="waitlist-entry"),
    path("waitlist/<str:reference>/leave", waitlist_views.leave_waitlist, name="leave-waitlist"),
    path("mail/<str:key>", mail.view_mail, name="mail"),
    path("me/bookings", patient_views.my_bookings, name="my-bookings"),
]
