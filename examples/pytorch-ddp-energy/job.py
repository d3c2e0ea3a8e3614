"""energy-lstm's model and training loop in PyTorch DDP (gloo), as a `harness run command` job.

The same hybrid LSTM as the harness's `energy-lstm` workload — LSTM(3 -> 64) over each row's
real days (packed sequences) || ReLU(Linear(3 -> 64)) of the statics -> Linear(128 -> 1) —
with Adam(1e-3), mean-squared error, 6 epochs and a global batch of 500 rows per step that the
processes share (each takes its contiguous part; DDP averages the gradients), so the two
engines take the same number of steps of the same size at every executor count.

It reads what the harness gives every executor: RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT
(`init_process_group("gloo", init_method="env://")`), OMP_NUM_THREADS (intra-op threads),
HARNESS_FILES (the point's fraction of the prepared training files; every process reads them
all, as every DDP process holds the dataset), HARNESS_TEST_FILES and HARNESS_PARAMS (`epochs`,
`batch`, `seed`). Rank 0 prints the result line: training_time_sec (the epochs, barrier to
barrier), rmse and mae (kWh, test split), epoch_sec, steps_per_epoch.

Its `Net` and `tensors` are also those of the epoch-time bench
(workloads/energy-lstm/bench/pytorch_ddp.py) and of the parity test that trains this model
from our engine's initial weights and compares every step's loss (harness/cli/tests/energy.rs).

Data: the prepared layout of `harness data export energy-lstm --out DIR` (train/ test/ parquet).
Needs torch, numpy and pyarrow (the torch venv `.ci/install --tests` makes has them).

    harness data export energy-lstm --out data/energy
    harness run command --data data/energy --executors 1,2 -- \
        /opt/harness-tools/torch/bin/python examples/pytorch-ddp-energy/job.py
"""

import json
import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.nn.utils.rnn import pack_padded_sequence

STEPS = 5
SEQ = ["temperature", "peak", "energy"]
STATICS = ["size", "temperature_today", "has_ac"]


class Net(nn.Module):
    """The hybrid LSTM; a row with no past day has a zero LSTM state."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(len(SEQ), 64, batch_first=True)
        self.static = nn.Linear(len(STATICS), 64)
        self.head = nn.Linear(128, 1)

    def forward(self, seq, length, statics):
        h = torch.zeros(seq.shape[0], 64)
        rows = torch.nonzero(length > 0).squeeze(1)
        if rows.numel() > 0:
            packed = pack_padded_sequence(
                seq[rows], length[rows], batch_first=True, enforce_sorted=False
            )
            _, (h_n, _) = self.lstm(packed)
            h = h.index_copy(0, rows, h_n[-1])
        return self.head(torch.cat([h, torch.relu(self.static(statics))], 1)).squeeze(1)


def tensors(files):
    """Model inputs of the prepared parquet `files`: sequences (rows, 5, 3), lengths, statics
    (rows, 3) and the target (kWh)."""
    t = pa.concat_tables([pq.read_table(f) for f in files]).to_pydict()
    seq = np.stack(
        [np.stack([t[f"seq_{s}_{f}"] for f in SEQ], axis=1) for s in range(STEPS)], axis=1
    )
    return (
        torch.tensor(seq, dtype=torch.float32),
        torch.tensor(t["length"], dtype=torch.int64),
        torch.tensor(np.stack([t[s] for s in STATICS], axis=1), dtype=torch.float32),
        torch.tensor(t["target_kwh"], dtype=torch.float32),
    )


def main():
    params = json.loads(os.environ.get("HARNESS_PARAMS", "{}"))
    epochs = int(params.get("epochs", 6))
    batch = int(params.get("batch", 500))
    seed = int(params.get("seed", 42))
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    dist.init_process_group("gloo", init_method="env://")
    rank, world = dist.get_rank(), dist.get_world_size()
    train = os.environ["HARNESS_FILES"].splitlines()
    test = os.environ["HARNESS_TEST_FILES"].splitlines()
    if not train or not test:
        raise SystemExit("needs --data with train/ and test/ (harness data export energy-lstm)")
    seq, length, statics, target = tensors(train)
    n = target.shape[0]
    torch.manual_seed(seed)
    net = Net()
    model = DistributedDataParallel(net)  # broadcasts rank 0's initial weights
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch_sec, epoch_loss = [], []
    steps = (n + batch - 1) // batch
    dist.barrier()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))
        total = torch.zeros(1)
        for start in range(0, n, batch):
            step = order[start : start + batch]
            # This process's contiguous part of the global batch; the loss is its part's share
            # of the global batch's mean, so DDP's gradient average times WORLD is the global
            # batch's mean gradient.
            lo, hi = (len(step) * rank) // world, (len(step) * (rank + 1)) // world
            idx = step[lo:hi]
            opt.zero_grad()
            err = model(seq[idx], length[idx], statics[idx]) - target[idx]
            loss = (err**2).sum() * world / len(step)
            loss.backward()
            opt.step()
            total += (err**2).sum().detach()
        dist.all_reduce(total)
        epoch_loss.append(total.item() / n)
        dist.barrier()
        epoch_sec.append(time.perf_counter() - t0)
    if rank == 0:
        tseq, tlen, tstat, ttarget = tensors(test)
        with torch.no_grad():
            err = net(tseq, tlen, tstat) - ttarget
        result = {
            "training_time_sec": sum(epoch_sec),
            "rmse": float(err.pow(2).mean().sqrt()),
            "mae": float(err.abs().mean()),
            "epoch_sec": sum(epoch_sec) / len(epoch_sec),
            "steps_per_epoch": steps,
            "global_batch": batch,
            "train_rows": n,
            "test_rows": int(ttarget.shape[0]),
            "final_epoch_loss": epoch_loss[-1],
        }
        print(json.dumps(result), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
