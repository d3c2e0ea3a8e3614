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

The model and the parquet reader are the shipped example's (examples/pytorch-ddp-energy/job.py);
the parity test (harness/cli/tests/energy_pytorch.py) imports them from here.
"""

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

# The model and the parquet reader are the shipped example's (examples/pytorch-ddp-energy/job.py,
# one definition), loaded by path.
_spec = importlib.util.spec_from_file_location(
    "pytorch_ddp_energy",
    Path(__file__).resolve().parents[3] / "examples/pytorch-ddp-energy/job.py",
)
_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_example)
Net = _example.Net


def tensors(directory):
    """The example's `tensors` of every parquet file of `directory`, by name."""
    return _example.tensors(sorted(str(f) for f in Path(directory).glob("*.parquet")))


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
