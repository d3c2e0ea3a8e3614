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
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

STEPS = 5
SEQ = ["temperature", "peak", "energy"]
STATICS = ["size", "temperature_today", "has_ac"]


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


def main():
    data, weights, batch, epochs, seed = sys.argv[1:6]
    batch, epochs, seed = int(batch), int(epochs), int(seed)
    torch.set_num_threads(1)
    files = sorted(Path(data, "train").glob("*.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files]).to_pydict()
    n = len(table["target_kwh"])
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
