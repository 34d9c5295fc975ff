"""The Redis projection of the ledger: the adapter, the background projector, rebuild and
reconcile. Derived from SQL, rebuilt from it at will.
"""
