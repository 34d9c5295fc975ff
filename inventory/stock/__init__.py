"""Stock events: feed validation, the count rule, ingest into SQL, a position's history,
inbound supply and safety stock.
"""
