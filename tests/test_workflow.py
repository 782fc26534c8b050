"""The Snakemake workflow itself: dry runs of every shipped config, lint, config
validation errors, and a real end-to-end run of the data stage on a tiny config."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import h5py
import pytest
from workflow_runs import ROOT, TINY, snakemake

SHIPPED = [
    "config/config.yaml",
    "config/paper.yaml",
    "config/own_data.example.yaml",
    "config/nb360.yaml",
]


@pytest.mark.parametrize("configfile", SHIPPED)
def test_dry_run_of_every_shipped_config(configfile: str) -> None:
    result = snakemake("-n", "--forceall", "--configfile", configfile)
    assert result.returncode == 0, result.stdout + result.stderr
    importers = ("make_dataset", "import_deepsea", "import_npz")
    assert any(rule in result.stdout for rule in importers)


def test_lint_is_clean() -> None:
    result = snakemake("--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def _write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return str(path)


def test_config_typo_names_the_key(tmp_path: Path) -> None:
    cfg = _write_config(tmp_path, "run: typo\ndata:\n  source: simulate\n  bin_sise: 200\n")
    result = snakemake("-n", "--configfile", cfg)
    assert result.returncode != 0
    assert "bin_sise" in result.stdout + result.stderr


def test_config_wrong_type_names_the_key(tmp_path: Path) -> None:
    cfg = _write_config(tmp_path, "run: typo\ndata:\n  source: simulate\n  seq_len: long\n")
    result = snakemake("-n", "--configfile", cfg)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "seq_len" in out and "'long' is not of type 'integer'" in out


def test_config_bad_source_is_rejected(tmp_path: Path) -> None:
    cfg = _write_config(tmp_path, "run: typo\ndata:\n  source: ucsc\n")
    result = snakemake("-n", "--configfile", cfg)
    assert result.returncode != 0
    assert "'ucsc' is not one of" in result.stdout + result.stderr


FIGURES = ["fig2a", "fig3a", "fig3b", "fig4a", "fig5", "search_progress"]


def test_data_stage_end_to_end(tiny_run: Path) -> None:
    summary = json.loads((tiny_run / "data" / "dataset.json").read_text())
    assert summary["counts"]["train"] > 0
    features = (tiny_run / "data" / "features.tsv").read_text().splitlines()
    n_features = len(features) - 1
    for split, chroms in [("train", {b"chr1", b"chr2"}), ("valid", {b"chr3"}), ("test", {b"chr4"})]:
        with h5py.File(tiny_run / "data" / f"{split}.h5") as h5:
            assert h5["x"].shape[1:] == (4, 400)
            assert h5["y"].shape == (h5["x"].shape[0], n_features)
            assert set(h5["chrom"][:]) == chroms
            assert h5["y"][:].any()
    assert (ROOT / "logs" / "test_tiny" / "make_dataset.log").exists()


def test_every_stage_produced_its_outputs(tiny_run: Path) -> None:
    for name in ["searched_1", "searched_2", "sampled_1", "sampled_2", "baseline_cnn3"]:
        assert (tiny_run / "models" / name / "model.pt").stat().st_size > 0
        assert (tiny_run / "variants" / "asb" / name / "scores.h5").exists()
        assert (tiny_run / "variants" / "gwas" / name / "scores.h5").exists()
    assert "searched" in (tiny_run / "evaluate" / "ttests.tsv").read_text()
    assert (tiny_run / "asb" / "benchmark" / "asb_auroc.tsv").exists()
    assert (tiny_run / "ldsc" / "summary" / "enrichment.tsv").exists()
    for fig in FIGURES:
        for ext in ("png", "pdf"):
            assert (tiny_run / "figures" / f"{fig}.{ext}").stat().st_size > 1000, (fig, ext)


def test_every_job_left_a_benchmark_file_and_results_tables_render(tiny_run: Path) -> None:
    """Snakemake's benchmark files give wall/CPU per rule (benchmarks/e2e.py sums them)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from results_tables import headline, markdown

    bench = ROOT / "logs" / "test_tiny" / "benchmarks"
    rules = {p.relative_to(bench).parts[0].removesuffix(".tsv") for p in bench.rglob("*.tsv")}
    assert {"search_architecture", "train_model", "score_variants", "make_dataset"} <= rules
    row = (bench / "search_architecture" / "searched_1.tsv").read_text().splitlines()
    assert row[0].split("\t")[:2] == ["s", "h:m:s"] and float(row[1].split("\t")[0]) > 0
    numbers = headline(tiny_run)
    assert 0 < numbers["test_auroc_searched_all"] <= 1
    tables = markdown(tiny_run)
    searched = next(x for x in tables.splitlines() if x.startswith("| searched |"))
    # headline rounds to 4 places and the table to 3, so the two may differ in the last place
    assert float(searched.split("|")[2]) == pytest.approx(
        numbers["test_auroc_searched_all"], abs=6e-4
    )


def test_results_tables_check_a_readme_against_the_run(tiny_run: Path, tmp_path: Path) -> None:
    """The README's tables are regenerated from a run and checked against it."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from results_tables import main, markdown

    readme = tmp_path / "README.md"
    readme.write_text("# Results\n\n" + markdown(tiny_run) + "\n\nMore text.\n")
    assert main([str(tiny_run), "--check", str(readme)]) == 0
    line = next(x for x in readme.read_text().splitlines() if x.startswith("| searched |"))
    edited = line.replace("0.", "0.9", 1) if "0." in line else line + " x"
    readme.write_text(readme.read_text().replace(line, edited))
    assert main([str(tiny_run), "--check", str(readme)]) == 1


def _jobs(dry_run_output: str) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run lists."""
    jobs, rule = [], None
    for line in dry_run_output.splitlines():
        match = re.match(r"^(?:local)?rule (\w+):", line)
        if match:
            rule = match.group(1)
            jobs.append((rule, ""))
        elif rule and line.strip().startswith("wildcards:"):
            jobs[-1] = (rule, line.split(":", 1)[1].strip())
    return [job for job in jobs if job[0] != "all"]


