"""Locating and reading dataset files: bundled datasets by name, user files by path (CSV or Excel).

Row numbers in error messages are spreadsheet rows: the header is row 1, the first order is row 2
(for a CSV file that is also the line number a text editor shows).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import pandas as pd

from scmgym.errors import DataError

#: Bundled dataset names per plant (folder under ``scmgym/data``).
BUNDLED: dict[str, tuple[str, ...]] = {
    "hfs": ("d1", "d2", "d3", "d4", "d5"),
    "make_or_buy": ("list1", "list2", "list3"),
}

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
TABLE_SUFFIXES = (".csv", *EXCEL_SUFFIXES)


def bundled_names(plant: str) -> tuple[str, ...]:
    """The names of the datasets bundled for ``plant`` ("hfs" or "make_or_buy")."""
    return BUNDLED[plant]


def resolve(dataset: str | Path, plant: str) -> tuple[str, Path]:
    """Return ``(name, path)`` for a bundled dataset name or a file path.

    Args:
        dataset: a bundled name (e.g. ``"d1"``) or the path of a CSV/Excel file.
        plant: ``"hfs"`` or ``"make_or_buy"``.

    Raises:
        DataError: the name is not bundled and no such file exists.
    """
    text = str(dataset)
    if isinstance(dataset, str) and text in BUNDLED[plant]:
        ref = resources.files("scmgym.data").joinpath(plant, f"{text}.csv")
        with resources.as_file(ref) as path:  # a real file for an installed (non-zip) package
            return text, Path(path)
    path = Path(text).expanduser()
    if not path.is_file():
        raise DataError(
            "no such dataset",
            value=text,
            allowed=f"one of {', '.join(BUNDLED[plant])}, or the path of an existing "
            f"{'/'.join(TABLE_SUFFIXES)} file",
        )
    return path.stem, path


def read_table(
    path: Path, *, required: Sequence[str], optional: Iterable[str] = ()
) -> pd.DataFrame:
    """Read a CSV or Excel table as strings, with its columns checked.

    Excel files are read as their cached cell values (never recomputed). Entirely empty columns
    without a header (as spreadsheets often carry) are dropped. Every cell comes back as a string,
    stripped, with empty cells as ``""``, so the caller validates each value itself.

    Raises:
        DataError: the file is empty, unreadable, has no data rows, or misses or adds a column.
    """
    src = str(path)
    suffix = path.suffix.lower()
    try:
        if suffix in EXCEL_SUFFIXES:
            frame = pd.read_excel(path, sheet_name=0, dtype=object, header=0)
        else:
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, skipinitialspace=True, header=0
            )
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty", source=src,
                        allowed="a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataError(f"cannot read the file ({exc})", source=src) from None
    except (zipfile.BadZipFile, KeyError) as exc:  # a damaged or mislabelled .xlsx archive
        raise DataError(f"not a readable Excel workbook ({exc})", source=src,
                        allowed="an .xlsx file saved by a spreadsheet program, or a CSV file"
                        ) from None

    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.map(_cell_text)
    unnamed = [c for c in frame.columns if (c == "" or c.startswith("Unnamed:"))]
    frame = frame.drop(columns=[c for c in unnamed if (frame[c] == "").all()])
    frame = frame.loc[~(frame == "").all(axis=1)]  # fully blank rows (trailing spreadsheet rows)

    allowed = list(required) + [c for c in optional if c not in required]
    allowed_txt = ", ".join(allowed)
    for col in required:
        if col not in frame.columns:
            raise DataError(
                "missing column", source=src, column=col, allowed=f"columns {allowed_txt}"
            )
    for col in frame.columns:
        if col not in allowed:
            raise DataError(
                "unexpected column", source=src, column=col, allowed=f"columns {allowed_txt}"
            )
    dupes = frame.columns[frame.columns.duplicated()].tolist()
    if dupes:
        raise DataError("duplicate column", source=src, column=dupes[0])
    if frame.empty:
        raise DataError("the file has a header but no data rows", source=src)
    return frame.reset_index(drop=True)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value).strip()


def parse_int(
    text: str, *, source: str, row: int, column: str, minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Parse one integer cell, with an error naming file, row, column, value and allowed range."""
    lo = "-inf" if minimum is None else str(minimum)
    hi = "inf" if maximum is None else str(maximum)
    allowed = f"an integer in [{lo}, {hi}]"
    try:
        number = float(text) if text != "" else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not number.is_integer():
        raise DataError("not an integer", source=source, row=row, column=column, value=text,
                        allowed=allowed)
    value = int(number)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise DataError("out of range", source=source, row=row, column=column, value=value,
                        allowed=allowed)
    return value


def check_ids(ids: Sequence[int], *, source: str, column: str, first: int) -> None:
    """Check that ids are ``first, first+1, ...`` in row order (unique and contiguous)."""
    seen: dict[int, int] = {}
    for i, value in enumerate(ids):
        row = i + 2
        if value in seen:
            raise DataError(
                f"duplicate id (also on row {seen[value]})", source=source, row=row,
                column=column, value=value, allowed="unique ids",
            )
        seen[value] = row
        if value != first + i:
            raise DataError(
                "ids must be contiguous and in row order", source=source, row=row,
                column=column, value=value, allowed=f"{first + i} on this row "
                f"(ids {first}..{first + len(ids) - 1})",
            )
