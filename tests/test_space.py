"""Model-space loading/validation and the Architecture type (JSON form, checks, sampler)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from amber.nas.arch import Architecture, ArchitectureError, from_indices, sample_uniform
from amber.nas.space import OP_TYPES, ModelSpaceError, load_space, parse_space

SPACES = Path(__file__).resolve().parents[1] / "config" / "model_spaces"
PAPER_OPS = ("conv8", "conv4", "dilconv8", "dilconv4", "maxpool4", "avgpool4", "identity")


@pytest.fixture(scope="module")
def demo():
    return load_space(SPACES / "demo.yaml")


@pytest.fixture(scope="module")
def paper():
    return load_space(SPACES / "amber_seq.yaml")


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _demo_dict() -> dict:
    return yaml.safe_load((SPACES / "demo.yaml").read_text())


# ----------------------------------------------------------------------------- spaces


def test_shipped_spaces_load(paper, demo):
    assert paper.name == "amber_seq"
    assert paper.op_names == PAPER_OPS
    assert (paper.num_layers, paper.layers_per_block, paper.num_blocks) == (12, 3, 4)
    assert paper.filters == (32, 64, 128, 256)
    assert paper.block_lengths(1000) == (1000, 250, 63, 16)
    assert paper.op("dilconv8").dilation == 10 and paper.op("maxpool4").size == 4
    assert paper.head_hidden == 925 and paper.layer_dropout == 0.1
    assert demo.num_layers == 6 and demo.op_names == PAPER_OPS
    assert demo.block_lengths(1000) == (1000, 250)


def test_block_helpers(paper):
    assert [paper.block_of(i) for i in range(12)] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert [i for i in range(12) if paper.is_block_end(i)] == [2, 5, 8]
    assert paper.op_index("maxpool4") == 4
    assert paper.skip_allowed(5, 0) and not paper.skip_allowed(5, 5)
    with pytest.raises(IndexError):
        paper.block_of(12)


@pytest.mark.parametrize(
    "edit, key, words",
    [
        (lambda d: d["ops"]["conv8"].update(type="conv3d"), "ops.conv8.type", "unknown op type"),
        (lambda d: d.update(filters=[16]), "filters", "one per block"),
        (lambda d: d["ops"]["conv8"].pop("kernel"), "ops.conv8.kernel", "required"),
        (lambda d: d["ops"]["conv8"].update(kernel=0), "ops.conv8.kernel", "positive integer"),
        (lambda d: d["ops"]["conv8"].update(kernel=True), "ops.conv8.kernel", "positive integer"),
        (lambda d: d["ops"]["maxpool4"].update(kernel=3), "ops.maxpool4.kernel", "unknown key"),
        (lambda d: d.update(ops={}), "ops", "at least one op"),
        (lambda d: d.update(ops={"bad.name": {"type": "identity"}}), "ops.bad.name", "names"),
        (lambda d: d.pop("head"), "head", "required"),
        (lambda d: d["head"].update(dropout=1.5), "head.dropout", "[0, 1)"),
        (lambda d: d.update(layer_dropout="x"), "layer_dropout", "[0, 1)"),
        (lambda d: d.update(num_layers=7), "filters", "one per block"),
        (lambda d: d.update(extra=1), "extra", "unknown key"),
        (lambda d: d["skips"].update(enabled="yes"), "skips.enabled", "true or false"),
        (lambda d: d["skips"].update(max_lookback=0), "skips.max_lookback", "positive"),
        (lambda d: d.update(name="has space"), "name", "identifier"),
        (lambda d: d["head"].update(pool=[]), "head.pool", "empty list"),
        (lambda d: d["head"].update(pool=["flatten", "sum"]), "head.pool[1]", "one of"),
        (lambda d: d["head"].update(pool=["flatten"] * 2), "head.pool", "twice"),
        (lambda d: d["stem"].update(kernel=[8, 0]), "stem.kernel[1]", "positive integer"),
    ],
)
def test_bad_space_names_file_and_key(tmp_path, edit, key, words):
    data = _demo_dict()
    edit(data)
    path = _write(tmp_path, data)
    with pytest.raises(ModelSpaceError) as info:
        load_space(path)
    message = str(info.value)
    assert str(path) in message
    assert f"'{key}'" in message
    assert words in message


def test_bad_yaml_and_duplicates(tmp_path):
    path = tmp_path / "dup.yaml"
    text = (SPACES / "demo.yaml").read_text().replace("layer_dropout: 0.1", "name: x\n")
    path.write_text(text + "layer_dropout: 0.1\n")
    with pytest.raises(ModelSpaceError, match="duplicate key 'name'"):
        load_space(path)
    with pytest.raises(ModelSpaceError, match="cannot read"):
        load_space(tmp_path / "missing.yaml")
    with pytest.raises(ModelSpaceError, match="top level"):
        parse_space([1, 2], source="list.yaml")


def test_new_op_is_yaml_only(tmp_path):
    data = _demo_dict()
    data["ops"]["conv16"] = {"type": "conv", "kernel": 16}
    space = load_space(_write(tmp_path, data))
    assert space.op_names[-1] == "conv16" and space.op("conv16").kernel == 16


def test_every_op_type_has_a_builder():
    from amber.nas.ops import OP_BUILDERS

    assert set(OP_BUILDERS) == set(OP_TYPES)


# ----------------------------------------------------------------------------- architectures


def test_json_round_trip(tmp_path, paper):
    arch = sample_uniform(paper, np.random.default_rng(3))
    assert Architecture.from_json(arch.to_json()) == arch
    assert Architecture.from_json(json.dumps(arch.to_json())) == arch
    wide = arch.with_options(width_multiplier=2, pool_dropout=0.1)
    path = tmp_path / "sub" / "arch.json"
    wide.save(path)
    loaded = Architecture.load(path)
    assert loaded == wide and loaded.option("width_multiplier", 1.0) == 2.0
    assert loaded.without_options() == arch
    data = json.loads(path.read_text())
    assert data["layers"][0] == {"op": arch.ops[0], "skips": []}
    assert data["width_multiplier"] == 2.0
    assert list(path.parent.iterdir()) == [path]  # atomic write left no temp file
    assert "width_multiplier" not in arch.to_json()  # JSON stays minimal by default


def test_json_example_from_contract(demo):
    data = {
        "model_space": "demo",
        "layers": [
            {"op": "conv8", "skips": []},
            {"op": "maxpool4", "skips": [1]},
            {"op": "identity", "skips": [0, 1]},
            {"op": "conv4", "skips": [0, 0, 0]},
            {"op": "avgpool4", "skips": [1, 0, 0, 1]},
            {"op": "dilconv8", "skips": [0, 0, 0, 0, 0]},
        ],
    }
    arch = Architecture.from_json(data).validate(demo)
    assert arch.skip_sources(4) == (0, 3) and arch.num_skips == 4
    assert arch.op_indices(demo) == (0, 4, 6, 1, 5, 2)


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda d: d["layers"][2].update(skips=[0]), "layer 2: skips must have length 2"),
        (lambda d: d["layers"][2].update(skips=[0, 2]), "must be 0 or 1"),
        (lambda d: d["layers"][1].update(skips=[True]), "list of 0/1"),
        (lambda d: d.update(widths=2), "unknown key(s) ['widths']"),
        (lambda d: d.update(width_multiplier=0), "'width_multiplier' must be a number > 0"),
        (lambda d: d.update(pool_dropout=1), "'pool_dropout' must be a number in [0, 1)"),
        (lambda d: d.pop("layers"), "missing key 'layers'"),
        (lambda d: d["layers"][0].update(kernel=3), "exactly 'op' and 'skips'"),
    ],
)
def test_malformed_json(tmp_path, demo, mutate, words):
    data = sample_uniform(demo, np.random.default_rng(0)).to_json()
    mutate(data)
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ArchitectureError) as info:
        Architecture.load(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_searched_stem_and_head(tmp_path, demo):
    """small_data.yaml lists stem kernels and heads: architectures carry their choices
    in JSON, the sampler draws them, and a missing or foreign choice is refused."""
    space = load_space(SPACES / "small_data.yaml")
    assert space.decisions == (
        ("stem_kernel", (8, 19)),
        ("head", ("flatten", "global_max", "global_avg")),
    )
    assert demo.decisions == ()  # one value each: fixed, as in the paper
    rng = np.random.default_rng(0)
    archs = [sample_uniform(space, rng) for _ in range(300)]
    heads = {h: sum(a.head == h for a in archs) for h in space.head_pools}
    assert all(80 < n < 120 for n in heads.values()), heads
    assert 120 < sum(a.stem_kernel == 19 for a in archs) < 180
    arch = archs[0]
    data = arch.to_json()
    assert (data["stem_kernel"], data["head"]) == (arch.stem_kernel, arch.head)
    assert Architecture.from_json(json.dumps(data)) == arch
    assert arch.decision_indices(space) == (
        space.stem_kernels.index(arch.stem_kernel),
        space.head_pools.index(arch.head),
    )
    assert from_indices(space, arch.op_indices(space), arch.skips, (1, 2)).head == "global_avg"
    bare = Architecture("small_data", arch.ops, arch.skips)
    with pytest.raises(ArchitectureError, match="searches 'stem_kernel'"):
        bare.validate(space)
    with pytest.raises(ArchitectureError, match="head 'sum' is not a candidate"):
        Architecture("small_data", arch.ops, arch.skips, stem_kernel=8, head="sum").validate(space)
    with pytest.raises(ArchitectureError, match="head 'global_max' is not a candidate"):
        Architecture("demo", arch.ops, arch.skips, head="global_max").validate(demo)
    with pytest.raises(ArchitectureError, match="head index 3 out of range"):
        from_indices(space, arch.op_indices(space), arch.skips, (0, 3))
    with pytest.raises(ArchitectureError, match="'head' must be a string"):
        Architecture.from_json({**data, "head": 1})
    # the demo's draws are unchanged by the searched parts of other spaces
    assert "head" not in sample_uniform(demo, np.random.default_rng(1)).to_json()


def test_validate_errors(demo, paper):
    arch = sample_uniform(demo, np.random.default_rng(0))
    with pytest.raises(ArchitectureError, match="model space 'demo', not 'amber_seq'"):
        arch.validate(paper)
    wrong_count = Architecture("demo", arch.ops[:5], arch.skips[:5])
    with pytest.raises(ArchitectureError, match="5 layers; model space 'demo' has 6"):
        wrong_count.validate(demo)
    unknown = Architecture("demo", ("conv9",) + arch.ops[1:], arch.skips)
    with pytest.raises(ArchitectureError, match="layer 0: unknown op 'conv9'"):
        unknown.validate(demo)
    no_skips = parse_space({**_demo_dict(), "skips": {"enabled": False}})
    with_skip = Architecture("demo", arch.ops, ((),) + ((1,),) + arch.skips[2:])
    with pytest.raises(ArchitectureError, match="layer 1: skip from layer 0.*disabled"):
        with_skip.validate(no_skips)
    short = parse_space({**_demo_dict(), "skips": {"max_lookback": 2}})
    far = Architecture("demo", arch.ops, arch.skips[:5] + ((1, 0, 0, 0, 0),))
    with pytest.raises(ArchitectureError, match="layer 5: skip from layer 0.*max_lookback is 2"):
        far.validate(short)
    with pytest.raises(ArchitectureError, match="op index 7 out of range"):
        from_indices(demo, [7, 0, 0, 0, 0, 0], [[0] * i for i in range(6)])


def test_from_indices_matches_names(demo):
    skips = [np.zeros(i, dtype=np.int64) for i in range(6)]
    skips[5][1] = 1
    arch = Architecture.from_indices(demo, np.array([6, 5, 4, 3, 2, 1]), skips)
    assert arch.ops == tuple(reversed(PAPER_OPS))[:6]
    assert arch.skip_sources(5) == (1,)
    assert hash(arch) == hash(Architecture.from_json(arch.to_json()))


def test_sample_uniform_seeded_and_uniform(paper):
    a = [sample_uniform(paper, np.random.default_rng(11)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    samples = [sample_uniform(paper, rng) for _ in range(2000)]
    assert len(set(samples)) == len(samples)
    counts = np.zeros(paper.num_ops)
    for arch in samples:
        for k in arch.op_indices(paper):
            counts[k] += 1
    freqs = counts / counts.sum()
    assert np.all(np.abs(freqs - 1 / paper.num_ops) < 0.01), freqs
    pairs = paper.num_layers * (paper.num_layers - 1) / 2
    density = np.mean([arch.num_skips / pairs for arch in samples])
    assert abs(density - 0.4) < 0.01, density
    sparse = [sample_uniform(paper, rng, skip_prob=0.0) for _ in range(5)]
    assert all(arch.num_skips == 0 for arch in sparse)


def test_sample_uniform_respects_skip_policy():
    limited = parse_space({**_demo_dict(), "skips": {"max_lookback": 1}})
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = sample_uniform(limited, rng, skip_prob=0.9).validate(limited)
        assert all(j == i - 1 for i in range(6) for j in arch.skip_sources(i))
