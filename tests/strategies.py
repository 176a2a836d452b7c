"""Hypothesis strategies shared by several test modules."""

from __future__ import annotations

from hypothesis import strategies as st

from scmgym.simulators import hfs

#: HFS machine types in a fixed order (sampled_from needs a sequence).
HFS_TYPES = sorted(hfs.MACHINE_TYPES)


def hfs_order_rows(max_size: int) -> st.SearchStrategy:
    """Small HFS order books: 1..``max_size`` rows ``(machine_type, basement_day, panel_day,
    delivery_day)``, numbered by the caller into :func:`hfs.make_instance` rows."""
    return st.lists(
        st.tuples(st.sampled_from(HFS_TYPES), st.integers(0, 15), st.integers(0, 15),
                  st.integers(0, 70)),
        min_size=1, max_size=max_size,
    )
