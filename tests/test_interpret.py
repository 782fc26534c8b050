"""Interpretation (amber.interpret): attributions, TF-MoDISco, TOMTOM against JASPAR and
the scores against planted motifs, on a toy problem whose answer is known
(tests/interpret_planted.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from interpret_planted import (
    MOTIF_ID,
    TF,
    planted_data,
    planted_model,
    planted_pwm,
    random_model,
)

from amber.interpret import attributions, discovery, matching, pipeline

ROOT = Path(__file__).resolve().parents[1]
SEQ_LEN = 160
N_SEQS = 240


@pytest.fixture(scope="module")
def jaspar() -> matching.MotifDatabase:
    return matching.jaspar_collection(include={TF: MOTIF_ID})


@pytest.fixture(scope="module")
def planted():
    return planted_data(N_SEQS, SEQ_LEN, seed=3)


def _run(model, planted, jaspar):
    x, chrom, start, instances, _ = planted
    config = pipeline.InterpretConfig(n_shuffles=4, ism_sequences=2, max_per_feature=None)
    rows, feats = pipeline.select_pairs(np.ones((len(x), 1)), [0], None, seed=0)
    interp = pipeline.interpret(model, x, rows, feats, jaspar, config)
    table, summary = pipeline.score_against_truth(
        interp, x, chrom, start, {0: TF}, instances, jaspar, config.q_threshold
    )
    return interp, table.set_index("tf").loc[TF], summary


def test_tomtom_finds_the_jaspar_id_of_a_noisy_jaspar_pfm(jaspar) -> None:
    rng = np.random.default_rng(0)
    wanted = {"CTCF": "MA0139.2", "REST": "MA0138.3", "GATA1": "MA0035.5", "CEBPB": "MA0466.4"}
    db_index = {mid: i for i, mid in enumerate(jaspar.ids)}
    queries = []
    for mid in wanted.values():
        pfm = jaspar.ppms[db_index[mid]]
        noisy = 0.8 * pfm + 0.2 * rng.dirichlet(np.ones(4), size=len(pfm))
        queries.append(noisy / noisy.sum(axis=1, keepdims=True))
    p, q = matching.tomtom(queries, jaspar)
    best = matching.best_matches(list(wanted), p, q, jaspar)
    assert [n.upper() for n in best["jaspar_name"]] == list(wanted)
    assert (best["q_value"] < 0.05).all()
    for i, (tf, mid) in enumerate(wanted.items()):
        # The exact matrix matches, and only matrices of the same TF (CTCF's longer
        # MA1930.2 holds MA0139.2 whole) match better.
        j = db_index[mid]
        assert q[i, j] < 0.05
        better = np.flatnonzero(p[i] < p[i, j])
        assert {jaspar.names[k].upper() for k in better} <= {tf}, (tf, better)
    # A scrambled query (columns shuffled, so no real motif) finds nothing so good.
    scrambled = queries[0][rng.permutation(len(queries[0]))]
    p2, _ = matching.tomtom([scrambled], jaspar)
    assert p2[0, db_index["MA0139.2"]] > 1e3 * p[0, db_index["MA0139.2"]]


def test_deep_lift_shap_sums_to_the_logit_difference_and_ism_agrees(planted) -> None:
    x, *_, pfm = planted
    model = planted_model(planted_pwm(pfm), SEQ_LEN, threshold=8.0)
    xs = torch.as_tensor(x[:8])
    hyp = attributions.deep_lift_shap(model, xs, 0, n_shuffles=4, seed=0)
    assert hyp.shape == xs.shape
    contrib = (hyp * xs).sum(dim=(1, 2))
    # Against shuffled references the motif is gone: the contributions add up to about
    # the logit (minus the references' mean logit, -2 unless a shuffle keeps a site).
    logits = model.forward_logits(xs).squeeze(1).detach()
    assert float((contrib - (logits + 2.0)).abs().median()) < 0.1
    assert float(torch.corrcoef(torch.stack([contrib, logits]))[0, 1]) > 0.95
    ism = attributions.ism(model, xs[:2], [0])
    assert ism.shape == (2, 1, 4, SEQ_LEN)
    # Both methods put the largest effect inside the planted site.
    _, chrom, start, instances, _ = planted
    for i in range(2):
        site = instances.iloc[i]
        a, b = site["start"] - start[i], site["end"] - start[i]
        assert a <= int((hyp[i] * xs[i]).sum(0).argmax()) < b
        assert a <= int((ism[i, 0] * xs[i]).sum(0).abs().argmax()) < b


def _network(kind: str, seq_len: int) -> torch.nn.Module:
    """A child of the demo space (every op kind, skips) or a baseline, He-initialised."""
    from amber.nas.arch import Architecture
    from amber.nas.child import build_child
    from amber.nas.ops import he_init_
    from amber.nas.space import load_space
    from amber.train.baselines import PlainCNN, load_baseline_spec

    torch.manual_seed(0)
    if kind.startswith("demo"):
        ops = ("maxpool4", "conv8", "avgpool4", "dilconv4", "identity", "conv4")
        layers = [{"op": op, "skips": [1] * i} for i, op in enumerate(ops)]
        arch = Architecture.from_json({"model_space": kind, "layers": layers})
        net = build_child(arch, load_space(ROOT / f"config/model_spaces/{kind}.yaml"), seq_len, 3)
    else:
        net = PlainCNN(load_baseline_spec(ROOT / f"config/baselines/{kind}.json"), seq_len, 3)
    return he_init_(net).eval()


@pytest.mark.parametrize("kind", ["demo", "demo_global_max", "cnn3", "conv_globalmax"])
def test_deep_lift_shap_is_exact_on_every_kind_of_network(kind: str) -> None:
    """With tangermeme's own rules, the attributions of each (sequence, reference) pair
    sum to the logit difference (convergence delta < 1e-3) on NAS children with every op,
    skips, flatten and global-max heads, and on baselines: every nonlinearity is a
    module DeepLIFT sees. A functional ReLU or max would be taken as linear and fail."""
    from tangermeme.deep_lift_shap import deep_lift_shap

    seq_len = 400
    net = attributions.logit_model(_network(kind, seq_len))
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (4, seq_len)), 4).float().mT
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # tangermeme warns on a large delta
        deep_lift_shap(net, x, target=1, n_shuffles=3, warning_threshold=1e-3, random_state=0)
    # The same check fails for a global max taken as a function (the control).
    if kind.endswith("globalmax") or kind.endswith("global_max"):
        pool = next(m for m in net.modules() if type(m).__name__ == "HeadPool")
        pool.max_pool = None
        pool.kind = "amax"
        pool.forward = lambda h: h.amax(dim=(2, 3))
        with warnings.catch_warnings(), pytest.raises(RuntimeWarning, match="Convergence"):
            warnings.simplefilter("error", RuntimeWarning)
            deep_lift_shap(net, x, target=1, n_shuffles=3, warning_threshold=1e-3, random_state=0)


def test_hand_set_planted_filter_is_recovered_with_auroc_near_one(planted, jaspar) -> None:
    pfm = planted[-1]
    model = planted_model(planted_pwm(pfm), SEQ_LEN, threshold=8.0)
    interp, row, summary = _run(model, planted, jaspar)
    assert row["recovered"], interp.motifs
    assert row["q_value"] < 0.05
    assert row["attribution_auroc"] > 0.95
    assert row["recovered_by_filters"]
    assert summary["recall"] == 1.0 and summary["precision"] > 0


def test_random_weights_recover_nothing(planted, jaspar) -> None:
    model = random_model(len(planted[-1]), SEQ_LEN, seed=0)
    _, row, summary = _run(model, planted, jaspar)
    assert not row["recovered"]
    assert summary["recall"] == 0.0
    assert row["attribution_auroc"] < 0.8


def test_filter_motifs_read_the_first_layer(planted) -> None:
    x, *_, pfm = planted
    model = planted_model(planted_pwm(pfm), SEQ_LEN, threshold=8.0)
    forward, reverse = discovery.filter_motifs(model, torch.as_tensor(x), min_ic=0.0)
    # Each filter reads the stronger sites planted on its strand, and
    # their average is the planted PFM (reverse complemented for the second filter).
    assert forward.n_sites >= N_SEQS * 0.2 and reverse.n_sites >= N_SEQS * 0.2
    assert np.abs(forward.ppm - pfm).mean() < 0.1
    assert np.abs(reverse.ppm - pfm[::-1, ::-1]).mean() < 0.1


def test_interpret_rule_on_the_tiny_run(tiny_run, tmp_path) -> None:
    """The stage's rules on the tiny workflow run: every model gets its interpretation
    and truth.tsv, and the recovery figure reads them all. Run in a copy of the tiny run,
    which other tests compare with a fresh run file by file."""
    import json
    import shutil

    import pandas as pd
    from workflow_runs import TINY, copy_workflow, snakemake

    work = copy_workflow(tmp_path / "w")
    run = work / "results" / "test_tiny"
    shutil.copytree(tiny_run, run)
    names = sorted(p.name for p in (run / "models").iterdir() if p.is_dir())
    targets = [f"results/test_tiny/interpret/{n}/summary.json" for n in names]
    figure = "results/test_tiny/figures/interpret_recovery.png"
    result = snakemake(*TINY, "--cores", "2", *targets, figure, cwd=work, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    planted = set(pd.read_csv(run / "genome" / "motif_instances.tsv", sep="\t")["tf"])
    for name in names:
        folder = run / "interpret" / name
        for file in ("attributions.h5", "motifs.h5", "motifs.meme", "matches.tsv", "logos.png"):
            assert (folder / file).stat().st_size > 0, folder / file
        truth = pd.read_csv(folder / "truth.tsv", sep="\t")
        assert set(truth["tf"]) == planted and (truth["model"] == name).all()
        auroc = truth["attribution_auroc"].dropna()
        assert ((auroc >= 0) & (auroc <= 1)).all()
    sidecar = json.loads((run / "figures" / "interpret_recovery.json").read_text())
    assert {m["model"] for m in sidecar["models"]} == set(names)


def test_a_pattern_without_an_informative_core_is_dropped() -> None:
    """A TF-MoDISco pattern whose positions all fall below the information threshold
    (seen on a demo model) is left out instead of becoming an empty motif, which broke
    the logo sheet and cannot match JASPAR."""
    from types import SimpleNamespace

    flat = np.full((12, 4), 0.25)
    sharp = np.full((12, 4), 0.01)
    sharp[np.arange(12), np.arange(12) % 4] = 0.97
    patterns = [
        SimpleNamespace(sequence=flat, contrib_scores=flat * 0.1, seqlets=[0] * 30),
        SimpleNamespace(sequence=sharp, contrib_scores=sharp, seqlets=[0] * 40),
    ]
    motifs = discovery.modisco_motifs(patterns, [])
    assert [(m.name, m.ppm.shape) for m in motifs] == [("pos_1", (12, 4))]
