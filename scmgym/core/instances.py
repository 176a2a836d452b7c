"""Instance sources: the one instance of a problem, a list of them, or a split of a generator.

A problem's ``dataset`` is text (plain data, so env kwargs and run configs stay JSON):

=================================  ==========================================================
``list1`` / ``d1`` / a path        one instance (as before: the bundled name or a CSV/Excel file)
``list1,list2``                    a list: each episode draws one of them (uniformly)
``generated:train``                an unbounded stream of generated instances of split
                                   ``train``: each episode draws a fresh one
``generated:test:50``              the first 50 instances of split ``test``
``generated(n=200,due_scale=0.8)``  generator parameters (the plant's, below), then the split
``:validation:20``                 and count as above
``generated:test#7``               instance 7 of split ``test`` alone (an instance's name)
=================================  ==========================================================

Members of a list may mix bundled names, paths and counted generator splits
(``list1,generated:test:5``); an unbounded stream stands alone.

**Splits.** Instance ``k`` of split ``s`` is generated with the seed
``stream_seed("instances-" + s, k)`` (:mod:`scmgym.core.seeds`): the three splits ``train``,
``validation`` and ``test`` come from disjoint seed streams, so no instance is in two of them
(``tests/test_instances.py`` checks it by content hash), and the first ``m`` instances of a split
are the same whatever count is asked for. Instance ``k`` is named ``generated:<split>#<k>``
(with the parameters when there are any, ``generated(n=200):test#7``), and that name is a
dataset text of its own: the one instance.

**Generator parameters** per plant (the plant's ``generate`` function; defaults in brackets):

* HFS (:func:`scmgym.simulators.hfs_generator.generate_hfs_instance`): ``n`` [100],
  ``profile`` [short] (short: d1-d3, long: d5), ``types`` [all] (all, lt7, lt8),
  ``due_scale`` [1].
* make-or-buy (:func:`scmgym.simulators.make_or_buy.generate_make_or_buy_instance`): ``n``
  [100], ``max_count`` [20], ``deadline_scale`` [n / 100], ``allow_empty`` [false].

>>> src = parse_source("make-or-buy", "list1,list2")
>>> src.size, src.names
(2, ('list1', 'list2'))
>>> parse_source("hfs", "generated(n=20):test:3").get(2).name
'generated(n=20):test#2'
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scmgym.core.seeds import stream_seed
from scmgym.errors import DataError

#: The named splits of a generator.
SPLITS = ("train", "validation", "test")
#: The prefix of a generated member.
GENERATED = "generated"
#: Instances kept in memory per source (generating again is cheap; loading files is not).
CACHE_SIZE = 512
#: Instances of an unbounded stream whose values fix the observation bounds of an env.
BOUNDS_SAMPLE = 200
#: The index range an episode draws from an unbounded stream.
STREAM_SPAN = 2**31


def instance_digest(instance: Any) -> str:
    """A content hash of an instance (its rows, not its name): equal orders, equal digest."""
    rows = json.dumps(instance.to_rows(), sort_keys=True, default=str)
    return hashlib.sha256(rows.encode()).hexdigest()[:16]


def split_top_level(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


@dataclass(frozen=True)
class Generated:
    """A split of a plant's generator: ``count`` instances, or an unbounded stream (None)."""

    split: str
    count: int | None
    params: tuple[tuple[str, Any], ...] = ()
    #: The index of the member's first instance in its split (``#k`` names one instance).
    start: int = 0

    @property
    def prefix(self) -> str:
        if not self.params:
            return GENERATED
        inner = ",".join(f"{k}={_show(v)}" for k, v in self.params)
        return f"{GENERATED}({inner})"

    @property
    def text(self) -> str:
        if self.start:
            return self.name(0)
        tail = "" if self.count is None else f":{self.count}"
        return f"{self.prefix}:{self.split}{tail}"

    def seed(self, k: int) -> int:
        """The generator seed of the member's ``k``-th instance."""
        return stream_seed(f"instances-{self.split}", self.start + k)

    def name(self, k: int) -> str:
        """The name of the member's ``k``-th instance."""
        return f"{self.prefix}:{self.split}#{self.start + k}"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _parse_generated(plant: Any, text: str) -> Generated:
    head, sep, rest = text.partition(":")
    params: dict[str, Any] = {}
    allowed_form = (f"{GENERATED}[(key=value,...)]:SPLIT[:COUNT] with SPLIT one of "
                    f"{', '.join(SPLITS)}")
    if head != GENERATED:
        if not (head.startswith(GENERATED + "(") and head.endswith(")")):
            raise DataError("bad generated dataset", value=text, allowed=allowed_form)
        known = plant.generator_params
        for item in split_top_level(head[len(GENERATED) + 1:-1]):
            key, eq, val = item.partition("=")
            key = key.strip()
            if not eq or not key:
                raise DataError("a generator parameter must be key=value", value=item,
                                allowed=allowed_form)
            if key not in known:
                raise DataError(f"the {plant.title} generator has no parameter {key}",
                                column=key, value=text, allowed=", ".join(known))
            params[key] = _value(val.strip())
    if not sep:
        raise DataError("a generated dataset needs a split", value=text, allowed=allowed_form)
    split, _, count_text = rest.partition(":")
    split, hash_, index_text = split.partition("#")
    start = 0
    if hash_:
        if count_text or not index_text.isdigit():
            raise DataError("one generated instance is named SPLIT#INDEX", column="index",
                            value=text, allowed="e.g. generated:test#7 (an integer >= 0)")
        start, count_text = int(index_text), "1"
    if split not in SPLITS:
        raise DataError("unknown split", column="split", value=split, allowed=", ".join(SPLITS))
    count = None
    if count_text:
        try:
            count = int(count_text)
        except ValueError:
            count = 0
        if count < 1:
            raise DataError("the instance count must be a positive integer", column="count",
                            value=count_text, allowed="an integer >= 1")
    gen = Generated(split, count, tuple(sorted(params.items())), start)
    plant.generate(_params_for(gen, 0), gen.seed(0))  # bad parameter values fail here
    return gen


