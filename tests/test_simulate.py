"""Tests of the simulated genome (amber.data.simulate) on a small, dense genome."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyfaidx
import pytest

from amber.data.features import bed_stem, read_features
from amber.data.motifs import (
    decode_sequence,
    encode_sequence,
    load_motifs,
    pwm_log_odds,
    reverse_complement,
    scan_pwm,
    score_site,
)
from amber.data.simulate import (
    COOPERATIVE,
    PARTNER_MAX_GAP,
    SPACING,
    SimConfig,
    evaluate_element,
    gc_and_cpg,
    merge_intervals,
    sample_motif_site,
    simulate_genome,
)
from amber.data.truth import read_elements, read_motif_instances

# Small chromosomes with denser elements so every grammar template occurs.
SMALL = dict(
    n_chroms=2,
    chrom_length=200_000,
    promoters_per_mb=60.0,
    enhancers_per_mb=150.0,
    insulators_per_mb=40.0,
)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim") / "run"
    stats = simulate_genome(SimConfig(seed=5, **SMALL), out)
    return out, stats


@pytest.fixture(scope="module")
def genome(sim: tuple[Path, dict]) -> dict[str, str]:
    out, _ = sim
    fasta = pyfaidx.Fasta(str(out / "genome.fa"), rebuild=False)
    return {name: str(fasta[name][:]) for name in fasta.keys()}


@pytest.fixture(scope="module")
def truth(sim: tuple[Path, dict]) -> pd.DataFrame:
    return read_motif_instances(sim[0] / "motif_instances.tsv")


@pytest.fixture(scope="module")
def elements(sim: tuple[Path, dict]) -> pd.DataFrame:
    return read_elements(sim[0] / "elements.tsv")


def _bed(path: Path) -> pd.DataFrame:
    cols = ["chrom", "start", "end", "name", "score", "strand"]
    if path.stat().st_size == 0:
        return pd.DataFrame(columns=cols)
    return pd.read_csv(path, sep="\t", header=None, names=cols, dtype={"chrom": str})


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_outputs_deterministic(sim: tuple[Path, dict], tmp_path: Path) -> None:
    out, stats = sim
    again = simulate_genome(SimConfig(seed=5, **SMALL), tmp_path / "again")
    assert again == stats
    first, second = _files(out), _files(tmp_path / "again")
    assert sorted(first) == sorted(second)
    assert not any(name.endswith(".tmp") for name in first)
    for name in first:
        assert first[name] == second[name], name
    simulate_genome(SimConfig(seed=6, **SMALL), tmp_path / "other")
    assert (tmp_path / "other" / "genome.fa").read_bytes() != first["genome.fa"]


def test_cli_passes_the_element_densities(sim: tuple[Path, dict], tmp_path: Path) -> None:
    from amber.cli import main

    flags = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]
    main(["simulate", "--quiet", "--seed", "5", "--out", str(tmp_path / "cli"), *flags])
    assert _files(tmp_path / "cli") == _files(sim[0])
    main(
        [
            "simulate",
            "--quiet",
            "--seed",
            "5",
            "--out",
            str(tmp_path / "sparse"),
            *flags[:2],
            "--insulators-per-mb",
            "0",
            "--enhancers-per-mb",
            "10",
        ]
    )
    kinds = json.loads((tmp_path / "sparse" / "simulation.json").read_text())["stats"]
    dense = sim[1]["elements_by_kind"]
    assert (
        "insulator" not in kinds["elements_by_kind"] or not kinds["elements_by_kind"]["insulator"]
    )
    assert kinds["elements_by_kind"]["enhancer"] < dense["enhancer"]


def test_fasta_and_fai(sim: tuple[Path, dict], genome: dict[str, str], tmp_path: Path) -> None:
    out, _ = sim
    assert list(genome) == ["chr1", "chr2"]
    assert all(len(seq) == 200_000 for seq in genome.values())
    lines = (out / "genome.fa").read_text().splitlines()
    assert all(len(line) <= 60 for line in lines if not line.startswith(">"))
    assert set("".join(line for line in lines if not line.startswith(">"))) <= set("ACGTN")
    # Our index equals the one pyfaidx builds itself.
    shutil.copy(out / "genome.fa", tmp_path / "genome.fa")
    pyfaidx.Faidx(str(tmp_path / "genome.fa"))
    assert (tmp_path / "genome.fa.fai").read_text() == (out / "genome.fa.fai").read_text()


def test_instances_match_genome(truth: pd.DataFrame, genome: dict[str, str]) -> None:
    assert len(truth) > 100
    assert truth["instance_id"].is_unique
    for row in truth.itertuples():
        site = genome[row.chrom][row.start : row.end]
        if row.strand == "-":
            site = decode_sequence(reverse_complement(encode_sequence(site)))
        assert site == row.sequence, row.instance_id
        assert row.end - row.start == len(row.sequence)


def _peaks_contain(peaks: pd.DataFrame, chrom: str, start: int, end: int) -> bool:
    on = peaks[peaks["chrom"] == chrom]
    return bool(((on["start"] <= start) & (on["end"] >= end)).any())


def test_tf_peaks_match_bound_instances(sim: tuple[Path, dict], truth: pd.DataFrame) -> None:
    out, _ = sim
    tf_features = [f for f in read_features(out / "features.tsv") if f.category == "TF"]
    n_checked = 0
    for feat in tf_features:
        peaks = _bed(out / "peaks" / f"{bed_stem(feat.name)}.bed")
        of_tf = truth[truth["tf"] == feat.assay]
        bound = of_tf[[feat.cell_type in cells.split(",") for cells in of_tf["bound_in"]]]
        for row in bound.itertuples():
            assert _peaks_contain(peaks, row.chrom, row.start, row.end), (feat.name, row)
        for peak in peaks.itertuples():
            inside = bound[
                (bound["chrom"] == peak.chrom)
                & (bound["start"] >= peak.start)
                & (bound["end"] <= peak.end)
            ]
            assert len(inside) > 0, (feat.name, peak)
            n_checked += 1
        # Decoys and unbound instances of this TF never sit in its peaks.
        for row in of_tf[of_tf["bound_in"] == ""].itertuples():
            on = peaks[peaks["chrom"] == row.chrom]
            assert not ((on["start"] < row.end) & (on["end"] > row.start)).any(), row
    assert n_checked > 50


def test_decoys_are_unbound_and_outside_elements(
    truth: pd.DataFrame, elements: pd.DataFrame
) -> None:
    decoys = truth[truth["element_id"] == "decoy"]
    assert len(decoys) > 20
    assert (decoys["bound_in"] == "").all()
    for row in decoys.itertuples():
        els = elements[elements["chrom"] == row.chrom]
        assert not ((els["start"] < row.end + 500) & (els["end"] > row.start - 500)).any()


def test_composition(genome: dict[str, str], elements: pd.DataFrame) -> None:
    background = []
    for chrom, seq in genome.items():
        codes = encode_sequence(seq)
        keep = np.ones(len(codes), dtype=bool)
        for el in elements[elements["chrom"] == chrom].itertuples():
            keep[el.start : el.end] = False
        background.append(codes[keep])
    gc, cpg = gc_and_cpg(np.concatenate(background))
    assert 0.38 <= gc <= 0.45
    assert 0.1 <= cpg < 0.5
    islands = elements[elements["cgi"] == 1]
    assert len(islands) > 5
    cgi_gc, cgi_cpg = gc_and_cpg(
        np.concatenate(
            [encode_sequence(genome[r.chrom][r.start : r.end]) for r in islands.itertuples()]
        )
    )
    assert cgi_gc > 0.55 and cgi_cpg > 0.6
    # Low-complexity sequence is present: poly-A runs and simple repeats.
    assert sum(s.count("A" * 15) + s.count("T" * 15) for s in genome.values()) > 5


def test_n_gaps_and_peak_bounds(sim: tuple[Path, dict], genome: dict[str, str]) -> None:
    out, _ = sim
    for seq in genome.values():
        assert seq[0] == "N" and seq[-1] == "N"
        inner = seq.strip("N")
        assert "N" in inner  # one internal gap
    for feat in read_features(out / "features.tsv"):
        peaks = _bed(out / "peaks" / f"{bed_stem(feat.name)}.bed")
        assert len(peaks) > 0, feat.name
        for chrom, on in peaks.groupby("chrom", sort=False):
            starts, ends = on["start"].to_numpy(), on["end"].to_numpy()
            assert (starts >= 0).all() and (ends <= len(genome[chrom])).all()
            assert (starts < ends).all()
            assert (starts[1:] > ends[:-1]).all(), f"{feat.name}: unsorted or overlapping"
            for s, e in zip(starts, ends, strict=True):
                assert "N" not in genome[chrom][s:e], (feat.name, chrom, s, e)


def test_feature_table(sim: tuple[Path, dict]) -> None:
    out, stats = sim
    feats = read_features(out / "features.tsv")
    assert len({f.assay for f in feats if f.category == "TF"}) >= 8
    assert len({f.cell_type for f in feats}) >= 3
    assert {f.category for f in feats} == {"TF", "DNase", "Histone"}
    assert all(f.name == f"{f.cell_type}|{f.assay}|None" for f in feats)
    assert 30 <= len(feats) <= 45 and stats["n_features"] == len(feats)
    # REST binds only in non-neural cells; CTCF everywhere.
    names = {f.name for f in feats}
    assert "neural|REST|None" not in names and "liver|REST|None" in names
    assert {f.cell_type for f in feats if f.assay == "CTCF"} == {f.cell_type for f in feats}
    meta = json.loads((out / "simulation.json").read_text())
    assert meta["jaspar_release"] == "JASPAR2024" and meta["config"]["seed"] == 5
    motifs = json.loads((out / "motifs.json").read_text())
    assert motifs["CTCF"]["motif_id"] == "MA0139.2"
    assert np.allclose(np.array(motifs["CTCF"]["pfm"]).sum(axis=1), 1.0)


def _gap(a, b) -> int:
    return max(a.start, b.start) - min(a.end, b.end)


def test_spacing_and_cooperative_rules(truth: pd.DataFrame, elements: pd.DataFrame) -> None:
    by_element = {k: g for k, g in truth.groupby("element_id")}
    lo, hi = SPACING["FOXA1-HNF4A"]
    pairs = elements[elements["grammar"] == "liver_pair"]
    assert len(pairs) >= 3
    for el in pairs.itertuples():
        sites = by_element[el.element_id]
        (fox,) = sites[sites["tf"] == "FOXA1"].itertuples()
        (hnf,) = sites[sites["tf"] == "HNF4A"].itertuples()
        assert lo <= _gap(fox, hnf) <= hi
        assert "liver" in el.open_in.split(",")
    lo, hi = SPACING["SPI1-CEBPB"]
    composite = elements[elements["grammar"] == "myeloid_composite"]
    assert len(composite) >= 2
    for el in composite.itertuples():
        sites = by_element[el.element_id]
        (spi,) = sites[sites["tf"] == "SPI1"].itertuples()
        (ceb,) = sites[sites["tf"] == "CEBPB"].itertuples()
        assert lo <= _gap(spi, ceb) <= hi
        assert "myeloid" in el.active_in.split(",")
    # CEBPB binds in liver only with a FOXA1/HNF4A partner close by; the rule must bite.
    partners = COOPERATIVE[("CEBPB", "liver")]
    open_liver = set(elements.loc[elements["open_in"].str.contains("liver"), "element_id"])
    n_bound = n_blocked = 0
    for row in truth[(truth["tf"] == "CEBPB") & truth["element_id"].isin(open_liver)].itertuples():
        sites = by_element[row.element_id]
        near = any(
            _gap(row, p) <= PARTNER_MAX_GAP for p in sites[sites["tf"].isin(partners)].itertuples()
        )
        assert ("liver" in row.bound_in.split(",")) == near, row
        n_bound += near
        n_blocked += not near
    assert n_bound > 0 and n_blocked > 0


def test_grammar_rules() -> None:
    cells = ("liver", "erythroid", "myeloid", "neural")
    # Neural promoter: open everywhere (CpG island), REST bound outside neurons, active in neurons.
    open_in, bound, active = evaluate_element(
        "promoter", True, [("YY1", 0, 12), ("REST", 30, 50), ("NEUROD1", 70, 78)], cells
    )
    assert open_in == cells
    assert bound == [cells, ("liver", "erythroid", "myeloid"), ("neural",)]
    assert active == ("neural",)
    # A lone GATA1 motif opens an erythroid enhancer but only primes it.
    open_in, bound, active = evaluate_element("enhancer", False, [("GATA1", 0, 11)], cells)
    assert open_in == ("erythroid",) and bound == [("erythroid",)] and active == ()


def test_motif_helpers() -> None:
    pfms = load_motifs("JASPAR2024", {"CTCF": "MA0139.2", "GATA1": "MA0035.4"})
    assert pfms["CTCF"].shape == (15, 4)
    with pytest.raises(ValueError, match="not CTCF"):
        load_motifs("JASPAR2024", {"CTCF": "MA0035.4"})
    one_hot = np.eye(4)[[0, 1, 2, 3, 3]]
    site = sample_motif_site(one_hot, np.random.default_rng(0))
    assert decode_sequence(site) == "ACGTT"
    pwm = pwm_log_odds(pfms["GATA1"])
    rng = np.random.default_rng(1)
    site = sample_motif_site(pfms["GATA1"], rng, sharpness=1.5)
    seq = np.concatenate([encode_sequence("AC" * 10), reverse_complement(site), [4, 0]])
    scores = scan_pwm(pwm, seq.astype(np.uint8))
    assert scores.shape == (len(seq) - 10, 2)
    assert np.isclose(scores[20, 1], score_site(pwm, site))
    assert np.isneginf(scores[-1]).all()
    assert merge_intervals([(5, 9, 1), (0, 3, 2), (3, 4, 7)]) == [(0, 4, 7), (5, 9, 1)]


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="chrom_length"):
        SimConfig(chrom_length=10_000)
    with pytest.raises(ValueError, match="cell_types"):
        SimConfig(cell_types=("liver", "brain"))
    with pytest.raises(ValueError, match="motifs"):
        SimConfig(motifs=("CTCF=MA0139.2",))
