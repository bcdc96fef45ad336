"""`{% load vendor_tags %}`: `intcomma` (django.contrib.humanize's, without installing the app): counts with the
language's thousands separator (18,000), as the move-in page's script writes them while a phase runs."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()
register.filter("intcomma", intcomma, is_safe=True)
