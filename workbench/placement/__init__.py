"""Where and when to run: DNN partitioning, multi-tier placement and carbon-aware time shifting.

Modules (see ``docs/placement.md``):

- problem files: :mod:`~workbench.placement.problem_files` (``kind = "chain" | "dag" | "multinode"``, what
  ``workbench place`` reads and solves), :mod:`~workbench.placement.problem_checks` (the validator, errors
  and carbon intensity every file shares: explicit, a country, or a carbon signal at a time),
  :mod:`~workbench.placement.problem_dag`, :mod:`~workbench.placement.problem_multinode`;
- the chain split: :mod:`~workbench.placement.problem` (the problem file and its validation),
  :mod:`~workbench.placement.chain_semantics` (the exact latency/energy/carbon of an assignment),
  :mod:`~workbench.placement.chain` (dynamic programming, brute force, the entry point ``solve``),
  :mod:`~workbench.placement.chain_milp` (memory and SLO constraints, infeasibility named),
  :mod:`~workbench.placement.heuristics` (all at the source, all in the cloud, best single split,
  greedy by carbon, each with its gap to the optimum); :mod:`~workbench.placement.zoo_costs` (a zoo
  model's per-layer costs on catalog devices from a store, a cost model or roofline bounds, labelled per
  tier) and :mod:`~workbench.placement.traces` (bandwidth and RTT per access technology, 5Gophers traces);
- :mod:`~workbench.placement.dag_graph` and :mod:`~workbench.placement.dag`: two-tier partition of a
  layer DAG (skip connections) by minimum s–t cut, a torch.fx graph of any module;
- many applications on many nodes: :mod:`~workbench.placement.multinode_model` (nodes, links, apps,
  options), :mod:`~workbench.placement.multinode_costs` (candidates and their metrics),
  :mod:`~workbench.placement.multinode` (the MILP and its infeasibility diagnosis),
  :mod:`~workbench.placement.multinode_heuristics`, :mod:`~workbench.placement.multinode_scale`;
- :mod:`~workbench.placement.footprint`: a placement as one LCA scenario per tier, so that its carbon
  through the Brightway engine (or the vectorised sweep) equals the chain semantics' ``carbon_g``;
- carbon-aware time shifting: :mod:`~workbench.placement.signal` (carbon-intensity series),
  :mod:`~workbench.placement.jobs` (deferrable jobs), :mod:`~workbench.placement.shifting`
  (best start, cheapest slots, forecast error).

The exact solvers use HiGHS through :func:`scipy.optimize.milp` (SciPy ships HiGHS, so no further
dependency; its result reports status, the MIP gap and the dual bound) and networkx for the minimum cut.
Every exact solver is checked against brute force in ``tests/placement``.
"""
