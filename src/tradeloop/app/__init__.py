"""The composition root: the one package where `Settings` become working objects.

Flows, tasks, tools and the command line ask it for what they need; nothing below it reads
settings. What a setting configures is a required argument further down, never a silent
default, so a value set in tradeloop.toml is in force on every path or on none.

- `stores`: the candle, volatility and strategy-memory stores, the ledger, the cost table
  and the NSE calendar, each under the data directory;
- `research`: the research context (backtest config per symbol, scoring, costs, calendar,
  1m candles of a range of IST sessions) that the research flow, the CLI and the agent share;
- `trading`: the live-mode switches and the order path (broker, risk manager, gateway,
  position manager), paper unless every live switch is on.
"""
