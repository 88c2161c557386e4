"""Where and when to run: DNN partitioning, multi-tier placement and carbon-aware time shifting.

Modules (see ``docs/placement.md``): :mod:`~workbench.placement.problem` (the chain problem file and
its validation), :mod:`~workbench.placement.chain` (the chain split: its exact semantics, dynamic
programming, the constrained MILP, brute force, heuristics), :mod:`~workbench.placement.dag` (two-tier
partition of a DAG by minimum s–t cut), :mod:`~workbench.placement.multinode` (many applications on
many nodes, a MILP on HiGHS) and :mod:`~workbench.placement.shifting` (deferrable jobs on a
carbon-intensity signal).

The exact solvers use HiGHS through :func:`scipy.optimize.milp` (SciPy ships HiGHS, so no further
dependency; its result reports status, the MIP gap and the dual bound) and networkx for the minimum cut.
"""
