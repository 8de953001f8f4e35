"""``path("sidequest/", include("sidequest.contrib.django.urls"))``: the dashboard under that prefix."""

from __future__ import annotations

from django.urls import re_path

from sidequest.contrib.django import views

app_name = "sidequest"
urlpatterns = [re_path(r"^(?P<path>.*)$", views.dashboard, name="dashboard")]
