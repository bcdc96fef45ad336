"""Forms of the move-in pages: structure only; the rules live in verdicts.do_give_verdict."""

from django import forms
from django.utils.translation import gettext_lazy as _

from estatecrm.vendor.choices import Verdict
from estatecrm.vendor.verdicts import COMMENT_MAX_LENGTH


class VerdictForm(forms.Form):
    verdict = forms.ChoiceField(label=_("Verdict"), widget=forms.RadioSelect,
                                choices=[(Verdict.VERIFIED.value, Verdict.VERIFIED.label), (Verdict.PROBLEMS.value, _("Report problems"))])
    comment = forms.CharField(label=_("Comment"), required=False, max_length=COMMENT_MAX_LENGTH,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("Required when you report problems: what is wrong, with examples."))
