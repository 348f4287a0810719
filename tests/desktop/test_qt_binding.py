"""The Qt binding keeps Python's reference count of None.

PySide6 6.12.0 dropped one reference to None on every call of a method that returns nothing
(`QLabel.setText`, `QWidget.repaint`, QTest's key and mouse functions...). On Python 3.11 None is an
ordinary object, so a desk in use for a while would abort with "deallocating None".
pyproject.toml keeps the binding below 6.12; this test fails on a binding with the fault.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_calls_that_return_nothing_keep_the_count_of_none(qtbot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for n in range(5000):
        label.setText(str(n))
        label.setEnabled(n % 2 == 0)
    # A faulty binding loses 10,000 here; allow for the noise of a busy interpreter.
    assert sys.getrefcount(None) >= before - 500
