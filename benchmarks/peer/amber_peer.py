# Copied unchanged (below this header) from the team's shared peer benchmark (shared/peers/amber_peer.py,
# 2026-11-30): runs the ORIGINAL AMBER (amber-automl 0.1.5) in its own virtualenv for
# benchmarks/search_vs_original.py. Never imported by the amber package or its tests.
#!/usr/bin/env python3
"""AMBER (amber-automl 0.1.5, Zhang et al. 2021 NMI) ENAS peer benchmark, PyTorch backend, CPU.

Runs a small efficient-NAS search (weight-sharing 1D-CNN supernet + LSTM controller trained
with REINFORCE) on synthetic motif data, with the *original* AMBER code, so a new implementation
can be benchmarked side by side on the same data.  See README.md next to this file for the
install recipe (the pip package under-declares its dependencies and needs old Lightning).

Pipeline (AMBER's own classes, wired as in AMBER's tests/essentials/test_architect_controller_env.py
"TestEnasEnv" case and examples/DeepSEA/amber_deepsea.py):
    ModelSpace -> GeneralController (LSTM) -> EnasCnnModelBuilder (supernet)
               -> EnasManager (child training + LossAucReward) -> EnasTrainEnv.train()

One "controller step" (AMBER calls it an episode / child_step) =
    (a) train shared supernet weights for one pass over the training data, a fresh architecture
        sampled from the controller for every mini-batch;
    (b) sample `--arcs-per-step` architectures, score each on the validation set (AUROC = reward);
    (c) REINFORCE update of the controller on the buffered (arc, reward) pairs.

Monkeypatches (P2/P3 in `apply_patches()`, P1 at import, P5 in main(); each is the minimum to make
AMBER 0.1.5 run on current numpy/torch and do what its own API promises; P2 is a bug fix that makes
the supernet actually train controller-sampled architectures, the ENAS algorithm as published):
  P1 numpy>=1.24 removed `np.bool`; amber/backend/backend.py uses it in a type annotation at import
     time -> `np.bool = np.bool_` before importing amber (upstream fixed this after 0.1.5:
     commit "fix numpy.bool error").
  P2 EnasManager.get_rewards(model_arc=None) (supernet training) re-uses `self.model`, but
     EnasCnnModelBuilder.__call__(arc) returns *the same object* with `fixed_arc` set, so after the
     first reward evaluation every later supernet-training pass trains only the last evaluated
     architecture instead of controller samples.  Patch: reset `fixed_arc=None` before training.
  P3 amber.backend.pytorch.Model.fit accepts `nsteps` but ignores it, so EnasTrainEnv's
     `child_train_steps` has no effect (always one full epoch).  Patch: forward it to Lightning as
     `limit_train_batches` (only when --child-batches > 0; default keeps AMBER's full epoch).
     Also passes `enable_checkpointing=False` so Lightning does not write a checkpoint per step.
  P4 (cosmetic) EnasTrainEnv.train() ends by drawing matplotlib plots (needs matplotlib<3.7:
     it calls plt.grid(b=True)); we keep them but force the Agg backend and silence font warnings.
  P5 EnasCnnModelBuilder (PyTorch) silently drops stem_config/keep_prob/... (they are not passed
     to BaseEnasConv1dDAG.__init__): head is always flatten->Dense(1000).  Patch: set
     model_fn.stem_config and rebuild model_fn.layers right after construction (see main()).
  Not a patch, a usage pitfall: do not pass controller= to EnasCnnModelBuilder (see main()).

Head: default `gap` (global average pool -> Dense(64)); the paper's `flatten` head overfits the
position-specific dense layer on this small synthetic set (val AUROC 0.58 vs 0.87 for a fixed
conv8 arc after 4 epochs), so `--flatten-op flatten` is available but not the default.
"""
import argparse
import os
import resource
import sys
import tempfile
import time
import warnings

