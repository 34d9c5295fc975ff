"""Orchestration: lifecycles, rule sets, simulations, configuration and the `dom` command line."""
