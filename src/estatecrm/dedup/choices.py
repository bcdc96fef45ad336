from django.db import models
from django.utils.translation import gettext_lazy as _

# A merge can be undone this many days after it was made.
MERGE_UNDO_DAYS = 30


class MergeMode(models.TextChoices):
    INTEGRATE = "integrate", _("Integrate history")  # 活動履歴を統合する
    LINK = "link", _("Link without integrating")  # 統合しない
