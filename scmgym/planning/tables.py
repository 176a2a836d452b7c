"""Planning data on disk: a folder of CSV tables or one Excel workbook with a sheet per table.

Each planning model declares its tables as :class:`Table` objects (columns with a type, whether
they are required, a default and the allowed range). :func:`read_tables` reads them from either
form and checks every cell, so a bad value is reported as a :class:`~scmgym.errors.DataError`
that names the file (and sheet), the spreadsheet row (the header is row 1), the column, the value
and what is allowed. Reference checks between tables (an unknown location, a lane into a
supplier, ...) belong to the model's own loader, which uses :func:`where` to name the row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from scmgym.errors import DataError

EXCEL_SUFFIXES = (".xlsx", ".xlsm")

#: Column kinds: a text key, an integer, a real number, or a choice among ``choices``.
KINDS = ("text", "int", "float", "choice")


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``default`` fills a missing column or an empty cell (``None``: the cell is required, unless
    ``blank`` is True, in which case an empty cell stays empty: NaN for numbers, which models
    read as "unlimited"). ``low``/``high`` bound numbers (inclusive) and ``low_open`` makes the
    lower bound strict.
    """

    name: str
    kind: str = "text"
    default: object = None
    blank: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column kind must be one of {KINDS}, got {self.kind!r}")

    def allowed(self) -> str:
        if self.kind == "choice":
            return ", ".join(self.choices)
        what = {"text": "a non-empty text", "int": "an integer",
                "float": "a number"}[self.kind]
        if self.low is not None and self.high is not None:
            what += f" {'>' if self.low_open else '>='} {self.low:g} and <= {self.high:g}"
        elif self.low is not None:
            what += f" {'>' if self.low_open else '>='} {self.low:g}"
        elif self.high is not None:
            what += f" <= {self.high:g}"
        if self.blank:
            what += ", or empty"
        return what


@dataclass(frozen=True)
class Table:
    """A table: its name (the CSV file stem or the sheet name), its columns, the columns whose
    combination must be unique, and whether the table may be absent (then it is empty)."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    optional: bool = False
    doc: str = ""

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def empty(self) -> pd.DataFrame:
        return pd.DataFrame({c.name: pd.Series(dtype=_dtype(c)) for c in self.columns})


def _dtype(col: Column) -> str:
    return {"text": "object", "choice": "object", "int": "int64", "float": "float64"}[col.kind]


@dataclass
class Source:
    """Where a table came from, for error messages."""

    path: Path
    sheet: str | None = None
    names: dict[str, str] = field(default_factory=dict)

    def of(self, table: str) -> str:
        if self.sheet is not None or self.path.suffix.lower() in EXCEL_SUFFIXES:
            return f"{self.path}, sheet {table!r}"
        return str(self.path / f"{table}.csv")


def source_of(source: str | Source | None, table: str) -> str:
    """How an error names ``table`` of an instance read from ``source``."""
    return source.of(table) if isinstance(source, Source) else (
        f"{source}:{table}" if source else table)


def where(tables: Mapping[str, pd.DataFrame], source: str | Source | None, table: str,
          index: int) -> dict:
    """The ``source``/``row`` keyword arguments of a DataError about row ``index`` (the
    DataFrame index, 0-based) of ``table``."""
    src = source_of(source, table)
    row = tables[table].attrs.get("rows")
    number = int(row[index]) if row is not None else int(index) + 2
    return {"source": src, "row": number}


def read_tables(path: str | Path, tables: Sequence[Table]) -> tuple[dict[str, pd.DataFrame],
                                                                    Source]:
    """Read and type-check ``tables`` from a folder of CSV files or an Excel workbook.

    Raises:
        DataError: the path does not exist, a required table or column is missing, a cell is
            not of its column's kind or out of its range, or a key is repeated.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raw = {}
        for table in tables:
            file = path / f"{table.name}.csv"
            if not file.is_file():
                if table.optional:
                    continue
                names = ', '.join(t.name + '.csv' for t in tables if not t.optional)
                raise DataError("missing table", source=str(file),
                                allowed=f"a folder with {names}")
            raw[table.name] = pd.read_csv(file, dtype=str, keep_default_na=False,
                                          skipinitialspace=True)
        source = Source(path)
    elif path.is_file() and path.suffix.lower() in EXCEL_SUFFIXES:
        book = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
        raw = {}
        for table in tables:
            if table.name not in book:
                if table.optional:
                    continue
                names = ', '.join(t.name for t in tables if not t.optional)
                raise DataError("missing sheet", source=str(path), value=table.name,
                                allowed=f"sheets {names}")
            raw[table.name] = book[table.name]
        source = Source(path, sheet="")
    else:
        raise DataError("no such planning instance", value=str(path),
                        allowed="a folder of CSV tables or an .xlsx workbook")
    out = {}
    for table in tables:
        frame = raw.get(table.name)
        out[table.name] = table.empty() if frame is None else _check_table(
            frame, table, source.of(table.name))
    return out, source


