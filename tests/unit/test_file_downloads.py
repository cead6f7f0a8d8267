"""How a stored file is handed to a browser: pictures and videos shown, anything else saved."""

from __future__ import annotations

import pytest

from adapters.files import disposition


@pytest.mark.parametrize("name", ["cat.png", "Holiday.JPG", "clip.mp4", "loop.webm"])
def test_pictures_and_videos_are_shown_in_the_page(name: str) -> None:
    assert disposition(name) == f'inline; filename="{name}"'


@pytest.mark.parametrize(
    "name", ["notes.txt", "report.pdf", "page.html", "logo.svg", "table.csv", "no-extension"]
)
def test_anything_else_is_saved_never_opened_as_a_document_of_the_app(name: str) -> None:
    assert disposition(name) == f'attachment; filename="{name}"'


def test_a_name_cannot_break_out_of_its_quotes() -> None:
    assert disposition('a"b\\c\n.png') == 'inline; filename="abc.png"'
