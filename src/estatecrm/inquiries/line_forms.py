"""The case page's 「LINEを送る」 form."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from estatecrm.inquiries.line import MAX_TEXT_LENGTH


class LineTextForm(forms.Form):
    """A text and its retry key: the key is made when the form is shown, so the same form sent twice
    (a double click, a retry after an error) is one message (LINE's `X-Line-Retry-Key`)."""

    text = forms.CharField(label=_("Message"), max_length=MAX_TEXT_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
    retry_key = forms.UUIDField(widget=forms.HiddenInput)

    @classmethod
    def fresh(cls) -> "LineTextForm":
        return cls(initial={"retry_key": uuid.uuid4()})
