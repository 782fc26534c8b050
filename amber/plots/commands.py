"""`amber plot <figure>`: the paper's figures from result files (PNG + PDF + JSON sidecar)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("amber")

OUTPUTS = (
    "Writes OUT (PNG), the same stem with .pdf, and with .json: a sidecar holding each "
    "panel's title and the plotted series (the numbers behind the figure)."
)


def _by_name(paths: list[Path], name_of) -> dict[str, Path]:
    named: dict[str, Path] = {}
    for path in paths:
        name = name_of(path)
        if name in named:
            raise ValueError(f"{path} and {named[name]} both give the name {name!r}")
        named[name] = path
    return named


def _model_name(path: Path) -> str:
    """The model name of an evaluation TSV (its stem), checked before anything is read."""
    from amber.naming import model_group

    try:
        model_group(path.stem)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc} (is it a per-model evaluation table?)") from None
    return path.stem


def _cmd_fig2a(args: argparse.Namespace) -> None:
    from amber.plots.performance import plot_performance

    png = plot_performance(_by_name(args.evaluations, _model_name), args.out)
    log.info("Fig. 2a written to %s (+ .pdf, .json)", png)


def _cmd_fig3a(args: argparse.Namespace) -> None:
    from amber.plots.op_probs import plot_op_probs
    from amber.plots.tables import replicate_name

    png = plot_op_probs(_by_name(args.op_probs, replicate_name), args.out)
    log.info("Fig. 3a written to %s (+ .pdf, .json)", png)


def _cmd_fig3b(args: argparse.Namespace) -> None:
    from amber.plots.embeddings import plot_embeddings
    from amber.plots.tables import replicate_name

    png = plot_embeddings(_by_name(args.embeddings, replicate_name), args.out)
    log.info("Fig. 3b written to %s (+ .pdf, .json)", png)


def _cmd_progress(args: argparse.Namespace) -> None:
    from amber.plots.progress import plot_progress
    from amber.plots.tables import replicate_name

    png = plot_progress(_by_name(args.history, replicate_name), args.out, args.skip_target)
    log.info("search progress written to %s (+ .pdf, .json)", png)


def _cmd_fig4a(args: argparse.Namespace) -> None:
    from amber.plots.asb import plot_fig4a

    plot_fig4a(args.auroc, args.out, args.wilcoxon)
    log.info("Fig. 4a written to %s (+ .pdf, .json)", args.out)


def _cmd_fig5(args: argparse.Namespace) -> None:
    from amber.plots.enrichment import plot_fig5

    png = plot_fig5(args.summary_dir, args.out)
    log.info("Fig. 5 written to %s (+ .pdf, .json)", png)


def _cmd_interpret_recovery(args: argparse.Namespace) -> None:
    from amber.plots.interpret import plot_recovery

    summary = plot_recovery(args.truth, args.out)
    log.info("interpretation figure -> %s: %s", args.out, summary["tests"])


def register(sub: argparse._SubParsersAction) -> None:
    """Add `amber plot` and its per-figure subcommands to the `amber` parser."""
    plot = sub.add_parser(
        "plot",
        help="draw a figure (fig2a, fig3a, fig3b, fig4a, fig5, search-progress, ...)",
        description=f"Draw one figure from result files. {OUTPUTS}",
    )
    figures = plot.add_subparsers(dest="figure", metavar="FIGURE", required=True)

    p = figures.add_parser(
        "fig2a",
        help="test AUROC/AUPR per functional category: searched vs sampled vs baselines",
        description=(
            "Fig. 2a. Inputs: one evaluation TSV per model (columns feature, category, auroc, "
            "aupr; the model name is the file stem: searched_<i>, sampled_<i> or "
            f"baseline_<name>). Each model's metric is averaged per category. {OUTPUTS}"
        ),
    )
    p.add_argument(
        "--evaluations",
        type=Path,
        nargs="+",
        required=True,
        help="results/<run>/evaluate/<model>.tsv files",
    )
    p.add_argument("--out", type=Path, required=True, help="output PNG (e.g. .../fig2a.png)")
    p.set_defaults(func=_cmd_fig2a)

    p = figures.add_parser(
        "fig3a",
        help="op selection probability per layer over the search",
        description=(
            "Fig. 3a. Inputs: op_probs.tsv (columns step, layer, <op names>) of each searched "
            "replicate; the replicate name is the parent folder. One panel per layer with the "
            f"mean over replicates (band: min-max), plus the last step per layer. {OUTPUTS}"
        ),
    )
    p.add_argument(
        "--op-probs",
        type=Path,
        nargs="+",
        required=True,
        help="results/<run>/search/searched_<i>/op_probs.tsv files",
    )
    p.add_argument("--out", type=Path, required=True, help="output PNG (e.g. .../fig3a.png)")
    p.set_defaults(func=_cmd_fig3a)

    p = figures.add_parser(
        "fig3b",
        help="PCA of the controller's op embeddings",
        description=(
            "Fig. 3b. Inputs: op_embeddings.tsv (columns op, e0..e<d-1>) of each searched "
            "replicate; the replicate name is the parent folder. One PC1/PC2 scatter per "
            f"replicate, one labelled point per op. {OUTPUTS}"
        ),
    )
    p.add_argument(
        "--embeddings",
        type=Path,
        nargs="+",
        required=True,
        help="results/<run>/search/searched_<i>/op_embeddings.tsv files",
    )
    p.add_argument("--out", type=Path, required=True, help="output PNG (e.g. .../fig3b.png)")
    p.set_defaults(func=_cmd_fig3b)

    p = figures.add_parser(
        "search-progress",
        help="reward and skip density per controller step",
        description=(
            "Search progress. Inputs: history.csv (columns step, mean_reward, max_reward, "
            "baseline, skip_density, ...) of each searched replicate; the replicate name is "
            f"the parent folder. Two panels: rewards, skip density. {OUTPUTS}"
        ),
    )
    p.add_argument(
        "--history",
        type=Path,
        nargs="+",
        required=True,
        help="results/<run>/search/searched_<i>/history.csv files",
    )
    p.add_argument(
        "--skip-target",
        type=float,
        default=None,
        help="the controller's target skip density, drawn as a reference line (optional)",
    )
    p.add_argument(
        "--out", type=Path, required=True, help="output PNG (e.g. .../search_progress.png)"
    )
    p.set_defaults(func=_cmd_progress)

    p = figures.add_parser(
        "fig4a",
        help="ASB AUROC per TF and method, loss and gain panels",
        description=(
            "Fig. 4a. Inputs: asb_auroc.tsv of `amber asb` (columns tf, class, method, kind, "
            "auroc) and optionally its wilcoxon.tsv (the P of the first two groups is "
            f"printed). One box plus one dot per TF for each method. {OUTPUTS}"
        ),
    )
    p.add_argument("--auroc", type=Path, required=True, help="asb_auroc.tsv")
    p.add_argument("--wilcoxon", type=Path, default=None, help="wilcoxon.tsv (optional)")
    p.add_argument("--out", type=Path, required=True, help="output PNG (e.g. .../fig4a.png)")
    p.set_defaults(func=_cmd_fig4a)

    p = figures.add_parser(
        "fig5",
        help="S-LDSC enrichment searched vs sampled, log fold change, AUROC vs enrichment",
        description=(
            "Fig. 5. Input: the folder `amber ldsc-summarize` wrote (enrichment.tsv, "
            f"traits.tsv, models.tsv, summary.json). {OUTPUTS}"
        ),
    )
    p.add_argument("--summary-dir", type=Path, required=True, help="ldsc-summarize's folder")
    p.add_argument("--out", type=Path, required=True, help="output PNG (e.g. .../fig5.png)")
    p.set_defaults(func=_cmd_fig5)

    p = figures.add_parser(
        "interpret-recovery",
        help="planted TFs recovered per model, searched vs sampled vs baselines",
        description=(
            "Read the truth.tsv of each model (from `amber interpret --instances`) and draw "
            "the models x TFs recovery grid and recall / attribution AUROC per group, with "
            "Wilcoxon rank-sum tests of searched against sampled and against baselines. "
            f"{OUTPUTS}"
        ),
    )
    p.add_argument(
        "--truth",
        nargs="+",
        type=Path,
        required=True,
        help="truth.tsv files (the model name is in their 'model' column)",
    )
    p.add_argument("--out", type=Path, required=True, help="output PNG")
    p.set_defaults(func=_cmd_interpret_recovery)