def test_asking_for_one_target_runs_only_that_stage(tiny_run: Path) -> None:
    for ext in ("png", "pdf", "json"):
        (tiny_run / "figures" / f"fig2a.{ext}").unlink()
    result = snakemake(*TINY, "--cores", "2", "results/test_tiny/figures/fig2a.png")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [rule for rule, _ in _jobs(result.stdout + result.stderr)] == ["plot_fig2a"]
    assert (tiny_run / "figures" / "fig2a.png").exists()


def test_forcerun_search_reruns_search_and_downstream_only(tiny_run: Path) -> None:
    result = snakemake(*TINY, "-n", "--forcerun", "search_architecture")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = _jobs(result.stdout)
    rules = {rule for rule, _ in jobs}
    upstream = {"simulate_genome", "make_dataset", "sample_architecture", "train_baseline"}
    unrelated = {"simulate_asb", "simulate_genotypes", "simulate_gwas"}
    assert "search_architecture" in rules
    assert {"train_model", "evaluate_model", "score_variants", "plot_fig3a"} <= rules
    assert not rules & (upstream | unrelated), rules & (upstream | unrelated)
    # Models of the sampled architectures and the baselines are not retrained or rescored.
    for rule, wildcards in jobs:
        if rule in {"train_model", "evaluate_model", "score_variants"}:
            assert "searched_" in wildcards, (rule, wildcards)


def test_report_holds_every_figure_and_key_table(tiny_run: Path) -> None:
    report = tiny_run / "report.html"
    result = snakemake(*TINY, "--report", str(report), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    html = report.read_text()
    for name in [*(f"{fig}.png" for fig in FIGURES), "summary.tsv", "asb_auroc.tsv"]:
        assert name in html, name
    assert "enrichment.tsv" in html


def test_sharded_variant_scoring_gives_the_unsharded_files(tiny_run: Path, tmp_path: Path) -> None:
    """variants.shards: 3 scores a model's variant set in three jobs (blocks of whole
    chunks) and merge_variant_scores writes the files one job wrote: same datasets and
    attributes, same skipped.tsv. Run in a copy of the tiny run, for one model."""
    import shutil

    from workflow_runs import copy_workflow

    from amber.variants.scores import read_scores

    work = copy_workflow(tmp_path / "w")
    shutil.copytree(tiny_run, work / "results" / "test_tiny")
    (work / "shards.yaml").write_text("variants: {shards: 3, chunk_size: 40}\n")
    folder = work / "results" / "test_tiny" / "variants" / "asb" / "searched_1"
    whole = tmp_path / "whole"
    shutil.copytree(folder, whole)
    for name in ("scores.h5", "skipped.tsv", "summary.json"):
        (folder / name).unlink()
    target = "results/test_tiny/variants/asb/searched_1/scores.h5"
    # The unsharded file of the same chunking, for bit-identical batches.
    (work / "whole.yaml").write_text("variants: {chunk_size: 40}\n")
    result = snakemake(*TINY, "whole.yaml", "--cores", "2", target, cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    shutil.rmtree(whole)
    shutil.copytree(folder, whole)
    for name in ("scores.h5", "skipped.tsv", "summary.json"):
        (folder / name).unlink()
    result = snakemake(*TINY, "shards.yaml", "--cores", "2", target, cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    rules = [rule for rule, _ in _jobs(result.stdout + result.stderr)]
    assert sorted(rules) == ["merge_variant_scores"] + ["score_variants"] * 3, rules
    a, b = read_scores(whole / "scores.h5"), read_scores(folder / "scores.h5")
    assert len(a["pos"]) > 40  # more than one chunk, so the shards share the work
    for name in a:
        assert (a[name] == b[name]).all(), name
    assert (whole / "skipped.tsv").read_bytes() == (folder / "skipped.tsv").read_bytes()
    for i in (1, 2, 3):
        shard = json.loads((folder / "shards" / str(i) / "summary.json").read_text())
        assert shard["shard"] == f"{i}/3" and 0 < shard["counts"]["scored"] < len(a["pos"])


def test_ld_scores_per_chromosome_give_the_same_files(tiny_run: Path, tmp_path: Path) -> None:
    """ldsc.shard_chromosomes: one LD score job per chromosome, merged into the folder one
    job over every chromosome wrote, byte for byte. Run in a copy of the tiny run."""
    import shutil

    from workflow_runs import copy_workflow

    work = copy_workflow(tmp_path / "w")
    shutil.copytree(tiny_run, work / "results" / "test_tiny")
    (work / "shard.yaml").write_text("ldsc: {shard_chromosomes: true}\n")
    folder = work / "results" / "test_tiny" / "ldsc" / "ldscores" / "baseline"
    whole = {p.name: p.read_bytes() for p in folder.iterdir()}
    shutil.rmtree(folder)
    target = "results/test_tiny/ldsc/ldscores/baseline"
    result = snakemake(*TINY, "shard.yaml", "--cores", "2", target, cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    rules = [rule for rule, _ in _jobs(result.stdout + result.stderr)]
    assert sorted(rules) == ["ldsc_scores"] * 4 + ["merge_ldscores"], rules
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == whole
