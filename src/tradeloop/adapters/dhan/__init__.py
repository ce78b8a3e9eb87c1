"""The DhanHQ live broker: the only package that imports the `dhanhq` SDK.

Application code builds it from settings with `tradeloop.app.trading.dhan_broker`.
"""

from tradeloop.adapters.dhan.broker import MAX_MODIFICATIONS_PER_ORDER, DhanBroker

__all__ = ["MAX_MODIFICATIONS_PER_ORDER", "DhanBroker"]
