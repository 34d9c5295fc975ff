"""The allocation core: pure decision code from (network, stock, orders, rules) to a plan."""
