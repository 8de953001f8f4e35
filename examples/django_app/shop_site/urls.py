"""The shop's pages, and the sidequest dashboard at /sidequest/ (staff users only)."""

from django.urls import include, path
from orders import views

urlpatterns = [
    path("orders/", views.place_order, name="place-order"),
    path("sidequest/", include("sidequest.contrib.django.urls")),
]
