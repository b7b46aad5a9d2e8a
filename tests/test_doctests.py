"""The examples in the docstrings of every module run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import dedupe

MODULES = sorted(m.name for m in pkgutil.walk_packages(dedupe.__path__, "dedupe.") if m.name != "dedupe.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
