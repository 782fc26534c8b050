"""Figures (amber plot ...): each from small synthetic result files, checked through the
files written (PNG, PDF) and the JSON sidecar holding the plotted numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from amber.cli import main
from amber.plots.embeddings import pca_2d
from amber.plots.render import read_sidecar

CATEGORY_SIZES = {"TF": 4, "DNase": 3, "Histone": 2}
# Per-group AUROC/AUPR levels; model i of a group adds 0.01 * i.
LEVELS = {"searched": (0.90, 0.40), "sampled": (0.80, 0.30), "baseline": (0.70, 0.20)}
MODELS = ["searched_1", "searched_2", "searched_3", "sampled_1", "sampled_2", "sampled_3"]
MODELS += ["baseline_cnn3"]
OPS = ["conv8", "conv4", "maxpool4", "identity"]


def _model_level(name: str) -> tuple[float, float]:
    group, suffix = name.split("_", 1)
    i = int(suffix) if suffix.isdigit() else 0
    auroc, aupr = LEVELS[group]
    return auroc + 0.01 * i, aupr + 0.01 * i


def _write_evaluations(folder: Path) -> list[Path]:
    """Per feature: model level +- a symmetric spread (per-category means = the level),
    plus features without positives (NaN metrics) that must not spoil the means or add an
    empty category."""
    folder.mkdir(parents=True)
    paths = []
    for name in MODELS:
        auroc, aupr = _model_level(name)
        rows = []
        for category, n in CATEGORY_SIZES.items():
            spread = np.linspace(-0.05, 0.05, n)
            for k in range(n):
                rows.append((f"{category}_{k}", category, auroc + spread[k], aupr + spread[k], 9))
        rows.append(("TF_empty", "TF", float("nan"), float("nan"), 0))
        rows.append(("Pol_empty", "Pol", float("nan"), float("nan"), 0))
        table = pd.DataFrame(rows, columns=["feature", "category", "auroc", "aupr", "n_pos"])
        path = folder / f"{name}.tsv"
        table.to_csv(path, sep="\t", index=False)
        paths.append(path)
    return paths


def _op_probs(seed: int, steps: int = 5, layers: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for step in range(steps):
        for layer in range(layers):
            p = rng.dirichlet(np.ones(len(OPS)))
            rows.append({"step": step, "layer": layer, **dict(zip(OPS, p, strict=True))})
    return pd.DataFrame(rows)


def _write_search(folder: Path, seed: int) -> None:
    """op_probs.tsv, op_embeddings.tsv and history.csv of one synthetic search."""
    folder.mkdir(parents=True)
    _op_probs(seed).to_csv(folder / "op_probs.tsv", sep="\t", index=False, float_format="%.6f")
    rng = np.random.default_rng(seed)
    emb = pd.DataFrame(rng.normal(size=(len(OPS), 16)), columns=[f"e{j}" for j in range(16)])
    emb.insert(0, "op", OPS)
    emb.to_csv(folder / "op_embeddings.tsv", sep="\t", index=False)
    steps = np.arange(6)
    history = pd.DataFrame(
        {
            "step": steps,
            "mean_reward": 0.5 + 0.02 * steps + 0.01 * seed,
            "max_reward": 0.6 + 0.02 * steps,
            "baseline": 0.5 + 0.015 * steps,
            "loss": 0.1,
            "skip_density": 0.5 - 0.01 * steps,
            "entropy": 20.0,
        }
    )
    history.to_csv(folder / "history.csv", index=False)


@pytest.fixture(scope="module")
def search_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("search")
    for i in (1, 2):
        _write_search(root / f"searched_{i}", seed=i)
    return root


def _check_outputs(png: Path) -> None:
    """PNG and PDF exist, are real images of some content, and no temp files are left."""
    pdf = png.with_suffix(".pdf")
    assert png.stat().st_size > 20_000 and pdf.stat().st_size > 5_000
    assert pdf.read_bytes().startswith(b"%PDF")
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 600 and image.height > 300
        assert image.info.get("Software") == "amber"
        # Not a blank canvas: many distinct colours.
        assert len(image.convert("RGB").getcolors(maxcolors=1_000_000)) > 50
    assert not list(png.parent.glob(".*.tmp"))


def _panel(sidecar: dict, title: str) -> dict:
    return next(p for p in sidecar["panels"] if p["title"] == title)


def test_fig2a_groups_categories_and_means(tmp_path: Path) -> None:
    paths = _write_evaluations(tmp_path / "evaluate")
    png = tmp_path / "figures" / "fig2a.png"
    assert main(["plot", "fig2a", "--evaluations", *map(str, paths), "--out", str(png)]) == 0
    _check_outputs(png)
    side = read_sidecar(png)
    assert [p["title"] for p in side["panels"]] == ["AUROC", "AUPR"]
    assert side["categories"] == ["TF", "DNase", "Histone"]
    assert side["n_features"] == {"TF": 4, "DNase": 3, "Histone": 2}
    for k, metric in enumerate(("AUROC", "AUPR")):
        panel = _panel(side, metric)
        groups = {s["label"]: s for s in panel["series"]}
        assert list(groups) == ["searched", "sampled", "baseline"]
        for group, series in groups.items():
            models = [m for m in MODELS if m.startswith(group)]
            assert sorted(series["models"]) == models
            expected = np.mean([_model_level(m)[k] for m in models])
            assert series["x"] == ["TF", "DNase", "Histone"]
            np.testing.assert_allclose(series["y"], [expected] * 3, atol=1e-9)
            for m in models:
                np.testing.assert_allclose(series["models"][m], [_model_level(m)[k]] * 3)
        # Searched models are 0.1 better with tiny spread: clearly significant.
        assert all(t["p"] < 0.001 and t["stars"] == "***" for t in panel["tests"].values())


def test_fig2a_rejects_a_file_that_is_not_a_model(tmp_path: Path, capsys) -> None:
    paths = _write_evaluations(tmp_path / "evaluate")
    summary = tmp_path / "evaluate" / "summary.tsv"
    summary.write_text("model\tmean_auroc\nsearched_1\t0.9\n")
    out = tmp_path / "fig2a.png"
    assert main(["plot", "fig2a", "--evaluations", str(paths[0]), str(summary), "--out", str(out)])
    assert "'summary'" in capsys.readouterr().err
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_bad_metric_value_names_file_and_line(tmp_path: Path, capsys) -> None:
    paths = _write_evaluations(tmp_path / "evaluate")
    table = pd.read_csv(paths[0], sep="\t").astype({"auroc": object})
    table.loc[2, "auroc"] = "high"  # line 4 of the file (after the header)
    table.to_csv(paths[0], sep="\t", index=False)
    assert main(["plot", "fig2a", "--evaluations", str(paths[0]), "--out", str(tmp_path / "f.png")])
    assert f"{paths[0]}:4: column 'auroc' must be a number, got 'high'" in capsys.readouterr().err


def test_fig3a_one_panel_per_layer_mean_over_replicates(tmp_path: Path, search_dir: Path) -> None:
    files = sorted(search_dir.glob("searched_*/op_probs.tsv"))
    png = tmp_path / "fig3a.png"
    assert main(["plot", "fig3a", "--op-probs", *map(str, files), "--out", str(png)]) == 0
    _check_outputs(png)
    side = read_sidecar(png)
    assert [p["title"] for p in side["panels"]] == ["layer 0", "layer 1", "layer 2"]
    assert side["replicates"] == ["searched_1", "searched_2"]
    a, b = (pd.read_csv(f, sep="\t") for f in files)
    for panel in side["panels"]:
        assert [s["label"] for s in panel["series"]] == OPS
        layer = panel["layer"]
        for s in panel["series"]:
            assert s["x"] == list(range(5))
            va = a[a.layer == layer][s["label"]].to_numpy()
            vb = b[b.layer == layer][s["label"]].to_numpy()
            np.testing.assert_allclose(s["y"], (va + vb) / 2, atol=1e-9)
            np.testing.assert_allclose(s["lo"], np.minimum(va, vb), atol=1e-9)
    final = side["final"]
    assert [s["label"] for s in final["series"]] == OPS
    last = (a[a.step == 4][OPS].to_numpy() + b[b.step == 4][OPS].to_numpy()) / 2
    np.testing.assert_allclose([s["y"] for s in final["series"]], last.T, atol=1e-9)


def test_fig3a_rejects_replicates_with_different_ops(tmp_path: Path, search_dir: Path) -> None:
    other = tmp_path / "searched_9" / "op_probs.tsv"
    other.parent.mkdir()
    _op_probs(3).rename(columns={"conv4": "conv5"}).to_csv(other, sep="\t", index=False)
    first = search_dir / "searched_1" / "op_probs.tsv"
    args = ["plot", "fig3a", "--op-probs", str(first), str(other), "--out", str(tmp_path / "f.png")]
    assert main(args) == 1


def test_pca_keeps_distances_of_rank_two_data() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(5, 2)) * [3.0, 1.0]
    matrix = points @ np.linalg.qr(rng.normal(size=(8, 8)))[0][:2] + 5.0  # rotate into 8-D
    scores, ratios = pca_2d(matrix, reference=4)
    assert sum(ratios) == pytest.approx(1.0)
    assert ratios[0] > ratios[1]
    assert np.all(scores[4] >= 0)

    def dist(x: np.ndarray) -> np.ndarray:
        return np.linalg.norm(x[:, None] - x[None], axis=-1)

    np.testing.assert_allclose(dist(scores), dist(matrix), atol=1e-9)


def test_fig3b_one_point_per_op_per_replicate(tmp_path: Path, search_dir: Path) -> None:
    files = sorted(search_dir.glob("searched_*/op_embeddings.tsv"))
    png = tmp_path / "fig3b.png"
    assert main(["plot", "fig3b", "--embeddings", *map(str, files), "--out", str(png)]) == 0
    _check_outputs(png)
    side = read_sidecar(png)
    assert [p["title"] for p in side["panels"]] == ["searched_1", "searched_2"]
    for panel in side["panels"]:
        assert [s["label"] for s in panel["series"]] == OPS
        assert all(len(s["x"]) == len(s["y"]) == 1 for s in panel["series"])
        identity = panel["series"][OPS.index("identity")]
        assert identity["x"][0] >= 0 and identity["y"][0] >= 0
        assert panel["explained_variance"][0] >= panel["explained_variance"][1] > 0
        assert panel["x_label"].startswith("PC1")


def test_search_progress_series(tmp_path: Path, search_dir: Path) -> None:
    files = sorted(search_dir.glob("searched_*/history.csv"))
    png = tmp_path / "progress.png"
    args = ["plot", "search-progress", "--history", *map(str, files), "--skip-target", "0.4"]
    assert main([*args, "--out", str(png)]) == 0
    _check_outputs(png)
    side = json.loads(png.with_suffix(".json").read_text())
    rewards, skips = side["panels"]
    assert {(s["label"], s["replicate"]) for s in rewards["series"]} == {
        (q, r) for q in ("mean_reward", "max_reward", "baseline") for r in side["replicates"]
    }
    assert [s["replicate"] for s in skips["series"]] == ["searched_1", "searched_2"]
    mean_2 = next(
        s for s in rewards["series"] if s == s | {"label": "mean_reward", "replicate": "searched_2"}
    )
    np.testing.assert_allclose(mean_2["y"], 0.52 + 0.02 * np.arange(6))
    np.testing.assert_allclose(skips["series"][0]["y"], 0.5 - 0.01 * np.arange(6))
    assert side["skip_target"] == 0.4


def _plot_history(history: pd.DataFrame, path: Path) -> Path:
    """Write ``history`` to ``path`` and plot it alone; the figure's PNG beside its folder."""
    path.parent.mkdir()
    history.to_csv(path, index=False)
    png = path.parent.parent / "progress.png"
    assert main(["plot", "search-progress", "--history", str(path), "--out", str(png)]) == 0
    _check_outputs(png)
    return png


