"""An order, confirmed by a background job and invoiced by another."""

from django.db import models


class Order(models.Model):
    item = models.CharField(max_length=200)
    confirmed = models.BooleanField(default=False)
    invoiced = models.BooleanField(default=False)
