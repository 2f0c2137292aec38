"""Charts drawn server-side once as a Scene and rendered as SVG (pages), a reportlab Drawing
(PDFs) and PNG (e-mail), so all three show the same picture. Django-free.

    scene = funnel_chart(funnel_result, link=lambda drill: url_or_none)
    scene.svg()                # inline in a page
    scene.drawing(width=460)   # a reportlab Flowable for a PDF, scaled to the frame
    scene.png()                # bytes for an e-mail (twice the size, for sharp phones)

Each chart takes plain values (its own small dataclasses, or a metric result with the same
attributes) and an optional `link(drill) -> url | None` that makes its numbers drill down.
"""

from refloop.analytics.charts.ageing import Stack, ageing_chart
from refloop.analytics.charts.cycle import CycleRow, Distribution, cycle_chart, cycle_summary_chart
from refloop.analytics.charts.funnel import FunnelBar, funnel_chart
from refloop.analytics.charts.scene import Scene
from refloop.analytics.charts.trend import Panel, Series, multiples_chart, trend_chart

__all__ = [
    "CycleRow",
    "Distribution",
    "FunnelBar",
    "Panel",
    "Scene",
    "Series",
    "Stack",
    "ageing_chart",
    "cycle_chart",
    "cycle_summary_chart",
    "funnel_chart",
    "multiples_chart",
    "trend_chart",
]
