"""Sweeps: grid expansion, the local executor on real Fashion-MNIST at a tiny scale, status, failures, resume."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import needs_fmnist
from filelock import FileLock

from pixelreg import cli
from pixelreg.experiment.config import config_hash, make_config
from pixelreg.errors import ConfigError
from pixelreg.experiment.runs import RunStore
from pixelreg.experiment.sweep import Sweep, SweepError, sweep_id, train_runs

REPO = Path(__file__).resolve().parent.parent
PIXELREG = [sys.executable, "-m", "pixelreg.cli"]
# Small enough for seconds per run on a busy 2-core machine.
def tiny(epochs=1):
    return ["--profile", "smoke", "--task", "fashion-mnist", "--train-subset", "64", "--test-subset", "64",
            "--epochs", str(epochs), "--pool-size", "32"]


TINY = tiny()


needs_data = needs_fmnist


def grid(*argv):
    args = cli.build_parser().parse_args(["sweep", *argv])
    return cli.sweep_grid(args)[0]


def sweep_cli(argv, runs_dir, capsys):
    rc = cli.main(["sweep", *argv, "--runs-dir", str(runs_dir)])
    out, err = capsys.readouterr()
    return rc, out, err


# ------------------------------------------------------------------------------------------ grid expansion

def test_grid_from_flags_types_order_and_dedupe():
    configs = grid("--profile", "smoke", "--alpha", "0,10", "--th", "0.4,0.8", "--pairs", "4,8", "--seeds", "0,1")
    # alpha=10: 2 th x 2 pairs x 2 seeds; alpha=0 ignores th and pairs (canonical config): one run per seed.
    assert len(configs) == 8 + 2
    assert len({config_hash(c) for c in configs}) == len(configs)
    assert all(isinstance(c.alpha, float) and isinstance(c.pairs, int) and isinstance(c.seed, int) for c in configs)
    assert {c.seed for c in configs} == {0, 1} and {c.th for c in configs if c.alpha} == {0.4, 0.8}
    assert [c.seed for c in configs[:2]] == [0, 1]  # seeds innermost
    assert all(c.width == 4 for c in configs)  # smoke profile defaults
    assert grid("--profile", "smoke", "--alpha", "10,10.0", "--seeds", "0,0") == [make_config("smoke", alpha=10)]
    # optional fields take "none"; seeds take ranges
    configs = grid("--profile", "smoke", "--train-subset", "none,100", "--seeds", "0-2")
    assert [c.train_subset for c in configs] == [None] * 3 + [100] * 3


def test_grid_preset_rows():
    configs = grid("--profile", "smoke", "--preset", "mnist-mnist,fashion-mnist-mnist", "--seeds", "0,1")
    assert [(c.task, c.reg_data, c.alpha, c.th, c.seed) for c in configs] == [
        ("mnist", "mnist", 4.0, 0.2, 0), ("mnist", "mnist", 4.0, 0.2, 1),
        ("fashion-mnist", "mnist", 10.0, 0.4, 0), ("fashion-mnist", "mnist", 10.0, 0.4, 1)]
    # explicit values override the preset; alpha 0 rows are the unregularized baseline of each task
    configs = grid("--profile", "smoke", "--preset", "mnist-mnist", "--alpha", "0,4")
    assert [c.alpha for c in configs] == [0.0, 4.0] and not configs[0].regularized


def test_grid_from_yaml_matches_flags(tmp_path):
    f = tmp_path / "grid.yaml"
    f.write_text("profile: smoke\npreset: fashion-mnist-fashion-mnist\nalpha: [0, 10]\nth: 0.8\n"
                 "pool-size: 32\nseeds: [0, 1]\n")
    from_yaml = grid("--grid", str(f))
    from_flags = grid("--profile", "smoke", "--preset", "fashion-mnist-fashion-mnist", "--alpha", "0,10",
                      "--pool-size", "32", "--seeds", "0,1")
    assert from_yaml == from_flags and len(from_yaml) == 4
    assert sweep_id(from_yaml) == sweep_id(reversed(from_flags))  # the sweep id ignores order
    # a flag overrides the file's key
    assert {c.alpha for c in grid("--grid", str(f), "--alpha", "4")} == {4.0}


@pytest.mark.parametrize("argv,param", [
    (["--alpha", "0,-1"], "alpha"), (["--pairs", "4,x"], "pairs"), (["--seeds", "a"], "seeds"),
    (["--task", "fashion-mnist,svhn"], "task"), (["--preset", "nope"], "preset"), (["--th", "0.5,1.5"], "th"),
    (["--workers", "0"], "workers"), (["--partition", "gpu"], "executor"), (["--grid", "missing.yaml"], "grid"),
])
def test_bad_grid_values_exit_2_and_submit_nothing(tmp_path, capsys, argv, param):
    rc, out, err = sweep_cli(["--profile", "smoke", "--alpha", "10", *argv], tmp_path, capsys)
    assert rc == 2 and param in err and "error" in err
    assert not (tmp_path / "sweeps").exists()


def test_bad_yaml_key(tmp_path):
    f = tmp_path / "grid.yaml"
    f.write_text("alpha: [0, 10]\nbogus: 3\n")
    with pytest.raises(ConfigError, match="bogus"):
        grid("--grid", str(f))


# ------------------------------------------------------------------------------------------ executors

@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
@needs_data
def test_local_grid_completes_then_status_reports_done(tmp_path, capsys):
    argv = TINY + ["--alpha", "0,10", "--seeds", "0,1"]
    rc, out, err = sweep_cli(argv + ["--dry-run"], tmp_path, capsys)
    assert rc == 0 and "4 would be submitted" in out and not any(tmp_path.glob("*/config.json"))
    rc, out, err = sweep_cli(argv + ["--workers", "2"], tmp_path, capsys)
    assert rc == 0, err
    rc, out, err = sweep_cli(argv + ["--status"], tmp_path, capsys)
    assert rc == 0 and "4 done, 0 running, 0 failed, 0 pending" in out
    configs = grid(*argv)
    sweep = Sweep(configs, RunStore(tmp_path))
    m = json.loads(sweep.manifest_path.read_text())
    assert sorted(m["hashes"]) == sorted(config_hash(c) for c in configs)
    assert set(m["submissions"][-1]["jobs"]) == set(m["hashes"])  # one local job id per run
    assert list(sweep.log_dir.glob("*/*_log.out"))  # per-job logs
    # nothing left to do: the same sweep submits nothing
    rc, out, err = sweep_cli(argv, tmp_path, capsys)
    assert rc == 0 and "0 to train" in err


@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
@needs_data
def test_failing_config_is_recorded_while_others_complete(tmp_path, capsys):
    argv = TINY + ["--alpha", "0", "--train-subset", "64,1000000"]  # 1e6 > Fashion-MNIST: fails in the job
    rc, out, err = sweep_cli(argv + ["--workers", "2"], tmp_path, capsys)
    assert rc == 1
    rc, out, err = sweep_cli(argv + ["--status"], tmp_path, capsys)
    assert "1 done, 0 running, 1 failed" in out and "ConfigError" in out and "train_subset" in out
    bad = [c for c in grid(*argv) if c.train_subset == 1000000][0]
    rec = json.loads(Sweep(grid(*argv), RunStore(tmp_path)).failure_path(config_hash(bad)).read_text())
    assert rec["type"] == "ConfigError" and "Traceback" in rec["traceback_tail"]
    # the Python API raises one error naming every failed run, after the others finished (debug: in-process)
    with pytest.raises(SweepError, match=config_hash(bad)):
        train_runs(grid(*argv), runs_dir=tmp_path, executor="debug", progress=False)


@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
@needs_data
def test_sweep_resumes_a_killed_run(tmp_path):
    """A run killed after its first epoch is picked up by the sweep and finished from its checkpoint."""
    args = tiny(epochs=3) + ["--alpha", "10"]
    env = dict(os.environ, PIXELREG_RUNS_DIR=str(tmp_path))
    proc = subprocess.Popen(PIXELREG + ["train", *args, "--quiet"], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, first = time.time() + 300, None
    while time.time() < deadline and proc.poll() is None:
        files = list(tmp_path.glob("*/metrics.json"))
        if files and len(m := json.loads(files[0].read_text())) >= 2:
            first = m
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (config,) = grid(*args)
    run_dir = RunStore(tmp_path).path(config)
    assert (run_dir / "checkpoint.pt").exists() and not (run_dir / "DONE").exists()
    assert Sweep([config], RunStore(tmp_path)).status()[0]["state"] == "pending"
    (run,) = train_runs([config], runs_dir=tmp_path, executor="local", workers=1, progress=False)
    assert run.finished and run.dir == run_dir
    m = run.metrics
    assert [r["epoch"] for r in m] == [0, 1, 2, 3]
    assert m[: len(first)] == first  # resumed (the saved epochs, wall times included, were kept), not retrained


def test_status_shows_running_when_the_run_lock_is_held(tmp_path):
    (config,) = grid("--profile", "smoke", "--alpha", "10")
    store = RunStore(tmp_path)
    with FileLock(str(tmp_path / f"{config_hash(config)}.lock")):
        assert Sweep([config], store).status()[0]["state"] == "running"
    assert Sweep([config], store).status()[0]["state"] == "pending"


def test_slurm_submission_through_submitit(tmp_path, capsys, monkeypatch):
    """With fake srun/sbatch on PATH: one job array with the requested resources, job ids in the manifest."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("sbatch", "srun"):
        (bindir / name).write_text("#!/bin/sh\necho 'Submitted batch job 4242'\n")
        (bindir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    argv = ["--profile", "smoke", "--alpha", "0,10", "--seeds", "0-2", "--executor", "slurm",
            "--partition", "gpu", "--gpus-per-node", "1", "--cpus-per-task", "4", "--time", "90", "--mem", "16",
            "--array-parallelism", "3", "--slurm-extra", "account=lab"]
    rc, out, err = sweep_cli(argv, tmp_path / "runs", capsys)
    assert rc == 0, err
    assert [line.split("\t")[1] for line in out.strip().splitlines()] == [f"4242_{i}" for i in range(6)]
    (script,) = (tmp_path / "runs" / "sweeps").glob("*/logs/4242/4242_submission.sh")
    text = script.read_text()
    for opt in ("--array=0-5%3", "--partition=gpu", "--gpus-per-node=1", "--cpus-per-task=4", "--time=90",
                "--mem=16GB", "--account=lab", "--signal=USR2"):
        assert opt in text
    rc, out, err = sweep_cli(argv + ["--status"], tmp_path / "runs", capsys)
    assert "6 pending" in out and "4242_5" in out


# ------------------------------------------------------------------------------------------ overall progress

class _FakeJob:
    def __init__(self, fn, n):
        self.fn, self.job_id = fn, f"fake{n}"

    def done(self):
        return True

    def result(self):
        return self.fn()

    def cancel(self, check=False):
        pass


class _FakeExecutor:
    """Jobs that finish at once: the bar and the per-run lines without training anything."""

    def __init__(self):
        self.n = 0

    def submit(self, fn):
        self.n += 1
        return _FakeJob(fn, self.n)

    def batch(self):
        import contextlib

        return contextlib.nullcontext()


def _fake_jobs(monkeypatch, fail=()):
    import pixelreg.experiment.sweep as sweep_mod

    def jobs_for(configs, sweep, kind, threads, device):
        return [(lambda h=config_hash(c): dict(ok=h not in fail, error="boom")) for c in configs]

    monkeypatch.setattr(sweep_mod, "_make_executor", lambda *a, **k: _FakeExecutor())
    monkeypatch.setattr(sweep_mod, "_jobs_for", jobs_for)


@pytest.mark.parametrize("executor", ["local", "debug"])
def test_overall_progress_bar_counts_runs_and_keeps_per_run_lines(tmp_path, capsys, monkeypatch, executor):
    from pixelreg.experiment.sweep import submit_and_wait

    configs = [make_config("smoke", alpha=1.0, seed=s) for s in range(3)]
    hashes = [config_hash(c) for c in configs]
    _fake_jobs(monkeypatch, fail={hashes[1]})
    sweep = Sweep(configs, RunStore(tmp_path))
    failures = submit_and_wait(sweep, configs, executor=executor, workers=2, progress=True)
    err = capsys.readouterr().err
    assert set(failures) == {hashes[1]}
    assert "training runs" in err and "3/3" in err and "1 failed" in err   # the overall bar, with counts
    assert "run/s" in err or "s/run" in err                                # rate, from which the ETA comes
    for h in (hashes[0], hashes[2]):
        assert f"finished {h}" in err                                      # per-run lines still printed
    assert f"failed   {hashes[1]}" in err

    submit_and_wait(sweep, configs, executor=executor, workers=2, progress=False)
    err = capsys.readouterr().err
    assert "training runs" not in err and f"finished {hashes[0]}" in err