os.environ.setdefault("AMBBACKEND", "pytorch")  # AMBER picks its backend at import time
os.environ.setdefault("MPLBACKEND", "Agg")       # P4
warnings.filterwarnings("ignore")

import numpy as np

if "bool" not in np.__dict__:  # P1
    np.bool = np.bool_

import torch  # noqa: E402
import logging  # noqa: E402

import amber  # noqa: E402
from amber import backend as F  # noqa: E402
from amber.architect import ModelSpace, Operation, GeneralController, EnasManager, EnasTrainEnv  # noqa: E402
from amber.architect.reward import LossAucReward  # noqa: E402
from amber.modeler.supernet import EnasCnnModelBuilder  # noqa: E402
from amber.backend.pytorch import model as amber_pt_model  # noqa: E402
from amber.backend.pytorch.utils import InMemoryLogger  # noqa: E402
import pytorch_lightning as pl  # noqa: E402

logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
logging.getLogger("lightning").setLevel(logging.ERROR)
logging.getLogger("matplotlib").setLevel(logging.ERROR)  # AMBER's plots ask for Times New Roman

assert F.mod_name == "pytorch", F.mod_name

# ----------------------------------------------------------------------------- instrumentation
STATS = {"child_samples": 0, "child_seconds": 0.0, "child_batches": 0,
         "eval_seconds": 0.0, "eval_calls": 0, "ctrl_seconds": 0.0}


def apply_patches():
    # ---- P3: honour nsteps in Model.fit (+ timing of supernet training)
    def fit(self, x, y=None, validation_data=None, batch_size=32, epochs=1, nsteps=None,
            callbacks=None, logger=None, verbose=False):
        assert self.is_compiled, ValueError("this model instance has not been compiled yet")
        if logger is None:
            logger = InMemoryLogger()
        self.train()
        train_data = self._make_dataloader(x=x, y=y, batch_size=batch_size)
        limit = nsteps if (nsteps is not None and nsteps > 0) else None
        self.trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=epochs, callbacks=callbacks,
                                  enable_progress_bar=bool(verbose), logger=logger,
                                  enable_model_summary=False, enable_checkpointing=False,
                                  limit_train_batches=limit)
        n_batches = len(train_data) if limit is None else min(limit, len(train_data))
        n_samples = min(len(train_data.dataset), n_batches * batch_size) * epochs
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.trainer.fit(self, train_data, None)
        dt = time.perf_counter() - t0
        STATS["child_seconds"] += dt
        STATS["child_samples"] += n_samples
        STATS["child_batches"] += n_batches * epochs
        return logger

    amber_pt_model.Model.fit = fit

    # ---- P2: supernet training must sample from the controller, not re-use the last fixed arc
    orig_get_rewards = EnasManager.get_rewards

    def get_rewards(self, trial, model_arc=None, nsteps=None):
        if model_arc is None and self.model is not None:
            self.model = self.model_fn()  # __call__(None): fixed_arc=None + recompile
        t0 = time.perf_counter()
        out = orig_get_rewards(self, trial, model_arc=model_arc, nsteps=nsteps)
        if model_arc is not None:
            STATS["eval_seconds"] += time.perf_counter() - t0
            STATS["eval_calls"] += 1
        return out

    EnasManager.get_rewards = get_rewards

    # controller timing only (no behaviour change)
    orig_ctrl_train = GeneralController.train

    def ctrl_train(self):
        t0 = time.perf_counter()
        out = orig_ctrl_train(self)
        STATS["ctrl_seconds"] += time.perf_counter() - t0
        return out

    GeneralController.train = ctrl_train