def _check_table(frame: pd.DataFrame, table: Table, src: str) -> pd.DataFrame:
    frame = frame.rename(columns=lambda c: str(c).strip())
    frame = frame.loc[:, [c for c in frame.columns if not c.startswith("Unnamed:")]]
    known = {c.name for c in table.columns}
    for name in frame.columns:
        if name not in known:
            raise DataError("unknown column", source=src, row=1, column=name,
                            allowed=", ".join(sorted(known)))
    # spreadsheet rows of the data (a wholly empty line of a CSV file is dropped)
    text = frame.astype(str).apply(lambda s: s.str.strip())
    filled = (text != "").any(axis=1).to_numpy() if len(text.columns) else np.zeros(0, bool)
    rows = np.arange(2, len(frame) + 2)[filled]
    text = text.loc[filled].reset_index(drop=True)
    out = {}
    for col in table.columns:
        if col.name not in text.columns:
            if col.default is None and not col.blank:
                names = ", ".join(c.name for c in table.columns
                                  if c.default is None and not c.blank)
                raise DataError("missing column", source=src, row=1, column=col.name,
                                allowed=f"a header with {names}")
            out[col.name] = pd.Series([col.default] * len(text),
                                      dtype=_dtype(col) if col.default is not None else "float64")
            continue
        out[col.name] = _parse_column(text[col.name], col, src, rows)
    result = pd.DataFrame(out)
    if table.key and len(result):
        dup = result.duplicated(list(table.key), keep="first").to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            value = tuple(result.iloc[i][k] for k in table.key)
            raise DataError("repeated key", source=src, row=int(rows[i]),
                            column=",".join(table.key),
                            value=value[0] if len(value) == 1 else value,
                            allowed="each key once per table")
    result.attrs["rows"] = tuple(int(r) for r in rows)
    return result


def _parse_column(cells: pd.Series, col: Column, src: str, rows: np.ndarray) -> pd.Series:
    empty = (cells == "").to_numpy()
    if empty.any() and col.default is None and not col.blank:
        i = int(np.flatnonzero(empty)[0])
        raise DataError("empty cell", source=src, row=int(rows[i]), column=col.name,
                        allowed=col.allowed())
    if col.kind in ("text", "choice"):
        values = cells.where(~empty, "" if col.default is None else str(col.default))
        if col.kind == "choice":
            bad = ~values.isin(col.choices).to_numpy() & ~(empty & col.blank)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError("not an allowed value", source=src, row=int(rows[i]),
                                column=col.name, value=cells.iloc[i], allowed=col.allowed())
        return values.astype(object).reset_index(drop=True)
    numbers = pd.to_numeric(cells.where(~empty, None), errors="coerce").to_numpy(float)
    bad = np.isnan(numbers) & ~empty
    if col.kind == "int":
        bad |= ~empty & ~np.isnan(numbers) & (np.abs(numbers - np.round(numbers)) > 1e-9)
    bad |= np.isinf(numbers)
    if col.low is not None:
        bad |= ~empty & ((numbers <= col.low) if col.low_open else (numbers < col.low))
    if col.high is not None:
        bad |= ~empty & (numbers > col.high)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError("bad value", source=src, row=int(rows[i]), column=col.name,
                        value=cells.iloc[i], allowed=col.allowed())
    if empty.any():
        fill = math.nan if col.default is None else float(col.default)
        numbers = np.where(empty, fill, numbers)
    if col.kind == "int" and not np.isnan(numbers).any():
        return pd.Series(np.round(numbers).astype(np.int64))
    return pd.Series(numbers)


def write_tables(path: str | Path, frames: Mapping[str, pd.DataFrame]) -> Path:
    """Write ``frames`` as a folder of CSV files, or as one workbook when ``path`` ends in
    ``.xlsx`` (one sheet per table). NaN is written as an empty cell."""
    path = Path(path)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        path.parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(path) as writer:
            for name, frame in frames.items():
                frame.to_excel(writer, sheet_name=name, index=False)
        return path
    path.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(path / f"{name}.csv", index=False, float_format="%.10g")
    return path


