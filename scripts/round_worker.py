"""Train this round's queue in the background: one process per core, one thread each.

Usage: PIXELREG_RUNS_DIR=/path/to/store python scripts/round_worker.py queue.jsonl   (queue: scripts/round_queue.py)

Each worker takes the first config of the file (json lines) that is neither published nor finished in the run
store and not claimed by another worker (a file in <store>/.queue-locks/), trains it (resuming from its last
epoch after a stop) and goes on until nothing is left. A published run is retrained only when
<store>/.retrain/<hash> exists (for an evaluation its record lacks: records hold no weights). Start two
workers, then scripts/round_evaluator.py; delete <store>/.queue-locks/ after a stop.
"""
import json, os, sys, time, traceback
import torch
torch.set_num_threads(1)
from pixelreg.experiment.config import TrainConfig, config_hash
from pixelreg.experiment.records import published_record
from pixelreg.experiment.runs import RunStore
from pixelreg.experiment.train import train

order = sys.argv[1]
runs = os.environ["PIXELREG_RUNS_DIR"]
os.makedirs(f"{runs}/.queue-locks", exist_ok=True)
while True:
    todo = None
    for line in open(order):
        if not line.strip():
            continue
        c = TrainConfig(**json.loads(line))
        h = config_hash(c)
        force = os.path.exists(f"{runs}/.retrain/{h}")
        if published_record(c) is not None and not force:
            continue
        r = RunStore(runs).get(c)
        if r is not None and r.finished:
            continue
        try:
            fd = os.open(f"{runs}/.queue-locks/{h}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode()); os.close(fd)
        except FileExistsError:
            continue
        todo = (h, c)
        break
    if todo is None:
        print("nothing left", flush=True)
        break
    h, c = todo
    t0 = time.time()
    print(time.strftime("%H:%M:%S"), "train", h, c.seed, c.reg_data, c.target, c.alpha, c.noise_aug, c.pair_bn, c.epochs, flush=True)
    try:
        run = train(c, runs, progress=False)
        print(time.strftime("%H:%M:%S"), "done", h, f"{time.time()-t0:.0f}s", flush=True)
    except Exception:
        traceback.print_exc()
        print(time.strftime("%H:%M:%S"), "FAILED", h, flush=True)
