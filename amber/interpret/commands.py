"""`amber interpret`: explain one trained model (its figure is `amber plot interpret-recovery`)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from amber.cliutil import add_out_dir, dataclass_flags, from_flags
from amber.interpret.config import InterpretConfig

log = logging.getLogger("amber")


def _cmd_interpret(args: argparse.Namespace) -> None:
    import torch

    from amber.data.features import read_features
    from amber.data.loader import dataset_info, read_coordinates, read_subsample
    from amber.data.motifs import JASPAR_RELEASE
    from amber.data.truth import read_motif_instances
    from amber.device import pick_device
    from amber.interpret import matching, outputs, pipeline, truth
    from amber.train.model_io import load_model, read_model_info

    torch.set_num_threads(args.threads)
    config = from_flags(InterpretConfig, args)
    device = pick_device(args.device)
    info = read_model_info(args.model)
    names = dataset_info(args.dataset)["features"]
    if info.get("features") and list(info["features"]) != list(names):
        raise ValueError(
            f"{args.dataset}: its features differ from those {args.model}/model.json was "
            "trained on; interpret a model with the dataset it was trained for"
        )
    table = {f.name: f for f in read_features(args.features)}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"{args.features}: no row for dataset feature(s) {unknown[:5]}")
    tf_features = [i for i, n in enumerate(names) if table[n].category == "TF"]
    if not tf_features:
        log.warning("%s: no TF features; attributing every feature", args.features)
        tf_features = list(range(len(names)))
    x, y = read_subsample(args.dataset, None, 0)
    coords = read_coordinates(args.dataset)
    x, y = x.numpy(), y.numpy()
    rows, feats = pipeline.select_pairs(y, tf_features, config.max_per_feature, config.seed)
    log.info(
        "interpret %s: %d (sequence, feature) pairs over %d TF features",
        args.model,
        len(rows),
        len(set(feats.tolist())),
    )

    instances = read_motif_instances(args.instances) if args.instances else None
    planted = truth.planted_motifs(instances) if instances is not None else {}
    db = matching.jaspar_collection(JASPAR_RELEASE, include=planted)
    model = load_model(args.model, device=device, rc_average=False)  # one strand
    start = time.perf_counter()
    interp = pipeline.interpret(model, x, rows, feats, db, config, device=device)
    seconds = time.perf_counter() - start

    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    matches = pipeline.match_table(interp, db, config.q_threshold)
    outputs.write_attributions(
        out / "attributions.h5",
        interp,
        x,
        coords,
        names,
        {
            "model": str(info.get("name", args.model.name)),
            "method": "deep_lift_shap",
            "n_shuffles": config.n_shuffles,
        },
    )
    outputs.write_motifs(out / "motifs.h5", interp, config.modisco_window)
    outputs.write_meme(out / "motifs.meme", interp.motifs)
    outputs.write_table(out / "matches.tsv", matches)
    summary = {
        "model": args.model.name,
        "n_pairs": int(len(rows)),
        "n_motifs": int(sum(m.source == "modisco" for m in interp.motifs)),
        "n_filter_motifs": int(sum(m.source == "filter" for m in interp.motifs)),
        "n_matched": int(matches["significant"].sum()),
        "seconds": round(seconds, 1),
        "attribution_seconds": round(interp.attribution_seconds, 1),
        "device": str(device),
    }
    if instances is not None:
        feature_tfs = {i: table[n].assay for i, n in enumerate(names)}
        truth_table, scores = pipeline.score_against_truth(
            interp,
            x,
            coords["chrom"],
            coords["start"],
            feature_tfs,
            instances,
            db,
            config.q_threshold,
        )
        truth_table.insert(0, "model", args.model.name)
        outputs.write_table(out / "truth.tsv", truth_table)
        summary.update(scores)
    outputs.write_json(out / "summary.json", summary)
    outputs.write_logo_sheet(
        out / "logos.png", interp.motifs, matches, f"{args.model.name}: discovered motifs"
    )
    log.info("interpret %s: %s", args.model.name, summary)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the interpret-stage subcommands to the `amber` parser."""
    p = sub.add_parser(
        "interpret",
        help="attributions, TF-MoDISco motifs and JASPAR matches of one trained model",
        description=(
            "Explain a trained model (MODEL folder: model.pt + model.json) on the positive "
            "windows of each TF feature of DATASET (an HDF5 split, usually test.h5): "
            "DeepLIFT/SHAP and ISM attributions (tangermeme), TF-MoDISco motifs "
            "(modisco-lite), first-layer filter motifs, and their TOMTOM matches against "
            "JASPAR (memelite). Writes OUT_DIR/attributions.h5, motifs.h5, motifs.meme, "
            "matches.tsv, summary.json, logos.png and, with --instances (the simulated "
            "genome's motif_instances.tsv), truth.tsv: per planted TF, recovered or not and "
            "the attribution AUROC."
        ),
    )
    p.add_argument("--model", type=Path, required=True, help="trained model folder")
    p.add_argument("--dataset", type=Path, required=True, help="dataset split (HDF5)")
    p.add_argument("--features", type=Path, required=True, help="features.tsv of the dataset")
    p.add_argument(
        "--instances",
        type=Path,
        default=None,
        help="motif_instances.tsv of a simulated genome (scores against the truth)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    add_out_dir(p)
    dataclass_flags(p, InterpretConfig)
    p.set_defaults(func=_cmd_interpret)
