"""Variant-effect scoring with selene-sdk's own code.

:func:`score_variants` checks every VCF record against the genome first (see
:mod:`amber.variants.vcf`), hands the scorable biallelic variants to
``selene_sdk.predict.AnalyzeSequences.variant_effect_prediction`` in chunks (with Selene's
``Genome`` as the reference), checks that Selene scored exactly those variants, and
collects its HDF5 outputs into ``scores.h5`` (layout in :mod:`amber.variants.scores`),
``skipped.tsv`` and ``summary.json``.

Selene behaviours worked around here (selene-sdk 0.6.0):

- it loads weights with ``torch.load`` and maps them onto the model **by position** when
  the key counts match (silently ``strict=False`` when they do not): the loaded weights
  are compared with the model's own afterwards;
- its VCF reader uses plain ``open()``, renames chromosomes, substitutes a wrong REF with a
  warning and moves variants whose window leaves the chromosome to a ``.NA`` side file:
  so it only ever sees a clean 5-column VCF of pre-checked variants with the FASTA's
  chromosome names, and an unexpected ``.NA`` row or ``ref_match=False`` is an error;
- its TSV writer keeps 3 significant digits and its logit handler clips the saved
  predictions in place: HDF5 output of ``diffs`` and ``predictions`` only, logfc
  computed from ref/alt here.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn

from amber.data.genome import scan_fasta, verify_fai
from amber.fileio import atomic_path, scratch_dir
from amber.progress import Progress
from amber.variants.scores import LOGFC_EPS, create_scores, logit_fold_change
from amber.variants.shards import shard_slice
from amber.variants.vcf import (
    MULTIALLELIC_MODES,
    REQUIRED_COLUMNS,
    Variant,
    VcfCheck,
    VcfError,
    check_vcf,
)

log = logging.getLogger("amber")

SKIPPED_COLUMNS = ("chrom", "pos", "id", "ref", "alt", "reason", "line", "detail")
_PREFIX = "chunk"  # Selene names its outputs after the input VCF: chunk.vcf -> chunk_*.h5


@dataclass(frozen=True)
class ScoreConfig:
    batch_size: int = 128  # sequences per forward pass (ref and alt batches each)
    chunk_size: int = 20000  # variants per Selene call (bounds Selene's memory use)
    multiallelic: str = "split"  # split into biallelic variants, or skip the record
    use_cuda: bool = False

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.chunk_size < 1:
            raise ValueError("batch_size and chunk_size must be >= 1")
        if self.multiallelic not in MULTIALLELIC_MODES:
            raise ValueError(f"multiallelic must be one of {MULTIALLELIC_MODES}")


def score_variants(
    model: nn.Module,
    features: Sequence[str],
    vcf: str | Path,
    fasta: str | Path,
    out_dir: str | Path,
    *,
    seq_len: int,
    config: ScoreConfig = ScoreConfig(),
    model_name: str = "",
    weights: str | Path | None = None,
    shard: tuple[int, int] | None = None,
) -> dict:
    """Score the variants of ``vcf`` with ``model`` and write ``out_dir/{scores.h5,
    skipped.tsv, summary.json}``; return the summary.

    ``model`` maps float (B, 4, seq_len) one-hot A,C,G,T to (B, len(features))
    probabilities. ``weights`` is the state_dict file Selene loads into it (its keys in
    the model's parameter order); by default the model's own weights are saved for it.
    ``shard=(i, n)`` scores only the i-th of n blocks of the variants
    (:mod:`amber.variants.shards` merges them).
    """
    with warnings.catch_warnings():
        # selene-sdk 0.6 imports pkg_resources, which setuptools deprecates: silenced for
        # this import only, not for the process.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        from selene_sdk import __version__ as selene_version
        from selene_sdk.predict import AnalyzeSequences
        from selene_sdk.sequences import Genome

    t0 = time.monotonic()
    out_dir = Path(out_dir)
    features = list(features)
    fasta = Path(fasta)
    if not fasta.is_file():
        raise FileNotFoundError(f"{fasta}: FASTA not found")
    _check_model(model, seq_len, len(features))

    # Selene reads through pyfaidx, which trusts a stale index and fails on a gzipped or
    # malformed FASTA with errors that name no file: check it first.
    verify_fai(fasta, scan_fasta(fasta))
    genome = Genome(str(fasta), init_unpicklable=True)
    check = check_vcf(
        vcf,
        genome.len_chrs,
        genome.get_sequence_from_coords,
        seq_len,
        multiallelic=config.multiallelic,
    )
    variants = check.variants
    _log_check(check, vcf)
    if check.records and not variants:
        first = check.skipped[0]
        raise VcfError(
            f"{vcf}: none of its {check.records} records can be scored; the first, line "
            f"{first.line}: {first.reason} ({first.detail})"
        )
    if shard is not None:
        variants = variants[shard_slice(len(variants), shard, config.chunk_size)]
        log.info("shard %d/%d: variants %d of %d", *shard, len(variants), len(check.variants))

    out_dir.mkdir(parents=True, exist_ok=True)
    attrs = {
        "model": model_name,
        "seq_len": seq_len,
        "logfc_eps": LOGFC_EPS,
        "vcf": str(vcf),
        "fasta": str(fasta),
        "selene_version": selene_version,
    }
    labels = {
        "chrom": [v.chrom for v in variants],
        "pos": [v.pos for v in variants],
        "id": [v.id for v in variants],
        "ref_allele": [v.ref for v in variants],
        "alt_allele": [v.alt for v in variants],
        "vcf_line": [v.line for v in variants],
    }
    unknown = 0
    with (
        scratch_dir(out_dir / "selene") as tmp,
        atomic_path(out_dir / "scores.h5") as h5_tmp,
        h5py.File(h5_tmp, "w") as handle,
    ):
        create_scores(handle, labels, features, attrs)
        if variants:
            analysis = _selene_analysis(
                AnalyzeSequences, model, features, genome, seq_len, config, weights, Path(tmp)
            )
            starts = range(0, len(variants), config.chunk_size)
            progress = Progress(starts, total=len(starts), desc="variant chunks")
            for i, start in enumerate(progress):
                chunk = variants[start : start + config.chunk_size]
                ref, alt, diff, n_unk = _run_selene(analysis, chunk, Path(tmp) / f"{i}")
                stop = start + len(chunk)
                handle["ref"][start:stop] = ref
                handle["alt"][start:stop] = alt
                handle["diff"][start:stop] = diff
                handle["logfc"][start:stop] = logit_fold_change(ref, alt)
                unknown += n_unk
                progress.set(variants=stop)

    seconds = time.monotonic() - t0
    write_skipped(check, out_dir / "skipped.tsv")
    skipped = {k: v for k, v in check.counts().items() if k != "to_score"}
    counts = {"scored": len(variants), **skipped}
    summary = {
        "model": model_name,
        "vcf": str(vcf),
        "fasta": str(fasta),
        "records": check.records,
        "counts": counts,
        "skipped_total": len(check.skipped),
        "multiallelic_records_split": check.multiallelic_split,
        "windows_with_unknown_bases": unknown,
        "seq_len": seq_len,
        "n_features": len(features),
        "logfc_eps": LOGFC_EPS,
        "batch_size": config.batch_size,
        "device": "cuda" if config.use_cuda else "cpu",
        "seconds": round(seconds, 3),
        "selene_version": selene_version,
    }
    if shard is not None:
        summary["shard"] = f"{shard[0]}/{shard[1]}"
    with atomic_path(out_dir / "summary.json") as tmp_json:
        tmp_json.write_text(json.dumps(summary, indent=2) + "\n")
    log.info(
        "scored %d variants in %.1f s (%d windows contain N); outcomes: %s",
        len(variants),
        seconds,
        unknown,
        ", ".join(f"{k}={v}" for k, v in counts.items()),
    )
    return summary


def write_skipped(check: VcfCheck, path: Path) -> None:
    """``skipped.tsv``: one row per skipped variant (or malformed line), in VCF order."""
    rows = sorted(check.skipped, key=lambda s: s.line)  # sort is stable: ALT order kept
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(SKIPPED_COLUMNS)
        for s in rows:
            writer.writerow([s.chrom, s.pos, s.id, s.ref, s.alt, s.reason, s.line, s.detail])


def _check_model(model: nn.Module, seq_len: int, n_features: int) -> None:
    """Fail early, with a clear message, on a model that does not fit the inputs."""
    params = next(iter(model.parameters()), None)
    device = params.device if params is not None else torch.device("cpu")
    model.eval()
    with torch.no_grad():
        out = model(torch.full((2, 4, seq_len), 0.25, device=device))
    if tuple(out.shape) != (2, n_features):
        raise ValueError(
            f"the model maps (2, 4, {seq_len}) inputs to shape {tuple(out.shape)}, expected "
            f"(2, {n_features}) for the {n_features} features of features.tsv"
        )
    if not bool(((out >= 0) & (out <= 1)).all()):
        raise ValueError("the model's outputs are not probabilities in [0, 1] (Selene needs them)")


def _selene_analysis(
    analyze_cls: type,
    model: nn.Module,
    features: list[str],
    genome: object,
    seq_len: int,
    config: ScoreConfig,
    weights: str | Path | None,
    tmp: Path,
):
    """Selene's ``AnalyzeSequences``, after checking it loaded exactly the model's weights."""
    before = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    if weights is None:
        weights = tmp / "weights.pt"
        torch.save(before, weights)
    analysis = analyze_cls(
        model,
        str(weights),
        seq_len,
        features,
        batch_size=config.batch_size,
        use_cuda=config.use_cuda,
        reference_sequence=genome,
    )
    after = model.state_dict()
    changed = [
        k for k in before if k not in after or not torch.equal(before[k], after[k].detach().cpu())
    ]
    if changed or len(after) != len(before):
        raise ValueError(
            f"{weights}: the weights Selene loaded differ from the model's own "
            f"({len(changed)} tensor(s), e.g. {changed[:3]}); the state_dict must list the "
            "model's parameters in the model's order"
        )
    return analysis


def _run_selene(
    analysis, chunk: list[Variant], workdir: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One ``variant_effect_prediction`` call: (ref, alt, diff) float32 (n, F), #windows with N."""
    workdir.mkdir()
    vcf_path = workdir / f"{_PREFIX}.vcf"
    with open(vcf_path, "w") as handle:
        handle.write("\t".join(REQUIRED_COLUMNS) + "\n")
        for v in chunk:
            handle.write(f"{v.genome_chrom}\t{v.pos}\t{v.id}\t{v.ref}\t{v.alt}\n")
    with warnings.catch_warnings():
        # One warning per window containing N; counted from the row labels instead.
        warnings.filterwarnings("ignore", message=r"For variant .*unknown base")
        analysis.variant_effect_prediction(
            str(vcf_path),
            save_data=["diffs", "predictions"],
            output_dir=str(workdir),
            output_format="hdf5",
        )
    na_path = workdir / f"{_PREFIX}.NA"
    if na_path.exists() and na_path.read_text().strip():
        first = na_path.read_text().splitlines()[0]
        raise RuntimeError(f"Selene could not fetch the window of a pre-checked variant: {first}")
    n_unknown = _check_row_labels(workdir / f"{_PREFIX}_row_labels.txt", chunk)
    arrays = []
    for name in ("ref_predictions", "alt_predictions"):
        arrays.append(_read_selene_h5(workdir / f"{_PREFIX}.{name}.h5", len(chunk)))
    arrays.append(_read_selene_h5(workdir / f"{_PREFIX}_diffs.h5", len(chunk)))
    shutil.rmtree(workdir)
    ref, alt, diff = arrays
    return ref, alt, diff, n_unknown


def _read_selene_h5(path: Path, n: int) -> np.ndarray:
    with h5py.File(path, "r") as handle:
        data = handle["data"][()]
    if data.shape[0] != n:
        raise RuntimeError(f"Selene wrote {data.shape[0]} rows to {path.name}, expected {n}")
    # The model computes in float32; Selene stores float64 copies, so this cast is exact.
    return data.astype(np.float32)


def _check_row_labels(path: Path, chunk: list[Variant]) -> int:
    """Selene's rows must be our variants, in order, with REF matching; return #with N."""
    with open(path) as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle][1:]
    if len(rows) != len(chunk):
        raise RuntimeError(f"Selene labelled {len(rows)} variants, expected {len(chunk)}")
    unknown = 0
    for row, v in zip(rows, chunk, strict=True):
        chrom, pos, name, ref, alt, _strand, ref_match, contains_unk = row
        if (chrom, pos, name, ref, alt) != (v.genome_chrom, str(v.pos), v.id, v.ref, v.alt):
            raise RuntimeError(f"Selene's row {row[:5]} does not match VCF line {v.line}")
        if ref_match != "True":
            raise RuntimeError(f"Selene reports a REF mismatch for checked VCF line {v.line}")
        unknown += contains_unk == "True"
    return unknown


def _log_check(check: VcfCheck, vcf: str | Path) -> None:
    counts = check.counts()
    log.info(
        "%s: %d records -> %d variants to score, %d skipped (%s)",
        vcf,
        check.records,
        counts["to_score"],
        len(check.skipped),
        ", ".join(f"{k}={v}" for k, v in counts.items() if k != "to_score" and v),
    )
    mismatched = counts["ref_mismatch"]
    if mismatched and mismatched > 0.1 * (counts["to_score"] + mismatched):
        log.warning(
            "%d variants have a REF that differs from the genome: is the FASTA the genome "
            "build the VCF was called on?",
            mismatched,
        )
