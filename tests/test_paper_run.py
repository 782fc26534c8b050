"""config/paper.yaml end to end, in miniature: every route of the paper run (DeepSEA
bundle -> import-deepsea; hg19 -> prepare-genome -> Selene scoring; the reference S-LDSC
route from 1000 Genomes PLINK files, baselineLD, weights, frequencies and UK Biobank
summary statistics; the Wagih ASB table) on tiny, format-true fixtures of its downloads
(tests/paper_fixtures.py), fetched by the workflow's own download rule from file:// URLs
pinned by sha256. Only sizes are changed (tests/configs/paper_tiny.yaml)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import h5py
import pytest
from paper_fixtures import N_SAMPLES, write_manifest, write_paper_downloads
from test_workflow import _jobs
from workflow_runs import copy_workflow, snakemake

PAPER = ["--configfile", "config/paper.yaml", "tests/configs/paper_tiny.yaml"]
RUN = "paper_tiny"
WAGIH = "wagih_asb.tsv.gz"  # no URL: given to the run as asb.table
FIGURES = ["fig2a", "fig3a", "fig3b", "fig4a", "fig5", "search_progress"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workflow copy with the fixtures in paper_inputs/files/ and their manifest."""
    wf = copy_workflow(tmp_path_factory.mktemp("paper_run"))
    files = write_paper_downloads(wf / "paper_inputs" / "files")
    downloads = {name: path for name, path in files.items() if name != WAGIH}
    write_manifest(downloads, wf / "paper_inputs" / "downloads.tsv")
    return wf


@pytest.fixture(scope="module")
def planned(workdir: Path) -> set[str]:
    """Rules Snakemake plans for the paper config (without `all`)."""
    result = snakemake("-n", "--forceall", *PAPER, cwd=workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {rule for rule, _ in _jobs(result.stdout)}


@pytest.fixture(scope="module")
def paper_run(workdir: Path, planned: set[str]) -> Path:
    result = snakemake("--cores", "2", *PAPER, cwd=workdir, timeout=1500)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    yield workdir
    shutil.rmtree(workdir, ignore_errors=True)


def _ran_rules(workdir: Path) -> set[str]:
    """Rules that made the run's files, from Snakemake's own records (--summary)."""
    result = snakemake("--summary", *PAPER, cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    header = rows[0]
    rule, status = header.index("rule"), header.index("status")
    return {row[rule] for row in rows[1:] if row[status] == "ok"}


def test_paper_plan_covers_every_route(planned: set[str]) -> None:
    routes = {
        "download_input",
        "extract_deepsea",
        "import_deepsea",
        "prepare_genome",
        "import_asb",
        "asb_benchmark",
        "ldsc_extract_reference",
        "ldsc_reference_vcf",
        "ldsc_munge",
        "ldsc_scores",
        "ldsc_h2",
        "plot_fig5",
    }
    assert routes <= planned, routes - planned


def test_every_planned_rule_ran(paper_run: Path, planned: set[str]) -> None:
    ran = _ran_rules(paper_run)
    assert planned <= ran, f"planned but never ran: {sorted(planned - ran)}"


def test_figures_and_report(paper_run: Path) -> None:
    out = paper_run / "results" / RUN
    for fig in FIGURES:
        for ext in ("png", "pdf"):
            assert (out / "figures" / f"{fig}.{ext}").stat().st_size > 1000, (fig, ext)
    report = out / "report.html"
    result = snakemake("--report", str(report), *PAPER, cwd=paper_run)
    assert result.returncode == 0, result.stderr[-3000:]
    html = report.read_text()
    for name in [*(f"{fig}.png" for fig in FIGURES), "asb_auroc.tsv", "enrichment.tsv"]:
        assert name in html, name


def test_inputs_went_through_each_route(paper_run: Path) -> None:
    out = paper_run / "results" / RUN
    summary = json.loads((out / "data" / "dataset.json").read_text())
    assert summary["counts"] == N_SAMPLES
    with h5py.File(out / "data" / "train.h5") as h5:
        assert h5["x"].shape[1:] == (4, 1000) and h5["y"].shape[1] == 919
    # every ASB SNV of the Wagih table (240; the indel dropped) matched hg19's REF base
    assert len((out / "asb" / "asb_table.tsv").read_text().splitlines()) == 1 + 240
    auroc = (out / "asb" / "benchmark" / "asb_auroc.tsv").read_text()
    assert "CTCF" in auroc and "PU.1" in auroc
    genotypes = json.loads((out / "ldsc" / "genotypes" / "genotypes.json").read_text())
    assert genotypes["chromosome_codes"] == {"chr1": 1, "chr2": 2, "chr3": 3}
    traits = (out / "ldsc" / "summary" / "traits.tsv").read_text()
    assert len(re.findall(r"^disease_", traits, flags=re.M)) == 9


def test_sharded_jobs_give_the_unsharded_files(paper_run: Path) -> None:
    """On the paper routes too, variant scoring in shards (hg19, Selene) and LD scores per
    chromosome (1000G-style reference, HapMap3 print list) write the files one job wrote,
    byte for byte. The unsharded outputs of one model are set aside and remade sharded."""
    from amber.variants.scores import read_scores

    out = paper_run / "results" / RUN
    (paper_run / "shards.yaml").write_text(
        "variants: {shards: 3}\nldsc: {shard_chromosomes: true}\n"
    )
    scores = out / "variants" / "gwas" / "searched_1"
    ldscores = out / "ldsc" / "ldscores" / "searched_1"
    whole_scores = read_scores(scores / "scores.h5")
    whole_skipped = (scores / "skipped.tsv").read_bytes()
    whole_ld = {p.name: p.read_bytes() for p in ldscores.iterdir()}
    for name in ("scores.h5", "skipped.tsv", "summary.json"):
        (scores / name).unlink()
    shutil.rmtree(ldscores)
    targets = [str(p.relative_to(paper_run)) for p in (scores / "scores.h5", ldscores)]
    # Targets before --configfile, which takes every file name after it.
    result = snakemake("--cores", "2", *targets, *PAPER, "shards.yaml", cwd=paper_run)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rules = sorted(rule for rule, _ in _jobs(result.stdout + result.stderr))
    assert rules.count("score_variants") == 3 and "merge_variant_scores" in rules, rules
    assert rules.count("ldsc_scores") == 3 and "merge_ldscores" in rules, rules
    sharded = read_scores(scores / "scores.h5")
    assert sharded.keys() == whole_scores.keys()
    for name in whole_scores:
        assert (sharded[name] == whole_scores[name]).all(), name
    assert (scores / "skipped.tsv").read_bytes() == whole_skipped
    assert {p.name: p.read_bytes() for p in ldscores.iterdir()} == whole_ld
