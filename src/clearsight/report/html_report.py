"""The HTML case report: one self-contained file that loads nothing from anywhere.

Jinja2 renders it with autoescaping on for every value, so a file name, a category or
a bank's comment is always text, never markup. The page carries a Content Security
Policy that allows no script, no connection and no font, only its own stylesheet (by
hash) and, when thumbnails are asked for, ``data:`` images. Charts are inline SVG drawn
from :mod:`clearsight.report.charts`.

It reads the case four times, each as a stream: once for the counts, then the series
tables, every matched item (one row per match) and the errors. Matches are shown
through :mod:`clearsight.match.explain`, as everywhere else; categories by their labels
in the case's scheme. The template is rendered as a stream too, so the report is
written as it is made and memory stays bounded.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from clearsight.match.explain import match_lines
from clearsight.report.case_rows import CaseRows
from clearsight.report.charts import bar_chart
from clearsight.report.classification import category_labels
from clearsight.report.error_list import error_entries
from clearsight.report.matched_items import matched_rows
from clearsight.report.output import DigestingOutput
from clearsight.report.request import ExportContext, Thumbnails
from clearsight.report.series_tables import SeriesTable, series_tables
from clearsight.report.summary import UNDECIDED, ranked, summarise
from clearsight.report.thumbnails import BlurredThumbnails, Thumbnail
from clearsight.report.timestamps import iso_utc
from clearsight.review.decisions import DecisionStatus

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
TOP_SERIES = 20  # series drawn in the chart of series sizes; every series has its table

_loader = PackageLoader("clearsight.report", "templates")
_environment = Environment(
    loader=_loader,
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def write_html(case: CaseRows, context: ExportContext, out: DigestingOutput) -> int:
    selection = context.request.selection
    summary = summarise(case.rows(selection))
    css = _stylesheet()
    with_thumbnails = context.request.thumbnails is Thumbnails.BLURRED
    biggest = sorted(summary.series.items(), key=lambda pair: (-pair[1].members, pair[0]))
    biggest = biggest[:TOP_SERIES]
    labels = case.source.series_labels([series_id for series_id, _ in biggest])
    labels_of = category_labels(case.source.review_settings().load())
    by_category = [(labels_of.get(code, code), n) for code, n in ranked(summary.by_category)]
    charts = {
        "status": bar_chart("Items by status", summary.status_counts()),
        "origin": bar_chart("Items by automated origin verdict", ranked(summary.by_origin)),
        "human_origin": bar_chart("Items by reviewer's origin", ranked(summary.by_human_origin)),
        "category": bar_chart("Items by category (final human decisions)", by_category),
        "priority": bar_chart("Priority distribution", summary.priority_counts()),
        "series": bar_chart(
            "Largest series",
            [
                (labels.get(series_id, str(series_id)), counts.members)
                for series_id, counts in biggest
            ],
        ),
    }
    tables = _with_thumbnails(
        series_tables(case.source, selection, case.decisions),
        BlurredThumbnails(case.source, case.source.review_settings().load())
        if with_thumbnails
        else None,
    )
    stream = _environment.get_template(TEMPLATE).generate(
        context=context,
        case=context.case,
        generated_at=iso_utc(context.generated_at),
        case_created_at=iso_utc(context.case.created_at),
        selection=selection.text(),
        summary=summary,
        ranked=ranked,
        undecided=UNDECIDED,
        awaiting=DecisionStatus.AWAITING_CONFIRMATION,
        charts=charts,
        series_tables=tables,
        matched=matched_rows(case.rows(selection)),
        by_category=by_category,
        category=lambda code: labels_of.get(code, code),
        match_lines=match_lines,
        errors=error_entries(case.source, selection),
        css=Markup(css),  # our own stylesheet, shipped in the package: not escaped
        csp=_policy(css, with_thumbnails),
        with_thumbnails=with_thumbnails,
    )
    for chunk in stream:
        out.write(chunk)
    return summary.items


def _with_thumbnails(
    tables: Iterator[SeriesTable], thumbnails: BlurredThumbnails | None
) -> Iterator[tuple[SeriesTable, dict[int, Thumbnail]]]:
    for table in tables:
        drawn = {m.item_id: thumbnails(m.item_id) for m in table.members} if thumbnails else {}
        yield table, drawn


def _stylesheet() -> str:
    source, _filename, _uptodate = _loader.get_source(_environment, STYLESHEET)
    return source


def _policy(css: str, images: bool) -> str:
    """Nothing may load or run; the one stylesheet is allowed by its hash."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return "; ".join(
        [
            "default-src 'none'",
            f"style-src 'sha256-{digest}'",
            "img-src data:" if images else "img-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
