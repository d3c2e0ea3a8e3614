"""Reference run of the energy-lstm model in PyTorch, for the parity test (tests/energy.rs).

Trains the reference architecture — LSTM(3 -> 64) over packed (variable-length) sequences, its
last hidden state (zero for a row with no history) || ReLU(Linear(3 -> 64)) of the statics ->
Linear(128 -> 1) — from the harness's exported initial weights, on the harness's prepared
parquet, with Adam(1e-3) and mean-squared error, over the same global batches (the epoch order
the harness documents), and prints every step's loss as JSON.

Usage: python energy_pytorch.py PREPARED_DIR INITIAL_WEIGHTS_JSON BATCH EPOCHS SEED
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

# The reference model and the parquet reader: the shipped example's, through the bench script.
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "workloads/energy-lstm/bench"))
from pytorch_ddp import Net, tensors  # noqa: E402


def mix64(z):
    """SplitMix64's finaliser on a uint64 array (wrapping arithmetic)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def epoch_order(n, seed, epoch):
    base = mix64(np.array([seed], dtype=np.uint64) ^ mix64(np.array([epoch], dtype=np.uint64)))
    idx = np.arange(n, dtype=np.uint64)
    keys = mix64(base ^ idx)
    return np.lexsort((idx, keys)).astype(np.int64)


def main():
    data, weights, batch, epochs, seed = sys.argv[1:6]
    batch, epochs, seed = int(batch), int(epochs), int(seed)
    torch.set_num_threads(1)
    seq, length, statics, target = tensors(Path(data, "train"))
    n = target.shape[0]

    net = Net()
    init = json.loads(Path(weights).read_text())
    state = {k: torch.tensor(v["values"], dtype=torch.float32).view(v["shape"]) for k, v in init.items()}
    net.load_state_dict(state, strict=True)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    losses = []
    for epoch in range(epochs):
        order = torch.from_numpy(epoch_order(n, seed, epoch))
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            opt.zero_grad()
            pred = net(seq[idx], length[idx], statics[idx])
            loss = torch.mean((pred - target[idx]) ** 2)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    print(json.dumps({"rows": n, "step_loss": losses}))


if __name__ == "__main__":
    main()
