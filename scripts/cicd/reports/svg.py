"""Inline SVG charts for the dashboard: no script, no library, nothing fetched. Every text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

COLORS = {
    "success": "#2da44e", "succeeded": "#2da44e", "failed": "#cf222e", "timed_out": "#bc4c00",
    "rolled_back": "#8250df", "cancelled": "#6e7781", "skipped": "#d0d7de", "running": "#0969da",
}
PHASE_COLORS = ("#0969da", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0550ae", "#116329", "#953800",
                "#6639ba", "#57606a", "#0a3069", "#4d2d00", "#cf222e", "#1b7c83", "#a475f9", "#e16f24")


def phase_color(name: Any, known: list[str]) -> str:
    """The same phase keeps its color in every deploy of the page (`known` grows as names appear)."""
    if name not in known:
        known.append(name)
    return PHASE_COLORS[known.index(name) % len(PHASE_COLORS)]


def color(status: Any) -> str:
    return COLORS.get(str(status), "#57606a")


def bars(points: Sequence[dict[str, Any]], *, width: int = 720, height: int = 160) -> str:
    """One bar per run (height = duration, color = status), oldest left, with the tallest labelled."""
    values = [float(p.get("duration_seconds") or 0) for p in points]
    if not values:
        return ""
    top = max(values) or 1.0
    step = width / len(values)
    shapes = []
    for index, (point, value) in enumerate(zip(points, values, strict=True)):
        h = max(1.0, value / top * (height - 20))
        title = f"{point.get('started_at')}: {value:.1f}s, {point.get('status')}"
        shapes.append(
            f'<rect x="{index * step:.1f}" y="{height - h:.1f}" width="{max(1.0, step - 1):.1f}" '
            f'height="{h:.1f}" fill="{color(point.get("status"))}"><title>{escape(title)}</title></rect>'
        )
    label = f'<text x="2" y="12" font-size="11" fill="#57606a">max {top:.1f}s</text>'
    return _svg(width, height, "".join(shapes) + label, "pipeline duration per run")


def timeline(
    phases: Sequence[dict[str, Any]], known: list[str], *, longest: float, width: int = 360, height: int = 18
) -> str:
    """A deploy's phases end to end, each as wide as it took, on a scale shared by every deploy shown
    (`longest` seconds fill the width); a failed phase is outlined in red."""
    if not phases:
        return ""
    scale = width / longest if longest > 0 else 0.0
    shapes = []
    for index, phase in enumerate(phases):
        seconds = float(phase.get("seconds") or 0)
        x = float(phase.get("start") or 0) * scale
        w = max(2.0, seconds * scale) if scale else width / len(phases)
        x = x if scale else index * w
        stroke = ' stroke="#cf222e" stroke-width="2"' if phase.get("status") == "failed" else ""
        title = f"{phase.get('name')}: {seconds:.3f}s ({phase.get('status')})"
        shapes.append(
            f'<rect x="{x:.1f}" y="1" width="{w:.1f}" height="{height - 2}" '
            f'fill="{phase_color(phase.get("name"), known)}"{stroke}><title>{escape(title)}</title></rect>'
        )
    return _svg(width, height, "".join(shapes), "deploy phases")


def gauge(fraction: float | None, *, width: int = 120, height: int = 10) -> str:
    """A filled bar for a 0..1 figure (coverage, health)."""
    if fraction is None:
        return ""
    filled = max(0.0, min(1.0, fraction)) * width
    fill = "#2da44e" if fraction >= 0.8 else "#bf8700" if fraction >= 0.5 else "#cf222e"
    shapes = f'<rect width="{width}" height="{height}" fill="#eaeef2"/>'
    shapes += f'<rect width="{filled:.1f}" height="{height}" fill="{fill}"/>'
    return _svg(width, height, shapes, f"{fraction * 100:.0f} %")


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">{body}</svg>'
    )
