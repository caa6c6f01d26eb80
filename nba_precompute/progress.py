"""Progress of a running Phase 4 step, for the command line's progress line.

The step runs in the CLI's own process (in-process executor), so a plain callback is enough:
`reporting(hook)` installs one for the duration of a run; assets.py calls `report()`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

Hook = Callable[[str, int, bool], None]  # (asset, dates, finished)
_hooks: list[Hook] = []


@contextmanager
def reporting(hook: Hook | None) -> Iterator[None]:
    if hook is None:
        yield
        return
    _hooks.append(hook)
    try:
        yield
    finally:
        _hooks.remove(hook)


def report(asset: str, dates: int, finished: bool) -> None:
    for hook in list(_hooks):
        hook(asset, dates, finished)
