"""`amber` subcommands of the train stage: train, evaluate, compare."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from amber.cliutil import add_out_dir, dataclass_flags, from_flags

log = logging.getLogger("amber")

# Help text of TrainConfig's flags (a count-or-None field takes a count or "all").
_HELP = {
    "max_epochs": "at most this many epochs",
    "patience": "stop after this many epochs without a better validation AUROC",
    "lr_patience": "ReduceLROnPlateau patience (epochs)",
    "rc_augment": "add the reverse complement of each training sample (same labels); the "
    "saved model then averages both strands when it predicts",
    "lr_monitor": "what ReduceLROnPlateau watches: valid_auroc (the paper's signal) or valid_loss",
    "lr_factor": "ReduceLROnPlateau factor",
    "max_norm": "max L2 norm of each conv/dense output unit's weights; 0 = off",
    "width_multiplier": "filters (and a baseline's dense units) times this",
    "pool_dropout": "dropout after each pooling op (searched/sampled models only)",
    "epoch_samples": "training samples per epoch (a new shuffled subset each epoch)",
    "valid_samples": "validation samples (seeded subsample) scored after each epoch",
    "eval_batch_size": "batch size for validation predictions",
    "seed": "seed of the initial weights, dropout and batch order",
    "device": "auto, cpu or cuda[:N]",
    "bf16": "bfloat16 autocast for training where the hardware has it (CUDA, AVX512-BF16/AMX)",
}


def add_rc_average_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rc-average",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="average the predictions for each sequence and its reverse complement (default: "
        "as the model was trained, the reverse_complement of its model.json)",
    )


def _cmd_train(args: argparse.Namespace) -> None:
    import torch

    from amber.train.config import TrainConfig
    from amber.train.trainer import train_model

    torch.set_num_threads(args.threads)
    config = from_flags(TrainConfig, args)
    info = train_model(
        args.arch, args.space, args.train, args.valid, args.out_dir, config, name=args.name
    )
    log.info(
        "trained %s: best valid AUROC %.4f at epoch %d, %d parameters",
        info["name"],
        info["best_valid_auroc"],
        info["best_epoch"],
        info["n_parameters"],
    )


def _cmd_evaluate(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from amber.device import pick_device
    from amber.train.evaluate import evaluate_model

    torch.set_num_threads(args.threads)
    table = evaluate_model(
        args.model,
        args.test,
        args.features or args.test.parent / "features.tsv",
        args.out,
        batch_size=args.batch_size,
        device=pick_device(args.device),
        rc_average=args.rc_average,
    )
    log.info(
        "%s: mean test AUROC %.4f, AUPR %.4f over %d features; wrote %s",
        args.model,
        np.nanmean(table["auroc"]),
        np.nanmean(table["aupr"]),
        len(table),
        args.out,
    )


def _cmd_compare(args: argparse.Namespace) -> None:
    from amber.train.evaluate import compare_models

    summary, tests = compare_models(args.evaluations, args.models, args.summary, args.ttests)
    overall = summary[summary["category"] == "all"]
    for _, row in overall.iterrows():
        log.info(
            "%-20s %-8s AUROC %.4f AUPR %.4f", row["model"], row["group"], row["auroc"], row["aupr"]
        )
    log.info("wrote %s and %s", args.summary, args.ttests)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the train-stage subcommands to the `amber` parser."""
    from amber.train.config import TrainConfig

    p = sub.add_parser(
        "train",
        help="train a searched/sampled architecture or a baseline from scratch",
        description=(
            "Train the model described by ARCH (an architecture JSON with its model space "
            "SPACE, or a baseline JSON such as config/baselines/deepsea.json) on TRAIN, with "
            "early stopping on the validation AUROC of VALID (HDF5 datasets). Writes "
            "OUT/model.pt (best epoch's state_dict; torch.load(weights_only=True)), "
            "OUT/model.json (everything needed to rebuild it: amber.train.model_io.load_model) "
            "and OUT/epochs.csv (epoch, train_loss, valid_loss, valid_auroc, valid_aupr, lr, "
            "seconds). OUT/checkpoint.pt is written after every epoch; rerunning the same "
            "command after a kill resumes from it. --width-multiplier scales the filters (and "
            "a baseline's dense units); --pool-dropout applies to searched/sampled models only."
        ),
    )
    p.add_argument("--arch", type=Path, required=True, help="architecture or baseline JSON")
    p.add_argument("--space", type=Path, help="model space YAML (architecture JSON only)")
    p.add_argument("--train", type=Path, required=True, help="train.h5")
    p.add_argument("--valid", type=Path, required=True, help="valid.h5")
    add_out_dir(p)
    p.add_argument("--name", help="model name recorded in model.json (default: OUT's name)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    dataclass_flags(p, TrainConfig, helps=_HELP)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="per-feature test AUROC/AUPR of a trained model",
        description=(
            "Predict TEST (HDF5 dataset) with the model in MODEL (model.pt + model.json) and "
            "write OUT, a TSV with one row per feature of FEATURES (features.tsv): feature, "
            "category, auroc, aupr, n_pos (NaN where the test set lacks a class)."
        ),
    )
    p.add_argument("--model", type=Path, required=True, help="model folder")
    p.add_argument("--test", type=Path, required=True, help="test.h5")
    p.add_argument(
        "--features",
        type=Path,
        default=None,
        help="features.tsv (default: the one make-dataset wrote beside TEST)",
    )
    p.add_argument("--out", type=Path, required=True, help="output TSV")
    p.add_argument("--batch-size", type=int, default=1000, help="(default 1000)")
    add_rc_average_flag(p)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (default auto)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "compare",
        help="summarise evaluated models; t-test searched vs sampled",
        description=(
            "Read the `amber evaluate` tables EVALUATIONS (named <model>.tsv) and the matching "
            "model.json files MODELS (in the same order). Writes SUMMARY (model, group, "
            "n_parameters, category, n_features, auroc, aupr: means per category and 'all') "
            "and TTESTS (per category and metric, Welch's t-test of searched vs sampled "
            "models: means, t, p_value; NaN with a note when a group has < 2 models)."
        ),
    )
    p.add_argument("--evaluations", type=Path, nargs="+", required=True, help="<model>.tsv files")
    p.add_argument("--models", type=Path, nargs="+", required=True, help="model.json files")
    p.add_argument("--summary", type=Path, required=True, help="output summary.tsv")
    p.add_argument("--ttests", type=Path, required=True, help="output ttests.tsv")
    p.set_defaults(func=_cmd_compare)
