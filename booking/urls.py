from django.urls import path

from booking import api

urlpatterns = [
    path("book", api.BookApi.as_view(), name="book"),
    path("bookings/<str:reference>", api.BookingDetailApi.as_view(), name="booking-detail"),
    path("bookings/<str:reference>/cancel", api.BookingCancelApi.as_view(), name="booking-cancel"),
]
