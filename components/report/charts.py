"""Charts as inline SVG (matplotlib, made when the report is written): a page that needs no network and no JavaScript.

Text stays text (svg.fonttype none), so the page can be searched and read by a screen reader; each chart carries a
<title>. Figures are built with matplotlib's object API, not pyplot, so no global figure state is left behind.
"""

import io
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

_STYLE = {
    "svg.fonttype": "none",  # <text>, not glyph paths: searchable, and a quarter of the size.
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
_SIZE = (5.2, 2.8)  # inches at 72 dpi in SVG: about 375 × 200 CSS pixels.
CHART_CLASS = "chart"


def _svg(figure: Figure, title: str) -> str:
    """The figure as an <svg> element (no XML prolog) with its title, for inlining into HTML."""
    buffer = io.StringIO()
    with matplotlib.rc_context(_STYLE):
        figure.tight_layout()
        FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    head_end = svg.index(">") + 1
    escaped = title.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f'{svg[: head_end - 1]} role="img" class="{CHART_CLASS}" aria-label="{escaped.replace(chr(34), "&quot;")}">'
        f"<title>{escaped}</title>{svg[head_end:]}"
    )


def _figure(size=_SIZE) -> tuple[Figure, "matplotlib.axes.Axes"]:
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=size)
        return figure, figure.add_subplot()


def grouped_bars(categories: Sequence[str], series: Mapping[str, Sequence[float]], title: str, ylabel: str) -> str:
    """One group of bars per category, one bar per series (e.g. label counts per split)."""
    figure, axes = _figure()
    with matplotlib.rc_context(_STYLE):
        positions = np.arange(len(categories))
        width = 0.8 / max(len(series), 1)
        for index, (name, values) in enumerate(series.items()):
            bars = axes.bar(positions + (index - (len(series) - 1) / 2) * width, values, width, label=name)
            axes.bar_label(bars, fmt="%g", fontsize=7)
        axes.set_xticks(positions, [str(c) for c in categories], rotation=30 if len(categories) > 6 else 0)
        axes.margins(y=0.12)  # Room for the bars' numbers.
        axes.set_ylabel(ylabel)
        axes.set_title(title)
        if len(series) > 1:
            axes.legend(frameon=False)
    return _svg(figure, title)


def histogram(
    series: Mapping[str, Sequence[float]],
    bins: Sequence[float],
    title: str,
    xlabel: str,
    marker: tuple[float, str] | None = None,
) -> str:
    """Share of each series' values per bin (series of different sizes compare), with an optional vertical line."""
    figure, axes = _figure()
    with matplotlib.rc_context(_STYLE):
        for name, values in series.items():
            values = np.asarray(values, dtype=float)
            weights = np.full(len(values), 100 / max(len(values), 1))
            axes.hist(values, bins=bins, weights=weights, histtype="step", linewidth=1.5, label=name)
        if marker:
            axes.axvline(marker[0], color="#b00", linestyle="--", linewidth=1)
            axes.annotate(
                marker[1],
                (marker[0], 1),
                xycoords=("data", "axes fraction"),
                ha="right",
                va="top",
                color="#b00",
                fontsize=8,
                xytext=(-3, -2),
                textcoords="offset points",
            )
        axes.set_xlabel(xlabel)
        axes.set_ylabel("% of rows")
        axes.set_title(title)
        axes.legend(frameon=False, loc="best")
    return _svg(figure, title)


def bucket_bars(edges: Sequence[tuple[float, float]], counts: Sequence[float], title: str, xlabel: str) -> str:
    """A histogram that is already counted, as (low, high) buckets (TFDV's numeric histograms)."""
    figure, axes = _figure()
    with matplotlib.rc_context(_STYLE):
        lows = [low for low, _ in edges]
        widths = [max(high - low, 1e-9) for low, high in edges]
        axes.bar(lows, counts, widths, align="edge", edgecolor="white")
        axes.set_xlabel(xlabel)
        axes.set_ylabel("examples")
        axes.set_title(title)
    return _svg(figure, title)


def curves(epochs: Mapping[str, Sequence[tuple[int, float]]], title: str, ylabel: str) -> str:
    """Lines of (epoch, value) points, one per series (e.g. train and validation loss)."""
    figure, axes = _figure()
    with matplotlib.rc_context(_STYLE):
        for name, points in epochs.items():
            if points:
                x, y = zip(*points)
                axes.plot(x, y, marker="o", markersize=3, label=name)
        axes.set_xlabel("epoch")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.set_ylabel(ylabel)
        axes.set_title(title)
        axes.legend(frameon=False)
    return _svg(figure, title)


def heat_map(matrix: np.ndarray, labels: Sequence[str], title: str) -> str:
    """Counts [actual, predicted] with each cell's number written in it."""
    size = min(max(2.6, 0.45 * len(labels) + 1.6), 7)
    figure, axes = _figure((size, size))
    with matplotlib.rc_context({**_STYLE, "axes.grid": False}):
        # Vector cells, each with its count written in it: no colour bar (matplotlib rasterizes it to a PNG, as imshow
        # would the cells). Row 0 at the top, as in the tables.
        axes.pcolormesh(np.arange(len(labels) + 1) - 0.5, np.arange(len(labels) + 1) - 0.5, matrix, cmap="Blues")
        axes.invert_yaxis()
        axes.set_aspect("equal")
        ticks = range(len(labels))
        axes.set_xticks(ticks, labels, rotation=45 if len(labels) > 4 else 0)
        axes.set_yticks(ticks, labels)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true label")
        axes.grid(False)
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, column), count in np.ndenumerate(matrix):
            axes.text(
                column,
                row,
                f"{count:g}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if count > threshold else "black",
            )
        axes.set_title(title)
    return _svg(figure, title)


def reliability(confidence: Sequence[float], accuracy: Sequence[float], counts: Sequence[int], title: str) -> str:
    """Accuracy against mean top score per bin of the top score; the diagonal is a perfectly calibrated model."""
    figure, axes = _figure((4.2, 3.2))
    with matplotlib.rc_context(_STYLE):
        axes.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1, label="calibrated")
        sizes = 10 + 90 * np.asarray(counts, dtype=float) / max(max(counts, default=1), 1)
        axes.scatter(confidence, accuracy, s=sizes, zorder=3, label="bins (area: examples)")
        axes.plot(confidence, accuracy, linewidth=1)
        axes.set_xlim(0, 1.02)
        axes.set_ylim(0, 1.02)
        axes.set_xlabel("mean top score in the bin")
        axes.set_ylabel("accuracy in the bin")
        axes.set_title(title)
        axes.legend(frameon=False, loc="upper left")
    return _svg(figure, title)
