"""``workbench profile`` beyond the zoo in eager PyTorch: ``--runtime onnxruntime``, ``--module``, ``--onnx``.

Glue for :mod:`workbench.cli.measure`: :func:`add_runtime_arguments` adds the flags to the ``profile``
parser and :func:`profile_runtime` runs a profile they ask for (returning ``None`` when they ask for
nothing new, so the plain zoo-in-PyTorch path runs as before). onnxruntime rows follow the profile's
``--normalise`` and ``--blocks`` as torch rows do (:func:`workbench.measure.ort_runtime.measure_ort`).

``--module PATH_OR_MODULE:FACTORY`` imports and calls a factory **you** wrote: it runs your own code,
on purpose, exactly as ``python`` would; name only code you trust. ``--onnx FILE`` is read by
onnxruntime as an ONNX protobuf (never unpickled); ``--calibration FILE.npy`` by ``numpy.load`` with
``allow_pickle=False``.
"""

from __future__ import annotations

import argparse

from workbench.errors import ParameterError

RUNTIMES = ("torch", "onnxruntime")
ORT_QUANTISATIONS = ("none", "int8-dynamic", "int8-static")


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--runtime``, ``--module``, ``--input-shape``, ``--family``, ``--name``, ``--onnx``,
    ``--quantise``, ``--calibration`` and ``--execution-provider`` to the ``profile`` parser."""
    g = parser.add_argument_group("runtimes and your own models")
    g.add_argument("--runtime", choices=RUNTIMES, default=None,
                   help="torch (eager PyTorch, the default) or onnxruntime (the default for --onnx; models are "
                        "exported with torch.onnx.export(dynamo=True) and run on onnxruntime's CPU provider with --threads intra-op "
                        "threads; latency normalised as for torch, --normalise and --blocks)")
    g.add_argument("--module", metavar="PATH_OR_MODULE:FACTORY",
                   help="profile your own model: a factory returning an nn.Module, e.g. my_models.py:build or "
                        "mypkg.models:build. This IMPORTS AND RUNS YOUR OWN CODE, on purpose; name only code you trust")
    g.add_argument("--input-shape", metavar="CxHxW", help="one sample's shape for --module/--onnx, e.g. 3x224x224")
    g.add_argument("--family", default=None, help="model_family of --module/--onnx rows")
    g.add_argument("--name", default=None, help="model column of --module/--onnx rows (default: factory or file name)")
    g.add_argument("--onnx", metavar="FILE", help="profile an ONNX file on onnxruntime (read as ONNX, never unpickled)")
    g.add_argument("--quantise", action="append", choices=ORT_QUANTISATIONS, metavar="METHOD",
                   help="with --runtime onnxruntime: none (fp32), int8-dynamic or int8-static (QDQ; needs "
                        "--calibration); repeatable (default none)")
    g.add_argument("--calibration", metavar="FILE.npy",
                   help="real input samples (N, ...) for int8-static, a .npy array (loaded without pickle)")
    g.add_argument("--execution-provider", default="CPUExecutionProvider",
                   help="onnxruntime execution provider (default CPUExecutionProvider)")


def _check(args: argparse.Namespace) -> None:
    if args.onnx and args.module:
        raise ParameterError("--onnx and --module both given. Fix: profile one of them per command.")
    if (args.onnx or args.module) and args.model:
        raise ParameterError("--model names zoo models; --module/--onnx profile your own. Fix: give one of them.")
    if args.module and not args.input_shape:
        raise ParameterError(f"--module {args.module!r} needs the shape of one input sample. "
                             "Fix: add --input-shape, e.g. --input-shape 3x224x224.")
    if args.onnx and args.runtime == "torch":
        raise ParameterError("--onnx files run on onnxruntime. Fix: drop --runtime torch (or say --runtime onnxruntime).")
    if args.runtime == "torch" and not args.onnx and (args.quantise or args.calibration):
        raise ParameterError("--quantise/--calibration apply to --runtime onnxruntime. Fix: add --runtime onnxruntime, "
                             "or use --dtype int8 for torchao in eager PyTorch.")
    if args.runtime == "onnxruntime" and getattr(args, "dtype", "fp32") != "fp32":
        raise ParameterError(f"--dtype {args.dtype} is torchao's quantisation in eager PyTorch. Fix: with --runtime "
                             "onnxruntime, ask for --quantise int8-dynamic or int8-static instead.")
    if "int8-static" in (args.quantise or ()) and not args.calibration:
        raise ParameterError("--quantise int8-static calibrates activation scales on real samples. "
                             "Fix: add --calibration FILE.npy (an array of inputs, shape (N, ...)).")


def _calibration(path: str | None):
    if path is None:
        return None
    import numpy as np

    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"--calibration {path!r} cannot be read as a .npy array ({exc}). "
                             "Fix: save the samples with numpy.save(path, array).") from None


def profile_runtime(args: argparse.Namespace, settings, meter, store):
    """Run the profile the runtime flags ask for; ``None`` when they ask for the plain zoo-in-PyTorch path.

    Parameters
    ----------
    args : argparse.Namespace
        The ``profile`` arguments, with those of :func:`add_runtime_arguments`.
    settings : ProfileSettings
        As built by ``cmd_profile``.
    meter : EnergyMeter or None
        As built by ``cmd_profile``.
    store : Store
        Checked writable by ``cmd_profile``.

    Returns
    -------
    polars.DataFrame or None
        The rows appended to ``store``.

    Raises
    ------
    ParameterError, UnknownNameError, CorruptFileError
        Conflicting flags, a factory that cannot be built, a shape that does not fit, a file that is not
        ONNX, an unknown execution provider; before anything is written.
    """
    args.model = getattr(args, "model", None)
    args.runtime = args.runtime or ("onnxruntime" if args.onnx else "torch")
    _check(args)
    if args.runtime == "torch" and not args.module and not args.onnx:
        return None
    from workbench.measure import ort_profile, user_module, zoo

    shape = user_module.parse_input_shape(args.input_shape) if args.input_shape else None
    if args.onnx:
        return ort_profile.profile_onnx_file(args.onnx, input_shape=shape, name=args.name, family=args.family,
                                             settings=settings, meter=meter, provider=args.execution_provider,
                                             store=store)
    quantisations = tuple(args.quantise or ("none",))
    calibration = _calibration(args.calibration)
    if args.module:
        spec = user_module.UserModelSpec(args.module, shape, name=args.name, family=args.family)
        if args.runtime == "torch":
            return user_module.profile_user_module(spec, settings=settings, meter=meter, store=store)
        specs = [spec]
    else:
        specs = [zoo.resolve(m) for m in args.model]
    import polars as pl

    frames = []
    for spec in specs:  # every spec is built (and checked) before the first is measured
        spec.build()
    for spec in specs:
        df, _ = ort_profile.profile_onnx_module(
            spec.build(), spec.example_input(1), name=spec.name, family=spec.family, task=spec.task,
            quantisations=quantisations, calibration=calibration, settings=settings, meter=meter,
            provider=args.execution_provider, store=store, config=spec.config())
        frames.append(df)
    return pl.concat(frames)
