"""``workbench fleet-profile``: profile zoo models on the Ray nodes that carry a device resource.

The same options as ``workbench profile`` plus where to run: ``--ray [ADDRESS]`` (the head; ``auto`` when
given without a value: the cluster this machine joined) and ``--on DEVICE_RESOURCE`` (repeatable). Each
node profiles on itself; this process writes the store (one run file). ``docs/cluster.md`` sets up the fleet.

:func:`add_fleet_arguments` and :func:`profile_on_fleet` let ``workbench profile`` take ``--ray``/``--on`` too.
"""

from __future__ import annotations

import argparse
import sys

from workbench.errors import ParameterError

# Only the standard library and workbench.errors at the top (see workbench/cli/measure.py).


def add_fleet_arguments(p: argparse.ArgumentParser) -> None:
    """``--ray [ADDRESS]``, ``--on DEVICE_RESOURCE``, ``--retries``, ``--lost-after`` and ``--task-timeout``."""
    g = p.add_argument_group("fleet (Ray; docs/cluster.md)")
    g.add_argument("--ray", nargs="?", const="auto", default=None, metavar="ADDRESS",
                   help="profile on the nodes of the Ray cluster at ADDRESS (host:6379; without a value: auto, "
                        "the cluster this machine joined with `ray start`)")
    g.add_argument("--on", action="append", metavar="DEVICE_RESOURCE",
                   help="device resource of the nodes to profile on, e.g. device:raspberry-pi-5 (repeatable; "
                        "a node carries it when started with --resources='{\"device:raspberry-pi-5\": 1}')")
    g.add_argument("--retries", type=int, default=2, help="re-runs of a task whose node died (default 2)")
    g.add_argument("--lost-after", type=float, default=60.0, metavar="SECONDS",
                   help="report a task failed when no alive node has carried its device this long (default 60)")
    g.add_argument("--task-timeout", type=float, default=None, metavar="SECONDS",
                   help="report a task failed when it is not back this long after it was sent (default: none)")


def profile_on_fleet(args: argparse.Namespace, settings) -> int | None:
    """Run ``workbench profile`` on the fleet when ``--ray`` or ``--on`` was given; None otherwise.

    Parameters
    ----------
    args : argparse.Namespace
        ``model``, ``meter``, ``trace``, ``store``, ``ray``, ``on``, ``retries``, ``lost_after``, ``task_timeout``.
    settings : ProfileSettings

    Returns
    -------
    int or None
        0 when every task finished, 2 when some failed (their rows are missing; the others are written);
        None without ``--ray``/``--on`` (profile here).

    Raises
    ------
    ParameterError
        ``--on`` without ``--ray`` (or the reverse), no ``--model``, or ``--meter replay``.
    ClusterError
        The head does not answer, a Ray version mismatch, or a device resource no node carries.
    """
    ray, on = getattr(args, "ray", None), getattr(args, "on", None)
    if ray is None and not on:
        return None
    if ray is None or not on:
        raise ParameterError("a fleet campaign needs both --ray [ADDRESS] and --on DEVICE_RESOURCE. Fix: --ray "
                             "HEAD:6379 --on device:raspberry-pi-5 (docs/cluster.md).")
    if not getattr(args, "model", None) or getattr(args, "module", None) or getattr(args, "onnx", None):
        raise ParameterError("a fleet campaign profiles zoo models (--model NAME); your own modules and ONNX files "
                             "are profiled on the machine that has them. Fix: run `workbench profile` there.")
    if args.meter == "replay":
        raise ParameterError("--meter replay reads a trace on this machine; each node needs its own meter. Fix: "
                             "--meter auto (each node picks what it has) or none.")
    import polars as pl

    from workbench.measure.fleet import profile_fleet

    run = profile_fleet(args.model, on, address=ray, settings=settings, meter=args.meter, store=args.store,
                        retries=args.retries, timeout_s=args.task_timeout, lost_after_s=args.lost_after)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=60, tbl_hide_dataframe_shape=True):
        print(run.summary().with_columns(pl.col("node_id").str.slice(0, 12)))
    if run.path is not None:
        print(f"wrote {run.rows.height} rows (run {run.run_id}) to {run.path}", file=sys.stderr)
    if run.failed:
        shown = "; ".join(f"{o.model} on {o.resource}: {o.error}" for o in run.failed[:3])
        print(f"error: {len(run.failed)} of {len(run.outcomes)} tasks failed, their rows are not in the store: "
              f"{shown}. Fix: check the nodes (`ray status`) and run the campaign again for them.", file=sys.stderr)
        return 2
    return 0


def register(sub) -> None:
    """Add ``fleet-profile`` to the ``workbench`` subcommands ``sub``."""
    p = sub.add_parser("fleet-profile", help="profile zoo models on the Ray nodes that carry a device resource")
    p.add_argument("--model", action="append", required=True, metavar="NAME", help="zoo model (repeatable)")
    p.add_argument("--batch-size", type=int, action="append", metavar="N", help="batch size (repeatable; default 1)")
    p.add_argument("--repeats", type=int, default=50, help="timed calls per configuration (default 50)")
    p.add_argument("--warmup", type=int, default=10, help="untimed calls first (default 10)")
    p.add_argument("--threads", type=int, default=None,
                   help="intra-op threads (default: each node's physical cores)")
    p.add_argument("--dtype", default="fp32", help="fp32 or int8")
    p.add_argument("--meter", default="auto", help="energy meter, chosen on each node: auto, codecarbon, rapl, nvml, "
                                                   "none (default auto)")
    p.add_argument("--energy-window", type=float, default=1.0, metavar="SECONDS",
                   help="seconds of back-to-back calls under the energy meter (default 1)")
    p.add_argument("--normalise", default="auto", choices=("auto", "envelope", "reference", "duet", "none"),
                   help="how latency_ms_norm is estimated (see `workbench profile --help`; default auto)")
    p.add_argument("--blocks", type=int, default=10, help="model blocks interleaved with the reference (default 10)")
    p.add_argument("--device-class", default=None, help="override the device class the nodes detect")
    p.add_argument("--store", default="data/runs", help="store directory on this machine (default data/runs)")
    add_fleet_arguments(p)
    p.set_defaults(func=cmd_fleet_profile, ray="auto")


def cmd_fleet_profile(args: argparse.Namespace) -> int:
    """``workbench fleet-profile``: build the profiler settings and run :func:`profile_on_fleet`.

    Returns
    -------
    int
        0, or 2 when some tasks failed (printed as one ``error:`` line).
    """
    from workbench.measure.profiler import ProfileSettings

    if not args.on:
        raise ParameterError("no device to profile on. Fix: --on device:raspberry-pi-5 (repeatable; `ray status` "
                             "lists the resources of the nodes).")
    settings = ProfileSettings(
        batch_sizes=tuple(args.batch_size or (1,)), repeats=args.repeats, warmup=args.warmup, threads=args.threads,
        dtype=args.dtype, energy_window_s=args.energy_window, device_class=args.device_class,
        normalise=args.normalise, blocks=args.blocks)
    args.trace = None
    return profile_on_fleet(args, settings)
