"""The benchmark's sections, in the order they run and print.

Each is a module with ``run(ctx: benchmarks.context.Context) -> None``. Adding
a section is one new module here and one line in ``SECTIONS``.
"""

from __future__ import annotations

from . import (
    command,
    compile,
    deployments,
    fallback_chain,
    memory,
    scaling,
    selection,
    startup,
)

SECTIONS = (
    selection,  # 1. in-process selection vs a hand-written floor, jmespath, cel
    compile,  # 2. parse + check + compile, new text and cached
    command,  # 3a. the whole command on a catalog file, as a fresh process, vs jq
    startup,  # 3b. start-up on the builtin catalog, vs `python -c "import json"`
    fallback_chain,  # 3c. `check` on a 1,000-long fallback chain, vs `select -f`
    scaling,  # 4. time per entry from 100 to 100,000 entries (reads 1's results)
    memory,  # 5. peak RSS of loading the largest catalog vs json.load
    deployments,  # 6. the Resolver's memoized select, stalls, requests; the one-shot loop
)
