"""The read-only tables of records the screens show.

Every table here

- fits its columns to the width it has: short columns (times, statuses, amounts) keep their full
  width, the widest columns give way first and elide with "…", and the full text is a tooltip; so
  decisive columns stay on screen at 1280x800 without a horizontal scrollbar however long a
  provider's name is. Columns named in `keep` (people's names) give way last.
- shows each cell's text in a directional isolate with any invisible formatting characters made
  visible (`visitdesk.api.text.isolate`), so a name carrying a right-to-left override cannot
  reorder the rest of its row.
- says why it is empty, in words, when it has no rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QLocale,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolTip,
    QWidget,
)

from visitdesk.api.text import isolate

Index = QModelIndex | QPersistentModelIndex

#: The empty-state text colour: #52606d on white is 6.4:1 (WCAG AA asks 4.5:1); see style.qss.
EMPTY_TEXT_COLOUR = "#52606d"
#: Room around a cell's text (the style's margins and a little air), in pixels.
CELL_PADDING = 14
#: No column is made narrower than this, whatever its header.
MIN_COLUMN = 40


class IsolatingDelegate(QStyledItemDelegate):
    """Draws each cell's text isolated, and offers the full text as a tooltip when it is elided."""

    # The text is isolated in displayText, not in an initStyleOption override: PySide6 (6.12 on
    # Python 3.11) loses a reference to None on every call of a Python initStyleOption, and a
    # board of 2,000 rows measured for its column widths every few seconds ran None's count to
    # zero within a minute ("deallocating None"). displayText is called by the C++
    # initStyleOption for each cell and has no such leak.
    def displayText(self, value: object, locale: QLocale) -> str:
        text = value if isinstance(value, str) else super().displayText(value, locale)
        return isolate(text) if text else ""

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: Index,
    ) -> bool:
        if event.type() == QEvent.Type.ToolTip and index.data(Qt.ItemDataRole.ToolTipRole) is None:
            tip = elided_text_tooltip(view, index)
            if tip:
                QToolTip.showText(event.globalPos(), tip, view)
                return True
        return super().helpEvent(event, view, option, index)


def elided_text_tooltip(view: QAbstractItemView, index: Index) -> str:
    """The cell's full text (isolated) when the column is too narrow to show it; else ""."""
    text = index.data(Qt.ItemDataRole.DisplayRole)
    if not text:
        return ""
    shown = isolate(str(text))
    needed = view.fontMetrics().horizontalAdvance(shown) + CELL_PADDING
    return shown if needed > view.visualRect(index).width() else ""


class RowsTable(QTableView):
    """A read-only table of whole rows that fits its width and says why it is empty."""

    def __init__(
        self,
        model: QAbstractItemModel,
        stretch: int | None,
        keep: Sequence[int] = (),
        empty: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setModel(model)
        self._stretch = model.columnCount() - 1 if stretch is None else stretch
        self._keep = frozenset(keep)
        self._empty = empty
        self.setItemDelegate(IsolatingDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setTabKeyNavigation(False)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        for signal in (
            model.modelReset,
            model.layoutChanged,
            model.rowsInserted,
            model.rowsRemoved,
            model.dataChanged,
        ):
            signal.connect(self.fit_columns)
        self.fit_columns()

    # ---- empty state

    @property
    def empty_text(self) -> str:
        return self._empty

    def set_empty_text(self, text: str) -> None:
        """Why the table has no rows, in the clinic's words ("No one has checked in yet today")."""
        self._empty = text
        self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if self._empty and model is not None and model.rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(QColor(EMPTY_TEXT_COLOUR))
            area = self.viewport().rect().adjusted(16, 16, -16, -16)
            painter.drawText(
                area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._empty
            )
            painter.end()

    # ---- fitting the columns to the width

    def viewportEvent(self, event: QEvent) -> bool:
        handled = super().viewportEvent(event)
        if event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return handled

    def natural_widths(self) -> list[int]:
        header = self.horizontalHeader()
        return [
            max(header.sectionSizeHint(c), self.sizeHintForColumn(c) + 2, MIN_COLUMN)
            for c in range(header.count())
        ]

    def fit_columns(self, *_args: object) -> None:
        header = self.horizontalHeader()
        count = header.count()
        if count == 0:
            return
        natural = self.natural_widths()
        floor = [min(n, max(header.sectionSizeHint(c), MIN_COLUMN)) for c, n in enumerate(natural)]
        widths = fitted_widths(natural, floor, self.viewport().width(), self._stretch, self._keep)
        for column, width in enumerate(widths):
            if header.sectionSize(column) != width:
                header.resizeSection(column, width)


def _water_fill(natural: list[int], floor: list[int], columns: list[int], room: int) -> list[int]:
    """Widths for `columns`: each its natural width capped at one level, chosen to fill `room`."""
    low, high = 0, max((natural[c] for c in columns), default=0)
    while low < high:
        level = (low + high + 1) // 2
        used = sum(max(floor[c], min(natural[c], level)) for c in columns)
        if used <= room:
            low = level
        else:
            high = level - 1
    widths = list(natural)
    for c in columns:
        widths[c] = max(floor[c], min(natural[c], low))
    return widths


def fitted_widths(
    natural: list[int], floor: list[int], available: int, stretch: int, keep: frozenset[int]
) -> list[int]:
    """Column widths that fill `available` pixels without going over it when they can.

    Columns at their natural width when that fits, the spare width to `stretch`. Otherwise the
    widest columns outside `keep` give way first (down to their header's width), then those in it.
    """
    total = sum(natural)
    if total <= available:
        widths = list(natural)
        if 0 <= stretch < len(widths):
            widths[stretch] += available - total
        return widths
    columns = list(range(len(natural)))
    first = [c for c in columns if c not in keep]
    fixed = sum(natural[c] for c in columns if c in keep)
    widths = _water_fill(natural, floor, first, available - fixed)
    if sum(widths) > available and keep:
        rest = sum(widths[c] for c in first)
        widths = _water_fill(widths, floor, sorted(keep), available - rest)
    return widths


def rows_table(
    model: QAbstractItemModel,
    stretch: int | None = None,
    *,
    keep: Sequence[int] = (),
    empty: str = "",
) -> RowsTable:
    """A read-only table of whole rows, one selectable at a time.

    Columns fit their contents and the table's width; column `stretch` (the last one when None)
    takes the spare width; columns in `keep` are the last to be shortened. `empty` says why there
    are no rows. Tab leaves the table instead of stepping through cells.
    """
    return RowsTable(model, stretch, keep, empty)