# ----------------------------------------------------------------------------- synthetic data
def make_data(n, seq_len, n_labels=8, motif_len=12, p_pos=0.3, copies=2, p_mut=0.05, seed=0):
    """One-hot DNA (N, L, 4) float32; label j = 1 iff a (noisy) copy of motif j was planted.

    Motifs are random `motif_len`-mers; each sequence gets each motif independently with prob
    p_pos, `copies` times at random positions, each copy with p_mut per-base mutation rate;
    5% label noise (flips) makes AUROC < 1.
    """
    rng = np.random.default_rng(seed)
    consensus = rng.integers(0, 4, size=(n_labels, motif_len))
    seq = rng.integers(0, 4, size=(n, seq_len))
    y = (rng.random((n, n_labels)) < p_pos)
    for j in range(n_labels):
        idx = np.nonzero(y[:, j])[0]
        for _ in range(copies):
            pos = rng.integers(0, seq_len - motif_len, size=len(idx))
            m = np.broadcast_to(consensus[j], (len(idx), motif_len)).copy()
            mut = rng.random(m.shape) < p_mut
            m[mut] = rng.integers(0, 4, size=mut.sum())
            for k in range(motif_len):
                seq[idx, pos + k] = m[:, k]
    flip = rng.random(y.shape) < 0.05
    y = np.logical_xor(y, flip).astype(np.float32)
    x = np.eye(4, dtype=np.float32)[seq]  # (N, L, 4): AMBER's default data_format is NWC
    return x, y


