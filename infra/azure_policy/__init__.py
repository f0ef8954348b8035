"""Azure Policy, offline: the landing zone's policy definitions (the JSON Azure uses for built-in
and custom definitions, and initiatives grouping them) evaluated on every planned resource, so a
pull request shows what Azure would refuse with `RequestDisallowedByPolicy`.

aliases.py: the one table from ARM aliases to the plan's input paths; evaluate.py: conditions,
parameters and effects; run.py: definitions of a directory on a plan, as report lines.
"""