@dataclass(frozen=True, eq=False)
class TableSet:
    """A checked planning instance kept as one pandas DataFrame per table of the class's
    ``TABLES``: the base of each planning model's instance class.

    A subclass sets ``TABLES`` and overrides :meth:`check` (references between tables, with
    :meth:`_refs` and :meth:`_fail` naming the first bad row). Tables are reachable as
    attributes (``inst.demands``); the instance is never changed after construction.
    """

    TABLES: ClassVar[tuple[Table, ...]] = ()

    name: str
    frames: dict[str, pd.DataFrame]
    source: Source | str | None = None
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_frames(cls, name: str, frames: Mapping[str, pd.DataFrame], *,
                    source: Source | str | None = None, meta: dict | None = None,
                    check: bool = True):
        """Fill absent optional tables and columns (with their defaults), order the columns
        as declared and check the whole instance."""
        full = {}
        for t in cls.TABLES:
            frame = frames.get(t.name)
            if frame is None:
                frame = t.empty()
            else:
                frame = frame.reset_index(drop=True).copy()
                for col in t.columns:
                    if col.name not in frame.columns:
                        frame[col.name] = col.default if col.default is not None else np.nan
                rows = frames[t.name].attrs.get("rows")
                frame = frame[[c.name for c in t.columns]]
                if rows is not None:
                    frame.attrs["rows"] = rows
            full[t.name] = frame
        inst = cls(name=name, frames=full, source=source, meta=dict(meta or {}))
        if check:
            inst.check()
        return inst

    @classmethod
    def load(cls, path: str | Path, *, name: str | None = None):
        """Read an instance from a folder of CSV tables or an ``.xlsx`` workbook and check it.

        Raises:
            DataError: naming the file (and sheet), row, column, value and what is allowed.
        """
        frames, source = read_tables(path, cls.TABLES)
        return cls.from_frames(name or Path(path).stem, frames, source=source)

    def write(self, path: str | Path) -> Path:
        """Write the instance as a folder of CSV tables, or a workbook if ``path`` ends in
        .xlsx."""
        return write_tables(path, self.frames)

    def __getattr__(self, item: str) -> pd.DataFrame:
        frames = self.__dict__.get("frames")
        if frames is not None and item in frames:
            return frames[item]
        raise AttributeError(item)

    def check(self) -> None:
        """Check references between tables (a subclass's rules)."""

    def setting(self, name: str):
        """Column ``name`` of the one-row ``settings`` table, or its default when the table is
        empty (an int or a float, by the column's kind)."""
        table = next(t for t in self.TABLES if t.name == "settings")
        col = table.column(name)
        rows = self.frames["settings"]
        value = rows[name].iloc[0] if len(rows) else col.default
        return int(value) if col.kind == "int" else float(value)

    # ---- helpers for check() ---------------------------------------------------------------
    def _where(self, tab: str, index: int) -> dict:
        return where(self.frames, self.source, tab, index)

    def _fail(self, problem: str, tab: str, mask, column: str, allowed: str,
              value: object = None) -> None:
        """Raise a DataError about the first row of ``tab`` where ``mask`` holds (nothing
        when it holds nowhere); the value is the row's ``column`` unless given."""
        mask = np.asarray(mask, bool)
        if not mask.any():
            return
        i = int(np.flatnonzero(mask)[0])
        shown = self.frames[tab][column].iloc[i] if value is None else value
        if isinstance(shown, np.generic):
            shown = shown.item()
        raise DataError(problem, **self._where(tab, i), column=column, value=shown,
                        allowed=allowed)

    def _refs(self, tab: str, column: str, allowed: set, what: str,
              *, optional: bool = False) -> None:
        """Every value of ``tab.column`` must be one of ``allowed`` (empty passes when
        ``optional``)."""
        values = self.frames[tab][column]
        bad = ~values.isin(allowed)
        if optional:
            bad &= values != ""
        shown = [str(x) for x in sorted(allowed)]
        more = f" (and {len(shown) - 8} more)" if len(shown) > 8 else ""
        self._fail(f"unknown {what}", tab, bad.to_numpy(), column,
                   (", ".join(shown[:8]) + more) if shown else f"no {what} is defined")
