"""A realistic synthetic retail network: the one fixture that tests, benchmarks and the demo share.

Pure and deterministic: the same arguments give the same network, array for array. Bulk stock lives
in numpy arrays (one row per position with stock), never in per-position Python objects, so a network
of 1,000 stores x 100,000 SKUs (about 20 million positions) fits in a few hundred MB.

  locations  where DCs, stores and vendors stand
  stock      the catalogue, and who holds how many units of what
  network    the Network, generate_network, and its initial load as counts (stock_events)
  book, feed an ongoing feed that stays physically possible (feed_events)
"""

from dom.synthetic.book import FEED_MIX
from dom.synthetic.feed import FEED_LATE_SHARE, feed_events
from dom.synthetic.locations import KM_PER_DEGREE, haversine_km
from dom.synthetic.network import Network, generate_network, stock_events
from dom.synthetic.stock import HEAD_SHARE, StockTable

__all__ = [
    "FEED_LATE_SHARE",
    "FEED_MIX",
    "HEAD_SHARE",
    "KM_PER_DEGREE",
    "Network",
    "StockTable",
    "feed_events",
    "generate_network",
    "haversine_km",
    "stock_events",
]
