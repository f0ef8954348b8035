"""One-line errors from exceptions that carry no ARM error body (`_first_line`'s fallback)."""

from __future__ import annotations

from azure.core.exceptions import ServiceRequestError

from jobs.submit import _first_line


def test_a_long_message_is_cut_at_400_characters() -> None:
    assert _first_line(ServiceRequestError("y" * 500)) == "y" * 400


def test_an_exception_without_a_message_attribute_gives_its_text_on_one_line() -> None:
    assert _first_line(ValueError("bad\n   value")) == "bad value"


def test_an_empty_message_names_the_exception_type() -> None:
    assert _first_line(ServiceRequestError("")) == "ServiceRequestError"
