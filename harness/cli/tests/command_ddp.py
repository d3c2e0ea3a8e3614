"""A job for the `command` workload's tests: forms a PyTorch process group over `env://`.

Every rank joins the gloo process group from the variables the harness sets (RANK, WORLD_SIZE,
MASTER_ADDR, MASTER_PORT), all-reduces rank + 1, writes what it saw to
`<params.out>/rank<R>.json`, and rank 0 prints the result line.
"""

import json
import os

import torch
import torch.distributed as dist

dist.init_process_group("gloo", init_method="env://")
rank, size = dist.get_rank(), dist.get_world_size()
x = torch.tensor([float(rank + 1)])
dist.all_reduce(x)
names = [
    "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
    "OMP_NUM_THREADS", "HARNESS_EXECUTORS", "HARNESS_CORES", "HARNESS_MEMORY_BYTES",
    "HARNESS_FRACTION", "HARNESS_REPETITION", "HARNESS_SEED", "HARNESS_PARAMS", "HARNESS_DATA",
    "HARNESS_FILES", "HARNESS_SHARD_FILES", "HARNESS_VAL_FILES", "HARNESS_TEST_FILES",
    "HARNESS_RESULT", "OMPI_COMM_WORLD_RANK",
]
seen = {k: os.environ.get(k) for k in names}
seen["torch_threads"] = torch.get_num_threads()
seen["allreduce_sum"] = x.item()
out = json.loads(os.environ["HARNESS_PARAMS"])["out"]
with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
    json.dump(seen, f)
dist.barrier()
dist.destroy_process_group()
print(f"rank {rank} of {size} done")
if rank == 0:
    print(json.dumps({"training_time_sec": 0.25, "allreduce_sum": x.item(), "engine": "gloo"}))
