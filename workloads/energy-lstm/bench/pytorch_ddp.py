"""PyTorch DistributedDataParallel run of the energy-lstm reference model, for side-by-side
epoch times with `harness run energy-lstm` (a benchmark, not a test).

The reference job's training half: the hybrid LSTM (LSTM(3 -> 64) over packed sequences ||
ReLU(Linear(3 -> 64)) on the statics -> Linear(128 -> 1)), Adam(1e-3), MSE, batch BATCH *per
process* (DDP, gloo), each process taking every WORLD-th row of the epoch's shuffled order
(as DistributedSampler does), one intra-op thread per process. Reads the parquet that
`harness data prepare energy` / `harness data generate energy` writes (train/ and test/).

Usage:
  torchrun --nproc-per-node 2 pytorch_ddp.py PREPARED_DIR [EPOCHS=6] [BATCH=500] [SEED=42]
  python pytorch_ddp.py PREPARED_DIR ...          (one process, no DDP)

Prints one JSON line from rank 0: epoch seconds, losses, test RMSE/MAE (kWh).

The parity test (harness/cli/tests/energy_pytorch.py) imports `Net` and `tensors` from here.
"""

import json
import os
import sys
import time
from pathlib import Path

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
        s = torch.relu(self.static(statics))
        return self.head(torch.cat([h, s], 1)).squeeze(1)


def tensors(directory):
    files = sorted(Path(directory).glob("*.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files]).to_pydict()
    seq = torch.tensor(
        np.stack(
            [np.stack([table[f"seq_{t}_{f}"] for f in SEQ], axis=1) for t in range(STEPS)],
            axis=1,
        ),
        dtype=torch.float32,
    )
    length = torch.tensor(table["length"], dtype=torch.int64)
    statics = torch.tensor(np.stack([table[s] for s in STATICS], axis=1), dtype=torch.float32)
    target = torch.tensor(table["target_kwh"], dtype=torch.float32)
    return seq, length, statics, target


def main():
    data = sys.argv[1]
    defaults = [6, 500, 42]
    given = [int(a) for a in sys.argv[2:5]]
    epochs, batch, seed = given + defaults[len(given) :]
    torch.set_num_threads(1)
    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    seq, length, statics, target = tensors(Path(data, "train"))
    n = target.shape[0]
    torch.manual_seed(seed)
    net = Net()
    model = DistributedDataParallel(net) if distributed else net
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch_sec, epoch_loss = [], []
    for epoch in range(epochs):
        if distributed:
            dist.barrier()
        t0 = time.perf_counter()
        g = torch.Generator().manual_seed(seed + epoch)
        mine = torch.randperm(n, generator=g)[rank::world]
        total = 0.0
        for start in range(0, mine.shape[0], batch):
            idx = mine[start : start + batch]
            opt.zero_grad()
            loss = torch.mean((model(seq[idx], length[idx], statics[idx]) - target[idx]) ** 2)
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        epoch_loss.append(total / mine.shape[0])
        epoch_sec.append(time.perf_counter() - t0)
    if rank == 0:
        tseq, tlen, tstat, ttarget = tensors(Path(data, "test"))
        with torch.no_grad():
            err = net(tseq, tlen, tstat) - ttarget
        print(
            json.dumps(
                {
                    "processes": world,
                    "train_rows": n,
                    "batch_per_process": batch,
                    "epoch_sec": epoch_sec,
                    "mean_epoch_sec": sum(epoch_sec) / len(epoch_sec),
                    "epoch_loss": epoch_loss,
                    "test_rmse": float(err.pow(2).mean().sqrt()),
                    "test_mae": float(err.abs().mean()),
                }
            )
        )
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
