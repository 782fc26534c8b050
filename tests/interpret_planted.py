"""A planted-motif toy problem for the interpretation tests: random sequences, each with
one sampled instance of a JASPAR motif, and a one-filter CNN whose filter is that motif's
log-odds PWM (or random), read by a global max and a dense output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from amber.data.motifs import background_probs, load_motifs, pwm_log_odds

TF, MOTIF_ID = "CTCF", "MA0139.2"
SPACING = 10_000  # window i starts at i * SPACING on chrS


class FilterModel(nn.Module):
    """Conv1d(4 -> 2) -> ReLU -> global max-pool -> Linear(2 -> 1): logit of "motif here".

    The nonlinearities are modules (nn.ReLU, nn.MaxPool1d), as DeepLIFT rules need."""

    def __init__(self, kernel: int, seq_len: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 2, kernel)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool1d(seq_len - kernel + 1)
        self.fc = nn.Linear(2, 1)

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_logits(x).sigmoid()


def planted_model(pwm: np.ndarray, seq_len: int, threshold: float) -> FilterModel:
    """Filters set by hand to ``pwm`` (length, 4) and its reverse complement (both
    strands); each fires above ``threshold`` bits."""
    model = FilterModel(len(pwm), seq_len)
    with torch.no_grad():
        model.conv.weight.copy_(
            torch.tensor(np.stack([pwm.T, pwm[::-1, ::-1].T]), dtype=torch.float32)
        )
        model.conv.bias.fill_(-threshold)
        model.fc.weight.fill_(1.0)
        model.fc.bias.fill_(-2.0)
    return model.eval()


def random_model(kernel: int, seq_len: int, seed: int) -> FilterModel:
    torch.manual_seed(seed)
    return FilterModel(kernel, seq_len).eval()


def planted_data(n: int, seq_len: int, seed: int):
    """``(x float (n, 4, L), chrom, start, instances, pfm)``: one instance per window."""
    rng = np.random.default_rng(seed)
    pfm = load_motifs("JASPAR2024", {TF: MOTIF_ID})[TF]
    k = len(pfm)
    codes = rng.choice(4, size=(n, seq_len), p=background_probs())
    rows = []
    for i in range(n):
        site = np.array([rng.choice(4, p=col / col.sum()) for col in pfm])
        strand = "+" if rng.random() < 0.5 else "-"
        if strand == "-":
            site = 3 - site[::-1]
        pos = int(rng.integers(0, seq_len - k))
        codes[i, pos : pos + k] = site
        rows.append(("chrS", i * SPACING + pos, i * SPACING + pos + k, strand, TF, MOTIF_ID))
    x = np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1)
    instances = pd.DataFrame(rows, columns=["chrom", "start", "end", "strand", "tf", "motif_id"])
    chrom = np.array(["chrS"] * n)
    start = np.arange(n) * SPACING
    return x, chrom, start, instances, pfm


def planted_pwm(pfm: np.ndarray) -> np.ndarray:
    return pwm_log_odds(pfm)
