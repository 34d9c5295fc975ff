"""Rule sets: the planner-owned configuration the allocation core routes by, in versions.

A planner drafts a version (from scratch or from any other), validates it (every problem, with
its field), and activates it: atomically, recorded with who, when and why. The version routing
used before stays readable and is re-activated in one call. A version is immutable once it has
been activated (only an activated version routes orders); every order and plan records the
version that routed it. Until a version is activated the engine routes by DESIGN.md's default
cost model, the built-in version `default`.
"""

from dom.rulesets.service import DEFAULT_VERSION, RuleSets
from dom.rulesets.validate import Problem, problems

__all__ = ["DEFAULT_VERSION", "Problem", "RuleSets", "problems"]
