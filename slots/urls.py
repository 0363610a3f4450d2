from django.urls import path

from slots import api

urlpatterns = [
    path("slots", api.SlotListApi.as_view(), name="slot-list"),
    path("slots/<int:slot_id>", api.SlotDetailApi.as_view(), name="slot-detail"),
    path("doctors", api.DoctorListApi.as_view(), name="doctor-list"),
    path("admin/doctors", api.AdminDoctorCreateApi.as_view(), name="admin-doctor-create"),
    path("admin/slots", api.AdminSlotCreateApi.as_view(), name="admin-slot-create"),
]
