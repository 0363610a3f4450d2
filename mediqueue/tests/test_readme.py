"""The README is the front door (issue 23): short enough to read, and every link in it and in
docs/ leads somewhere."""

import re

import pytest
from django.conf import settings

README = settings.BASE_DIR / "README.md"
DOCS = sorted((settings.BASE_DIR / "docs").glob("*.md"))


# Written by the security review's branch (issue 22), merged beside this one.
def test_the_readme_fits_in_350_lines():
    assert len(README.read_text().splitlines()) <= 350


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file(page):
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]

    missing = [t for t in local if not (page.parent / t).exists()]
    assert missing == []
