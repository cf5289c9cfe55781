"""Where mything's time goes on ``/add``, next to bare Flask.

::

    python -m benchmarks.profile                 # GET /add, cProfile diff
    python -m benchmarks.profile --method POST
    python -m benchmarks.profile --tree          # pyinstrument call tree

The default runs the same requests through mything (rate limiting on, in
memory, as in the benchmarks) and through the bare Flask peer under
cProfile, and lists the functions whose own time per request differs most:
what mything adds at the bottom, what it saves at the top. cProfile slows
every call down, so read the microseconds as proportions. ``--tree`` shows
mything alone as pyinstrument's call tree (from the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
from pathlib import Path

from .harness.tenant import bench_config
from .harness.wsgi import Request, WSGIApp, time_requests
from .sections.inprocess import ADD_WORKLOADS

Costs = dict[str, tuple[float, float]]


def profile(app: WSGIApp, request: Request, count: int) -> Costs:
    """Return each function's calls and own microseconds per request."""
    time_requests(app, request, min(count, 1000))
    profiler = cProfile.Profile()
    profiler.runcall(time_requests, app, request, count)
    costs = {}
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for (path, line, name), (_, calls, own, _, _) in stats.items():
        short = path.split("site-packages/")[-1].split("/lib/python3")[-1]
        costs[f"{short}:{line}({name})"] = (calls / count, own / count * 1e6)
    return costs


def print_difference(ours: Costs, theirs: Costs, *, rows: int) -> None:
    """Print the functions whose own time per request differs most."""
    names = set(ours) | set(theirs)
    changes = sorted(
        names, key=lambda name: ours.get(name, (0, 0))[1] - theirs.get(name, (0, 0))[1]
    )
    total_ours = sum(own for _, own in ours.values())
    total_theirs = sum(own for _, own in theirs.values())
    print(f"profiled µs/request: mything {total_ours:.1f}, Flask {total_theirs:.1f}")
    print(f"{'calls F/m':>11} {'own µs F':>9} {'mything':>8} {'diff':>7}  function")
    for name in changes[: rows // 3] + changes[-rows:]:
        calls_f, own_f = theirs.get(name, (0, 0))
        calls_m, own_m = ours.get(name, (0, 0))
        print(
            f"{calls_f:5.1f}/{calls_m:<5.1f} {own_f:9.2f} {own_m:8.2f} "
            f"{own_m - own_f:+7.2f}  {name}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--method", choices=("GET", "POST"), default="GET")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=45)
    parser.add_argument("--tree", action="store_true", help="pyinstrument tree")
    args = parser.parse_args()

    from mything import MyThing

    from .peers.flask_voluptuous import app as flask_app

    request = ADD_WORKLOADS[f"{args.method} /add"]
    with tempfile.TemporaryDirectory(prefix="mything-bench-") as scratch:
        thing = MyThing(bench_config(f"sqlite:///{Path(scratch) / 'profile.db'}"))
        if args.tree:
            from pyinstrument import Profiler

            time_requests(thing, request, 1000)
            with Profiler(interval=0.0001) as profiler:
                time_requests(thing, request, args.requests)
            print(profiler.output_text(unicode=True, show_all=False))
            return
        print_difference(
            profile(thing, request, args.requests),
            profile(flask_app, request, args.requests),
            rows=args.rows,
        )


if __name__ == "__main__":
    main()
