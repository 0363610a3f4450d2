from django.urls import path

from pages import views

app_name = "pages"

urlpatterns = [
    path("", views.slot_board, name="slot-board"),
    path("slots/<int:slot_id>/book", views.book_slot, name="book"),
    path("bookings/<str:reference>", views.booking_detail, name="booking"),
    path("bookings/<str:reference>/cancel", views.cancel_booking, name="cancel"),
]