def test_search_progress_per_candidate_without_controller(tmp_path: Path, search_dir: Path) -> None:
    """``strategy: short_training`` rewards one candidate per row, with no baseline: the
    figure shows each candidate's reward and the best so far, per candidate."""
    history = pd.read_csv(search_dir / "searched_1" / "history.csv")
    history["mean_reward"] = history["max_reward"] = [0.70, 0.74, 0.71, 0.78, 0.72, 0.75]
    history["baseline"] = np.nan
    png = _plot_history(history, tmp_path / "short_1" / "history.csv")
    rewards, skips = json.loads(png.with_suffix(".json").read_text())["panels"]
    assert rewards["x_label"] == skips["x_label"] == "candidate (trained alone)"
    series = {s["label"]: s["y"] for s in rewards["series"]}
    assert series == {
        "reward": [0.70, 0.74, 0.71, 0.78, 0.72, 0.75],
        "best_so_far": [0.70, 0.74, 0.74, 0.78, 0.78, 0.78],
    }


def test_help_documents_inputs_and_outputs(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["plot", "fig3a", "--help"])
    text = capsys.readouterr().out
    assert "--op-probs" in text and ".pdf" in text and ".json" in text


def test_search_progress_of_random_ws_search_without_rewards(
    tmp_path: Path, search_dir: Path
) -> None:
    """``strategy: random_ws`` computes no rewards per step: empty reward cells plot as
    gaps; text in them is still refused with file and line."""
    history = pd.read_csv(search_dir / "searched_1" / "history.csv")
    history[["mean_reward", "max_reward", "baseline"]] = np.nan
    path = tmp_path / "random_ws_1" / "history.csv"
    png = _plot_history(history, path)
    history["mean_reward"] = history["mean_reward"].astype(object)
    history.loc[2, "mean_reward"] = "high"
    history.to_csv(path, index=False)
    assert main(["plot", "search-progress", "--history", str(path), "--out", str(png)]) == 1
