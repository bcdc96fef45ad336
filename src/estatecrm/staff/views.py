"""The staff pages (異動・退職, 担当変更履歴). Written by the pages branch; the foundation only names the routes."""

from django.http import Http404


def _not_yet(request, *args, **kwargs):
    raise Http404()


home = transfer = retire = cases = set_successor = history = history_detail = history_undo = _not_yet