def _params_for(gen: Generated, k: int) -> dict[str, Any]:
    return {**dict(gen.params), "name": gen.name(k)}


@dataclass(frozen=True)
class InstanceSource:
    """Where a problem's instances come from (see the module docstring).

    Attributes:
        plant: the plant's name.
        text: the dataset text it was parsed from (canonical form).
        members: the members in order: a dataset name/path (str) or a :class:`Generated`.
    """

    plant: str
    text: str
    members: tuple[str | Generated, ...]
    _cache: OrderedDict = field(default_factory=OrderedDict, compare=False, repr=False)
    #: Instances given as objects (never evicted): index -> instance.
    pinned: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)

    # -- what it is ----------------------------------------------------------------------------
    @property
    def single(self) -> bool:
        """One instance (the classic problem)."""
        return self.size == 1

    @property
    def bounded(self) -> bool:
        """Finitely many instances (False for an unbounded generated stream)."""
        return all(isinstance(m, str) or m.count is not None for m in self.members)

    @property
    def size(self) -> int | None:
        """The number of instances, None for an unbounded stream."""
        if not self.bounded:
            return None
        return sum(1 if isinstance(m, str) else m.count for m in self.members)

    @property
    def names(self) -> tuple[str, ...]:
        """The instance names of a bounded source, in index order."""
        if not self.bounded:
            raise DataError("an unbounded generated stream has no list of names",
                            value=self.text, allowed="a split with a count, e.g. "
                            "generated:test:50")
        return tuple(self._locate(k)[1] for k in range(self.size))

    # -- getting instances ---------------------------------------------------------------------
    def _locate(self, k: int) -> tuple[str | Generated, str, int]:
        """(member, instance name, index within the member) of instance ``k``."""
        if not self.bounded:
            (gen,) = self.members
            return gen, gen.name(k), k
        for m in self.members:
            width = 1 if isinstance(m, str) else m.count
            if k < width:
                return (m, m, 0) if isinstance(m, str) else (m, m.name(k), k)
            k -= width
        raise IndexError(k)

    def get(self, k: int) -> Any:
        """Instance ``k`` (0-based; for a stream, any ``k >= 0``), loaded or generated once."""
        from scmgym.core.registry import get_plant

        k = int(k)
        size = self.size
        if k < 0 or (size is not None and k >= size):
            top = "any integer >= 0" if size is None else f"0..{size - 1}"
            raise DataError("instance index out of range", value=k, allowed=top)
        if k in self.pinned:
            return self.pinned[k]
        hit = self._cache.get(k)
        if hit is not None:
            self._cache.move_to_end(k)
            return hit
        member, _, j = self._locate(k)
        spec = get_plant(self.plant)
        inst = (spec.load(member) if isinstance(member, str)
                else spec.generate(_params_for(member, j), member.seed(j)))
        self._cache[k] = inst
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return inst

    def draw(self, rng: np.random.Generator) -> int:
        """The index of an episode's instance, drawn from ``rng`` (no draw for one instance)."""
        if self.single:
            return 0
        return int(rng.integers(0, self.size if self.bounded else STREAM_SPAN))

    def instances(self) -> list[Any]:
        """Every instance of a bounded source."""
        return [self.get(k) for k in range(len(self.names))]

    def sample(self) -> list[Any]:
        """The instances that fix an env's observation bounds: all of a bounded source, the
        first :data:`BOUNDS_SAMPLE` of a stream (values beyond them are clipped)."""
        if self.bounded:
            return self.instances()
        return [self.get(k) for k in range(BOUNDS_SAMPLE)]


def parse_source(plant: str, text: str | Sequence[str]) -> InstanceSource:
    """Parse a dataset text (or a list of member texts) of ``plant`` into a source.

    Raises:
        DataError: an unknown split, generator parameter or bad count, or an unbounded stream
            inside a list; a missing file or bundled name fails when the instance is loaded.
    """
    from scmgym.core.registry import get_plant

    spec = get_plant(plant)
    items = split_top_level(text) if isinstance(text, str) else [str(t) for t in text]
    if not items or any(not t for t in items):
        raise DataError("empty dataset name", value=text if isinstance(text, str) else
                        ",".join(items), allowed="a name, a path, a comma-separated list or "
                        "generated:SPLIT[:COUNT]")
    members: list[str | Generated] = []
    for item in items:
        if item == GENERATED or item.startswith((GENERATED + ":", GENERATED + "(")):
            members.append(_parse_generated(spec, item))
        else:
            members.append(item)
    gens = [m for m in members if isinstance(m, Generated)]
    if any(g.count is None for g in gens) and len(members) > 1:
        raise DataError("an unbounded generated stream cannot be part of a list",
                        value=",".join(items), allowed="a split with a count inside a list, "
                        "e.g. list1,generated:train:50")
    canon = ",".join(m if isinstance(m, str) else m.text for m in members)
    return InstanceSource(plant, canon, tuple(members))
