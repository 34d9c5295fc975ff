"""The allocation core: pure decision code from (network, stock, orders, rules) to a plan.

`allocate(instance_data, mode="online" | "batch")` is the entry point; see `allocation.rules` for
the rule set and `allocation.instance` for the input.
"""

from allocation.run import allocate
from allocation.validate import InvalidInstance, parse_instance

__all__ = ["InvalidInstance", "allocate", "parse_instance"]
