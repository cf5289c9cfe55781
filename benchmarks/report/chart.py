"""``docs/performance.png``: the sections of a run as eight bar charts.

Drawn with matplotlib (in the ``bench`` extra) without a display. Each
panel shows medians; mything's label is in bold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: One colour per series (GET and POST, or one per depth); mything's label is bold.
COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#b279a2")


def available() -> bool:
    """Return whether matplotlib is installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _bars(
    axes: Any, labels: list[str], series: dict[str, list[float]], unit: str
) -> None:
    """Draw grouped horizontal bars: one group per label, one bar per series."""
    height = 0.8 / max(1, len(series))
    for index, (name, values) in enumerate(series.items()):
        positions = [row + index * height for row in range(len(labels))]
        colour = COLOURS[index % len(COLOURS)]
        bars = axes.barh(positions, values, height=height, color=colour, label=name)
        axes.bar_label(bars, fmt=_label_format(values), fontsize=7, padding=2)
    middle = (len(series) - 1) * height / 2
    axes.set_yticks([row + middle for row in range(len(labels))], labels)
    for tick in axes.get_yticklabels():
        if tick.get_text().split(",")[0] == "mything":
            tick.set_fontweight("bold")
    axes.invert_yaxis()
    axes.set_xlabel(unit)
    axes.legend(fontsize=8, loc="best")
    axes.margins(x=0.15)


def _label_format(values: list[float]) -> str:
    """Return a bar label format with about three significant digits."""
    largest = max(values, default=0)
    return "%.0f" if largest >= 100 else "%.1f" if largest >= 10 else "%.2f"


def _by_contender(
    cases: list[dict[str, Any]],
    value: str,
    workloads: tuple[str, ...] = ("GET /add", "POST /add"),
) -> tuple[list[str], dict]:
    labels: list[str] = []
    series: dict[str, dict[str, float]] = {}
    for case in cases:
        if case["workload"] not in workloads:
            continue
        if case["label"] not in labels:
            labels.append(case["label"])
        series.setdefault(case["workload"], {})[case["label"]] = case[value]
    return labels, {
        name: [got.get(label, 0) for label in labels] for name, got in series.items()
    }


def draw(results: dict[str, Any], path: Path) -> None:
    """Draw the chart of ``results`` into the PNG file ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, panels = pyplot.subplots(4, 2, figsize=(13, 18), layout="constrained")
    figure.suptitle(
        f"mything benchmarks, {results['date']} ({results['settings']['name']} run, "
        f"{results['machine']['cores']} cores)"
    )
    _inprocess(panels[0][0], results.get("inprocess"))
    _http(panels[0][1], results.get("http"))
    _depth(panels[1][0], results.get("depth"))
    _startup(panels[1][1], results.get("startup"))
    _notes(panels[2][0], results.get("notes"))
    _notes_http(panels[2][1], results.get("notes"))
    _webhooks(panels[3][0], results.get("webhooks"))
    _client(panels[3][1], results.get("client"))
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def _not_run(axes: Any, title: str) -> None:
    axes.set_title(title)
    axes.text(0.5, 0.5, "not measured in this run", ha="center", va="center")
    axes.set_axis_off()


def _inprocess(axes: Any, section: dict[str, Any] | None) -> None:
    title = "In-process /add: µs per request (lower is better)"
    if not section or "cases" not in section:
        return _not_run(axes, title)
    labels, series = _by_contender(section["cases"], "median_us")
    _bars(axes, labels, series, "µs per request")
    axes.set_title(title)


def _http(axes: Any, section: dict[str, Any] | None) -> None:
    title = "gunicorn, 2 sync workers, /add: requests per second (higher is better)"
    if not section or "cases" not in section:
        return _not_run(axes, title)
    labels, series = _by_contender(section["cases"], "requests_per_second")
    _bars(axes, labels, series, "requests per second")
    axes.set_title(title, fontsize=10)


def _depth(axes: Any, section: dict[str, Any] | None) -> None:
    title = "A page of 20 notes at depth: ms per page (flat is the goal)"
    if not section or "backends" not in section:
        return _not_run(axes, title)
    measured = [b for b in section["backends"] if "pages" in b]
    if not measured:
        return _not_run(axes, title)
    labels = [b["name"] for b in measured]
    depths = [page["depth"] for page in measured[0]["pages"]]
    series = {
        f"depth {depth:,}": [b["pages"][index]["median_ms"] for b in measured]
        for index, depth in enumerate(depths)
    }
    _bars(axes, labels, series, "ms per page")
    axes.set_title(title)


def _startup(axes: Any, section: dict[str, Any] | None) -> None:
    title = "Cold start: import and build the app"
    if not section or "subjects" not in section:
        return _not_run(axes, title)
    subjects = section["subjects"]
    labels = [
        s["label"] if s["contender"] != "python" else "python (floor)" for s in subjects
    ]
    series = {
        "ms to start": [s["median_ms"] for s in subjects],
        "peak RSS, MiB": [s["peak_rss_mib"] for s in subjects],
    }
    _bars(axes, labels, series, "ms  /  MiB")
    axes.set_title(title)


def _notes(axes: Any, section: dict[str, Any] | None) -> None:
    title = "Notes endpoints in process: CPU µs per request (lower is better)"
    if not section or "databases" not in section:
        return _not_run(axes, title)
    labels: list[str] = []
    series: dict[str, dict[str, float]] = {}
    for database in section["databases"]:
        for case in database.get("cases", []):
            label = f"{case['label']}, {database['name']}"
            if label not in labels:
                labels.append(label)
            series.setdefault(case["workload"], {})[label] = case["median_us"]
    if not labels:
        return _not_run(axes, title)
    values = {
        name: [got.get(label, 0) for label in labels] for name, got in series.items()
    }
    _bars(axes, labels, values, "CPU µs per request")
    axes.set_title(title, fontsize=10)


def _notes_http(axes: Any, section: dict[str, Any] | None) -> None:
    title = "gunicorn, 2 sync workers, notes page: req/s"
    http = (section or {}).get("http", {})
    if "cases" not in http:
        return _not_run(axes, title)
    workloads = tuple(case["workload"] for case in http["cases"])
    labels, series = _by_contender(http["cases"], "requests_per_second", workloads)
    _bars(axes, labels, series, "requests per second")
    axes.set_title(f"{title} ({http['database']})", fontsize=10)


def _webhooks(axes: Any, section: dict[str, Any] | None) -> None:
    title = "Webhook delivery: deliveries per second (higher is better)"
    if not section or "throughput" not in section:
        return _not_run(axes, title)
    fleets = section["throughput"]
    labels = [f"{fleet['workers']} worker(s)" for fleet in fleets]
    series = {
        "from the workers' start": [fleet["per_second"] for fleet in fleets],
        "once delivering": [fleet["delivering_per_second"] for fleet in fleets],
    }
    _bars(axes, labels, series, "deliveries per second")
    axes.set_title(f"{title} ({section['database']})", fontsize=10)


def _client(axes: Any, section: dict[str, Any] | None) -> None:
    title = "GET /me over a kept-alive connection: µs per call (lower is better)"
    if not section or "cases" not in section:
        return _not_run(axes, title)
    cases = section["cases"]
    labels = [case["label"] for case in cases]
    _bars(axes, labels, {"µs per call": [c["median_us"] for c in cases]}, "µs")
    axes.set_title(title, fontsize=10)
