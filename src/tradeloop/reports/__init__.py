"""Reports for people: a saved backtest as a self-contained HTML page and PNG charts.

Reports read storage records and domain objects; nothing below them imports them, and they
import no CLI, API, flow, task or settings (the caller passes what settings configure).
"""
