"""tradeloop: research, backtest and trade NIFTY/BANKNIFTY strategies through DhanHQ."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tradeloop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
