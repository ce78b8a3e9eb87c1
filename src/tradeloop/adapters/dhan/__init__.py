"""The DhanHQ live broker: the only package that imports the `dhanhq` SDK."""

from tradeloop.adapters.dhan.broker import MAX_MODIFICATIONS_PER_ORDER, DhanBroker
from tradeloop.adapters.dhan.factory import dhan_broker_from_settings

__all__ = ["MAX_MODIFICATIONS_PER_ORDER", "DhanBroker", "dhan_broker_from_settings"]
