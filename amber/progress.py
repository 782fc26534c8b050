"""Progress reporting that suits both a terminal and a batch log.

On a terminal a tqdm bar is shown; elsewhere (under Snakemake or SLURM, where stderr is
a log file) one log line is written at most every ``every_s`` seconds, plus the last.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from tqdm import tqdm

T = TypeVar("T")
log = logging.getLogger("amber")


class Progress(Generic[T]):
    """Iterate over ``iterable`` reporting progress; ``set(**fields)`` adds live values."""

    def __init__(
        self,
        iterable: Iterable[T],
        *,
        total: int | None = None,
        desc: str = "",
        every_s: float = 10.0,
        initial: int = 0,
    ) -> None:
        self._iterable = iterable
        self._total = total
        self._desc = desc
        self._every = every_s
        self._initial = initial
        self._fields: dict[str, object] = {}
        self._bar: tqdm | None = None
        if sys.stderr.isatty():
            self._bar = tqdm(total=total, desc=desc, initial=initial, dynamic_ncols=True)

    def set(self, **fields: object) -> None:
        self._fields.update(fields)
        if self._bar is not None:
            self._bar.set_postfix({k: _fmt(v) for k, v in self._fields.items()}, refresh=False)

    def __iter__(self) -> Iterator[T]:
        last = time.monotonic()
        done = self._initial
        try:
            for item in self._iterable:
                yield item
                done += 1
                if self._bar is not None:
                    self._bar.update(1)
                    continue
                now = time.monotonic()
                if now - last >= self._every or done == self._total:
                    last = now
                    fields = " ".join(f"{k}={_fmt(v)}" for k, v in self._fields.items())
                    total = f"/{self._total}" if self._total else ""
                    log.info("%s %d%s %s", self._desc, done, total, fields)
        finally:
            if self._bar is not None:
                self._bar.close()


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
