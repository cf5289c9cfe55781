"""``python -m benchmarks.client``: the client section alone, printed.

::

    python -m benchmarks.client               # under a minute
    python -m benchmarks.client --smoke       # seconds

It measures what ``python -m benchmarks.run --only client`` measures
(:mod:`benchmarks.sections.client`: ``mything.Client`` against bare httpx)
and prints the table, without writing ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .harness.settings import PRESETS
from .report.tables import section_text
from .run import make_logger
from .sections import client


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client section and print its table; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.client", description=__doc__.split("\n\n")[0]
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    size.add_argument("--smoke", action="store_true", help="a few calls of each")
    args = parser.parse_args(argv)
    preset = "smoke" if args.smoke else "quick" if args.quick else "full"
    print(section_text("client", client.run(PRESETS[preset], make_logger())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
