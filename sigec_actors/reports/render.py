"""Report files: CSV (every row) and PDF (a chart, then the table) from a `Table`."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
from reportlab.platypus import Table as PdfTable

from sigec_actors.reports.aggregate import Table
from sigec_actors.reports.model import GroupBy, ReportFile, ReportFormat, ReportSpec

PDF_TABLE_ROWS = 2000  # a longer table is cut in the PDF (the CSV has every row)
TOP_GROUPS = 20  # stations or locations charted (the largest by the charted measure)
CHART_W, CHART_H = 250 * mm, 80 * mm
ACCENT = colors.HexColor("#1f6f8b")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {ReportFormat.CSV: "text/csv; charset=utf-8", ReportFormat.PDF: "application/pdf"}


def render(spec: ReportSpec, table: Table, generated_at: datetime) -> ReportFile:
    """The report file in the requested format."""
    content = (to_csv(table) if spec.format is ReportFormat.CSV
               else to_pdf(spec, table, generated_at))
    return ReportFile(content, spec.filename, CONTENT_TYPES[spec.format])


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows([_cell(v) for v in row] for row in table.rows)
    return out.getvalue().encode()


def _cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (a station id or location name may
    start with = + - @) gets a leading apostrophe; numbers are written as they are."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    return value


def to_pdf(spec: ReportSpec, table: Table, generated_at: datetime) -> bytes:
    """A landscape A4 document: title, window, a bar chart of the main measure, the table."""
    buffer = io.BytesIO()
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), title=spec.filename,
                            author="SIGEC-VE", leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm)
    window = (f"{spec.from_at.isoformat()} to {spec.to_at.isoformat()} "
              f"(days in {spec.timezone}); {len(table.rows)} rows; "
              f"generated {generated_at.isoformat(timespec='seconds')}")
    shown = table.rows[:PDF_TABLE_ROWS]
    story = [Paragraph(f"SIGEC-VE {spec.kind} report by {spec.group_by}", styles["Title"]),
             Paragraph(window, styles["Normal"]), Spacer(1, 4 * mm), _chart(spec, table),
             Spacer(1, 6 * mm)]
    if len(shown) < len(table.rows):
        story.append(Paragraph(f"The table shows the first {len(shown)} of {len(table.rows)} "
                               "rows; the CSV format has every row.", styles["Italic"]))
    grid = PdfTable([table.columns, *shown], repeatRows=1)
    grid.setStyle([("BACKGROUND", (0, 0), (-1, 0), ACCENT),
                   ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                   ("FONTSIZE", (0, 0), (-1, -1), 8),
                   ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                   ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef4f7")]),
                   ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)])
    story.append(grid)
    doc.build(story)
    return buffer.getvalue()


def _chart(spec: ReportSpec, table: Table) -> Drawing:
    """Bars of the charted measure: every day, or the TOP_GROUPS largest stations/locations."""
    col = table.columns.index(table.chart_column)
    label_col = 1 if spec.group_by is GroupBy.LOCATION else 0
    points = [(str(r[label_col]), float(r[col]) * table.chart_scale) for r in table.rows]
    if spec.group_by is not GroupBy.DAY:
        points = sorted(points, key=lambda p: p[1], reverse=True)[:TOP_GROUPS][::-1]
    drawing = Drawing(CHART_W, CHART_H)
    chart = VerticalBarChart() if spec.group_by is GroupBy.DAY else HorizontalBarChart()
    chart.x, chart.y = (45, 30) if spec.group_by is GroupBy.DAY else (150, 15)
    chart.width, chart.height = CHART_W - chart.x - 10, CHART_H - chart.y - 20
    chart.data = [[p[1] for p in points] or [0.0]]
    step = max(1, len(points) // 15)
    chart.categoryAxis.categoryNames = [
        name if i % step == 0 else "" for i, (name, _) in enumerate(points)] or [""]
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    drawing.add(String(0, CHART_H - 10, f"{table.chart_column} ({table.chart_unit})",
                       fontSize=9))
    return drawing