# ----------------------------------------------------------------------------- model space
def get_model_space(num_layers=6, out_filters=16, expand_every=2):
    """Paper's 1D-CNN space (examples/DeepSEA/amber_deepsea.py), scaled down.

    7 ops/layer: conv k8, conv k4, dilated(10) conv k8, dilated(10) conv k4, maxpool, avgpool,
    identity; residual skip connections searched by the controller; channels double (and a
    factorized x4 reduction is inserted by the supernet) every `expand_every` layers.
    Pitfall: PyTorch supernet asserts an *odd* pool_size (paper used 4) -> 5 here.
    """
    ms = ModelSpace()
    f = out_filters
    for i in range(num_layers):
        ms.add_layer(i, [
            Operation('conv1d', filters=f, kernel_size=8, activation='relu'),
            Operation('conv1d', filters=f, kernel_size=4, activation='relu'),
            Operation('conv1d', filters=f, kernel_size=8, activation='relu', dilation=10),
            Operation('conv1d', filters=f, kernel_size=4, activation='relu', dilation=10),
            Operation('maxpool1d', filters=f, pool_size=5, strides=1),
            Operation('avgpool1d', filters=f, pool_size=5, strides=1),
            Operation('identity', filters=f),
        ])
        if (i + 1) % expand_every == 0 and i < num_layers - 1:
            f *= 2
    return ms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-train", type=int, default=4000)
    ap.add_argument("--n-val", type=int, default=1000)
    ap.add_argument("--seq-len", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=5, help="controller steps (AMBER max_episode)")
    ap.add_argument("--arcs-per-step", type=int, default=4,
                    help="architectures sampled+evaluated per controller step (AMBER max_step_per_ep)")
    ap.add_argument("--child-batches", type=int, default=0,
                    help="supernet mini-batches per step (0 = one full epoch, AMBER's behaviour)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--num-layers", type=int, default=6)
    ap.add_argument("--filters", type=int, default=16)
    ap.add_argument("--flatten-op", default="gap", choices=["gap", "flatten"],
                    help="head: global average pool (default) or the paper's flatten")
    ap.add_argument("--fc-units", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    apply_patches()
    t_start = time.perf_counter()

    n_labels = 8
    x_all, y_all = make_data(args.n_train + args.n_val, args.seq_len, n_labels=n_labels, seed=args.seed)
    x_tr, y_tr = x_all[:args.n_train], y_all[:args.n_train]
    x_va, y_va = x_all[args.n_train:], y_all[args.n_train:]
    print(f"data: train {x_tr.shape} val {x_va.shape} labels {n_labels} pos-rate {y_tr.mean():.3f}")

    model_space = get_model_space(num_layers=args.num_layers, out_filters=args.filters)
    print(f"model space: {len(model_space)} layers x {len(model_space[0])} ops + skip connections")
    workdir = args.workdir or tempfile.mkdtemp(prefix="amber_peer_")
    os.makedirs(workdir, exist_ok=True)

    # --- controller: LSTM policy, REINFORCE (settings from examples/DeepSEA/amber_deepsea.py)
    controller = GeneralController(
        model_space=model_space,
        buffer_type='ordinal',
        with_skip_connection=True,
        share_embedding={i: 0 for i in range(1, len(model_space))},
        skip_weight=1.0,
        skip_target=0.4,
        kl_threshold=0.01,
        train_pi_iter=10,
        lstm_size=64,
        lstm_num_layers=1,
        optim_algo='adam',
        temperature=2.0,
        tanh_constant=1.5,
        buffer_size=1,
        batch_size=args.arcs_per_step,
    )
    # --- supernet (weight-sharing child DAG)
    input_node = Operation('input', shape=(args.seq_len, 4), name="input")
    output_node = Operation('dense', units=n_labels, activation='sigmoid', name="output")
    model_compile_dict = {'loss': 'binary_crossentropy', 'optimizer': 'adam'}
    model_fn = EnasCnnModelBuilder(
        model_space=model_space,
        inputs_op=input_node,
        output_op=output_node,
        model_compile_dict=model_compile_dict,
        # Pitfall: passing controller= here crashes (Lightning's save_hyperparameters() deep-copies
        # the caller's __init__ locals, incl. the controller's non-leaf tensors). EnasTrainEnv
        # attaches the controller itself via model_fn.set_controller() when it is None.
        controller=None,
        reduction_factor=4,
        stem_config={'flatten_op': args.flatten_op, 'fc_units': args.fc_units},  # ignored, see P5
    )
    # P5: the PyTorch EnasCnnModelBuilder does not forward stem_config (nor keep_prob, batch_size,
    # with_skip_connection, data_format, l1/l2) to its base class, so the head is always
    # flatten -> Dense(1000).  Set it and rebuild the (still untrained) layer dict.
    model_fn.stem_config = {'flatten_op': args.flatten_op, 'fc_units': args.fc_units}
    model_fn.layers = torch.nn.ModuleDict(model_fn._build_dag())
    n_params = sum(p.numel() for p in model_fn.parameters())
    print(f"supernet parameters: {n_params:,}")
    # --- manager: trains supernet, scores sampled arcs by validation AUROC
    manager = EnasManager(
        train_data=(x_tr, y_tr),
        validation_data=(x_va, y_va),
        model_fn=model_fn,
        reward_fn=LossAucReward(method='auc', batch_size=256),
        store_fn='minimal',
        working_dir=workdir,
        child_batchsize=args.batch_size,
        epochs=1,
        verbose=0,
    )
    env = EnasTrainEnv(
        controller,
        manager,
        max_episode=args.steps,
        max_step_per_ep=args.arcs_per_step,
        working_dir=workdir,
        time_budget="01:00:00",
        with_input_blocks=False,
        with_skip_connection=True,
        child_train_steps=args.child_batches if args.child_batches > 0 else None,
        child_warm_up_epochs=0,
        save_controller=False,
        should_plot=False,
        logger=None,
        resume_prev_run=False,
        verbose=0,
    )

    # per-step timing: wrap the controller update, which closes each step
    step_marks = []
    orig_train = controller.train

    def timed_train():
        out = orig_train()
        step_marks.append((time.perf_counter(), dict(STATS)))
        prev_t, prev_s = step_marks[-2] if len(step_marks) > 1 else (t_search0, STATS0)
        s = step_marks[-1][1]
        d_samp = s["child_samples"] - prev_s["child_samples"]
        d_sec = s["child_seconds"] - prev_s["child_seconds"]
        print(f"step {len(step_marks)}/{args.steps}: {step_marks[-1][0] - prev_t:6.1f}s total | "
              f"supernet {d_sec:6.1f}s {d_samp} samples {d_samp / max(d_sec, 1e-9):7.1f} samples/s | "
              f"eval {s['eval_seconds'] - prev_s['eval_seconds']:5.1f}s | "
              f"controller {s['ctrl_seconds'] - prev_s['ctrl_seconds']:4.1f}s | "
              f"mean reward {np.mean(controller.buffer.lt_nrbuffer[-1]) if controller.buffer.lt_nrbuffer else float('nan'):.4f}",
              flush=True)
        return out

    controller.train = timed_train
    STATS0 = dict(STATS)
    t_search0 = time.perf_counter()
    env.train()
    t_search = time.perf_counter() - t_search0

    # --- best architecture = controller's argmax decode (what AMBER's env returns) + the best
    #     sampled arc by reward from the history csv; report validation AUROC of both.
    import csv
    best = None
    with open(os.path.join(workdir, 'train_history.csv')) as fh:
        for row in csv.reader(fh):
            reward = float(row[2])
            arc = [int(float(a)) for a in row[3:]]
            if best is None or reward > best[0]:
                best = (reward, arc)
    # greedy (argmax) architecture from the trained controller
    # (EnasTrainEnv.train() returns argmax over averaged op probs; recompute fully incl. skips)
    with torch.no_grad():
        arcs = [tuple(controller.get_action()[0].tolist()) for _ in range(64)]
    from collections import Counter
    mode_arc = list(Counter(arcs).most_common(1)[0][0])
    reward_fn = LossAucReward(method='auc', batch_size=256)
    def op_name(op):
        a = op.Layer_attributes
        if op.Layer_type == 'conv1d':
            return f"conv{a['kernel_size']}" + (f"d{a['dilation']}" if a.get('dilation', 1) > 1 else "")
        return {'maxpool1d': 'maxpool', 'avgpool1d': 'avgpool'}.get(op.Layer_type, op.Layer_type)

    ops_names = lambda arc: [op_name(model_space[i][o]) for i, o in enumerate(model_fn.decoder.decode(arc)[0])]
    m = model_fn(best[1])
    auc_best = reward_fn(m, (x_va, y_va))[0]
    m = model_fn(mode_arc)
    auc_mode = reward_fn(m, (x_va, y_va))[0]

    total = time.perf_counter() - t_start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("=" * 80)
    print(f"best sampled architecture (arc tokens): {best[1]}")
    print(f"  ops: {ops_names(best[1])}")
    print(f"  skips: {model_fn.decoder.decode(best[1])[1]}")
    print(f"  validation AUROC (shared weights, macro over {n_labels} labels): {auc_best:.4f}")
    print(f"controller's most frequent sample (of 64): {mode_arc}")
    print(f"  ops: {ops_names(mode_arc)}  val AUROC {auc_mode:.4f}")
    print(f"search wall time: {t_search:.1f}s  (whole script incl. data+setup: {total:.1f}s)")
    print(f"supernet training: {STATS['child_samples']} samples in {STATS['child_seconds']:.1f}s "
          f"= {STATS['child_samples'] / max(STATS['child_seconds'], 1e-9):.1f} samples/s "
          f"({STATS['child_batches']} batches of {args.batch_size})")
    print(f"arch evaluation: {STATS['eval_calls']} arcs x {args.n_val} val seqs in {STATS['eval_seconds']:.1f}s "
          f"= {STATS['eval_calls'] * args.n_val / max(STATS['eval_seconds'], 1e-9):.1f} samples/s")
    print(f"controller training: {STATS['ctrl_seconds']:.1f}s")
    print(f"torch {torch.__version__} threads {torch.get_num_threads()} | amber {amber.__version__} | "
          f"peak RSS (self) {rss_mb:.0f} MB | workdir {workdir}")


if __name__ == "__main__":
    main()
