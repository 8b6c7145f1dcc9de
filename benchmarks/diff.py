"""How long ``policyeng diff`` takes beyond loading its two catalogs.

    python benchmarks/diff.py [CATALOG] [--repeat N]

CATALOG (default: ../shared/catalogs/models-dev.json, about 5,000 entries)
is compared with a modified copy made here, deterministically: every tenth
model repriced, every fiftieth with another health status, every hundredth
removed, 1% new models added. Timed, interleaved, median of N after a
warm-up: loading both catalogs (the baseline), comparing them
(``compare_catalogs``), and the picks before and after with their reasons
for every policy of ``policies/``. Each is printed with its ratio to the
load; the target is the comparison plus the picks well under a second.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT.parent / "shared" / "catalogs" / "models-dev.json"


def modified(entries: list[dict], seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for index, entry in enumerate(copy.deepcopy(entries)):
        if index % 100 == 0:
            continue
        if index % 10 == 0 and isinstance(entry.get("output_per_mtok"), (int, float)):
            entry["output_per_mtok"] = round(entry["output_per_mtok"] * rng.uniform(0.5, 1.5), 6)
        if index % 50 == 0:
            entry["health_status"] = rng.choice(["healthy", "degraded", "down"])
        out.append(entry)
    for index in range(len(entries) // 100):
        out.append({**entries[index], "model_name": f"bench-new/{index}"})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    if not Path(args.catalog).exists():
        print(f"no catalog at {args.catalog}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from policyeng.catalog.compare import compare_catalogs
    from policyeng.catalog.sources import load_catalog
    from policyeng.diagnose import classify_drift, resolution
    from policyeng.policies.book import load_policies
    from policyeng.policies.lock import chain_of

    warnings.simplefilter("ignore")  # skipped entries: not what is timed
    old_path = args.catalog
    with tempfile.TemporaryDirectory() as tmp:
        new_path = str(Path(tmp) / "modified.json")
        Path(new_path).write_text(json.dumps(modified(json.loads(Path(old_path).read_text()))))
        book = load_policies(ROOT / "policies")

        def load():
            return load_catalog(old_path), load_catalog(new_path)

        old, new = load()

        def picks():
            for policy in book:
                chain = chain_of(book, policy.name)
                before, after = resolution(chain, old), resolution(chain, new)
                if before is not None:
                    classify_drift(before, chain, new, old_catalog=old, now=after)

        steps = {
            "load both": load,
            "compare": lambda: compare_catalogs(old, new),
            "picks + reasons": picks,
        }
        samples: dict[str, list[float]] = {name: [] for name in steps}
        for step in steps.values():
            step()  # warm-up
        for _ in range(args.repeat):
            for name, step in steps.items():  # interleaved: load drifts hit every row alike
                start = time.perf_counter()
                step()
                samples[name].append(time.perf_counter() - start)
    counts = compare_catalogs(old, new)["counts"]
    print(
        f"{Path(old_path).name}: {len(old)} vs {len(new)} models, {counts}, "
        f"{len(book)} policies, median of {args.repeat}"
    )
    base = statistics.median(samples["load both"])
    for name, times in samples.items():
        median = statistics.median(times)
        print(f"  {name:<16} {median * 1000:8.1f} ms  {median / base:5.2f}x load")
    beyond = statistics.median(samples["compare"]) + statistics.median(samples["picks + reasons"])
    print(
        f"  beyond loading: {beyond * 1000:.1f} ms  "
        f"{'PASS' if beyond < 1.0 else 'MISS'} (target: under 1 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
