import pytest

from estatecrm.inquiries.choices import Preset
from estatecrm.inquiries.models import InquirySource
from estatecrm.inquiries.tests.dovecot import dovecot  # noqa: F401  (the session's IMAP server, a fixture)
from estatecrm.inquiries.tests.line_fake import fake_line, line_channel  # noqa: F401 - the LINE tests' fixtures


@pytest.fixture
def suumo(company, org, agent):
    return InquirySource.objects.create(company=company, code="suumo", name="SUUMO", preset=Preset.SUUMO, org_unit=org["SBY"],
                                        default_assignee=agent, from_contains="jds.suumo.jp", subject_contains="反響")
