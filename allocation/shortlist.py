"""An order's few candidates worth modelling jointly: the best by one-shipment cost, the ones its
own plan uses, and, per line, holders of enough units for a few orders' worth.

Full candidate sets make joint models ten to fifty times larger and rarely change the answer; the
MIP of batch mode and the first LP of the bound (allocation.lp_bound) start from this shortlist.
"""

from __future__ import annotations

import numpy as np

from allocation.costs import OrderOptions

CANDIDATES_PER_ORDER = 12
LINE_COVER = 3  # a shortlist holds at least this many times each line's quantity


def shortlist(opt: OrderOptions, used: set[int], penalty: float) -> np.ndarray:
    """Indices of the candidates kept, in order; `used`: location indices always kept."""
    sendable = np.minimum(opt.stock, opt.quantity[None, :]).sum(axis=1)
    score = opt.fixed + (opt.unit - penalty) * sendable
    ranked = np.argsort(score, kind="stable")
    keep = set(ranked[:CANDIDATES_PER_ORDER].tolist())
    keep |= {j for j in range(opt.size) if int(opt.loc[j]) in used}
    for i, q in enumerate(opt.quantity):
        holders = ranked[opt.stock[ranked, i] > 0]
        enough = np.searchsorted(np.cumsum(opt.stock[holders, i]), LINE_COVER * q)
        keep |= set(holders[: enough + 1].tolist())
    return np.array(sorted(keep), dtype=int)
