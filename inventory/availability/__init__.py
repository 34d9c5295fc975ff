"""What may be sold, where and when: the availability policy, each location's sources, the
arithmetic (pure), vectorised tallies, and the checkout reader over the projection.
"""
