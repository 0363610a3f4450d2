from django.urls import path

from booking import api, me_api, queue_api, waitlist_api

urlpatterns = [
    path("book", api.BookApi.as_view(), name="book"),
    path(
        "book/requests/<str:ticket>",
        queue_api.BookingRequestApi.as_view(),
        name="booking-request",
    ),
    path("bookings/<str:reference>", api.BookingDetailApi.as_view(), name="booking-detail"),
    path("me/bookings", me_api.MyBookingsApi.as_view(), name="my-bookings"),
    path("bookings/<str:reference>/cancel", api.BookingCancelApi.as_view(), name="booking-cancel"),
    path(
        "slots/<int:slot_id>/waitlist",
        waitlist_api.WaitlistJoinApi.as_view(),
        name="waitlist-join",
    ),
    path(
        "waitlist/<str:reference>", waitlist_api.WaitlistEntryApi.as_view(), name="waitlist-entry"
    ),
    path(
        "waitlist/<str:reference>/leave",
        waitlist_api.WaitlistLeaveApi.as_view(),
        name="waitlist-leave",
    ),
]
