"""The bring-your-own-data example (config/own_data.example.yaml: one chromosome, three
TFs, region holdouts) runs through search -> train -> evaluate -> score-variants."""

from __future__ import annotations

import json

import h5py
from workflow_runs import comparable_outputs, copy_workflow, snakemake

CONFIG = ["--configfile", "config/own_data.example.yaml", "tests/configs/own_data_small.yaml"]


def test_own_data_example_runs_end_to_end(tmp_path) -> None:
    work = copy_workflow(tmp_path / "own")
    out = work / "results" / "test_own_data"
    targets = [
        "results/test_own_data/evaluate/searched_1.tsv",
        "results/test_own_data/variants/gwas/searched_1/scores.h5",
    ]
    result = snakemake(*CONFIG, "--cores", "2", *targets, cwd=work, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "data" / "dataset.json").read_text())
    assert summary["regions"]["valid"] == ["chr1:300001-400000"]
    assert summary["regions"]["test"] == ["chr1:400001-500000"]
    assert all(summary["counts"][s] > 0 for s in ("train", "valid", "test"))
    model = json.loads((out / "models" / "searched_1" / "model.json").read_text())
    assert model["reverse_complement"] is True, "own data trains with RC augmentation"
    # small_data.yaml: the search chose a stem kernel and a head, and the model has them
    assert model["arch"]["stem_kernel"] in (8, 19)
    assert model["arch"]["head"] in ("flatten", "global_max", "global_avg")
    assert model["name"] == "searched_1"
    table = (out / "evaluate" / "searched_1.tsv").read_text().splitlines()
    assert len(table) == 1 + 3 and table[1].split("\t")[0] == "erythroid|GATA1|None"
    with h5py.File(out / "variants" / "gwas" / "searched_1" / "scores.h5") as h5:
        assert h5["diff"].shape[1] == 3 and h5["diff"].shape[0] > 0
    assert len(comparable_outputs(out)) > 10
