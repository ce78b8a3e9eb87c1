"""Reports for people: what tradeloop stored as self-contained HTML pages and PNG charts (a
saved backtest: `backtest.py`, `png.py`; a research run's leaderboard and scores:
`research.py`, `research_png.py`), sharing one page frame (`page.py`).

Reports read storage records and domain objects; nothing below them imports them, and they
import no CLI, API, flow, task or settings (the caller passes what settings configure).
"""
