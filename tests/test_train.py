"""Training, the run store and the CLI on real Fashion-MNIST images at the smoke scale."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import needs_fmnist
import torch

from pixelreg.experiment.config import make_config
from pixelreg.errors import ConfigError
from pixelreg.experiment.runs import Run, RunStore, load_checkpoint, weights_digest
from pixelreg.experiment.train import train

REPO = Path(__file__).resolve().parent.parent
PIXELREG = [sys.executable, "-m", "pixelreg.cli"]


pytestmark = needs_fmnist


def smoke(**kw):
    values = dict(task="fashion-mnist", reg_data="fashion-mnist", alpha=10.0, th=0.8)
    values.update(kw)
    return make_config("smoke", **values)


def _cli(args, runs_dir, **kw):
    env = dict(os.environ, PIXELREG_RUNS_DIR=str(runs_dir))
    return subprocess.run(PIXELREG + args, capture_output=True, text=True, env=env, cwd=REPO, **kw)


def test_regularized_run_records_metrics_and_provenance(tmp_path):
    run = train(smoke(epochs=2), runs_dir=tmp_path, progress=False)
    assert run.finished and run.dir.parent == tmp_path
    m = run.metrics
    assert [r["epoch"] for r in m] == [0, 1, 2]
    for r in m[1:]:
        assert 0 <= r["train_acc"] <= 1 and 0 <= r["test_acc"] <= 1 and r["reg_loss"] >= 0
        assert abs(sum(r["layer_weights"]) - 1) < 1e-5 and len(r["layer_weights"]) == 5
    assert m[-1]["layer_weights"] != [0.2] * 5  # the layer logits were trained
    prov = run.provenance
    assert prov["device"] == "cpu" and prov["wall_time_seconds"] > 0 and "torch" in prov
    # The best checkpoint is the lowest validation loss, holds tensors only and loads with weights_only.
    best = load_checkpoint(run.dir / "best.pt")
    assert best["epoch"] == min(m, key=lambda r: r["valid_loss"])["epoch"]
    assert all(isinstance(v, torch.Tensor) for v in best["model"].values())
    model = run.load_model()
    assert not model.training
    assert not (run.dir / "checkpoint.pt").exists()
    # which weights and which CPU kernels: the digest names the selected weights, and names a transfer source
    assert prov["weights_sha256"] == weights_digest(best["model"]) == weights_digest(model.state_dict())
    assert prov["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    from pixelreg.robustness.evaluate import _source_model
    assert _source_model(run, "cpu")[1] == f"run:{run.id}@{prov['weights_sha256']}"
    older = dict(prov)
    del older["weights_sha256"]  # a run trained before the digest was recorded keeps its published key
    (run.dir / "provenance.json").write_text(json.dumps(older))
    assert _source_model(run, "cpu")[1] == f"run:{run.id}"


def test_same_config_same_metrics_and_reuse(tmp_path):
    a = train(smoke(), runs_dir=tmp_path / "a", progress=False)
    b = train(smoke(), runs_dir=tmp_path / "b", progress=False)
    strip = lambda ms: [{k: v for k, v in r.items() if k != "seconds"} for r in ms]  # noqa: E731
    assert strip(a.metrics) == strip(b.metrics)
    mtime = (a.dir / "best.pt").stat().st_mtime_ns
    again = train(smoke(), runs_dir=tmp_path / "a", progress=False)
    assert again.dir == a.dir and (a.dir / "best.pt").stat().st_mtime_ns == mtime  # reused, not retrained


def test_alpha_zero_trains_without_regularizer(tmp_path):
    run = train(smoke(alpha=0.0), runs_dir=tmp_path, progress=False)
    assert all(r["reg_loss"] is None for r in run.metrics)
    assert run.provenance["pool_size"] == 0


@pytest.mark.parametrize("target,reg_range", [("pixel", "all"), ("shuffled", "all"), ("thresholded", "high")])
def test_target_and_range_variants_train(tmp_path, target, reg_range):
    run = train(smoke(target=target, reg_range=reg_range, th=0.4), runs_dir=tmp_path, progress=False)
    assert run.finished and run.metrics[-1]["reg_loss"] is not None


def test_missing_data_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELREG_DATA_DIR", str(tmp_path / "nodata"))
    cfg = make_config("smoke", task="cifar100")
    with pytest.raises(FileNotFoundError, match="cifar100"):
        train(cfg, runs_dir=tmp_path / "runs", progress=False)
    assert not any(p.is_dir() for p in (tmp_path / "runs").glob("*"))


@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
def test_cli_train_prints_run_dir_and_reuses(tmp_path):
    args = ["train", "--task", "fashion-mnist", "--reg-data", "fashion-mnist", "--alpha", "10", "--th", "0.8",
            "--seed", "0", "--profile", "smoke", "--quiet"]
    first = _cli(args, tmp_path)
    assert first.returncode == 0, first.stderr
    run_dir = Path(first.stdout.strip().splitlines()[-1])
    assert run_dir.is_dir() and (run_dir / "DONE").exists() and run_dir.parent == tmp_path
    second = _cli(args, tmp_path)
    assert second.returncode == 0 and second.stdout.strip().splitlines()[-1] == str(run_dir)
    assert Run.open(run_dir).config.alpha == 10.0


@pytest.mark.parametrize("args,param", [
    (["--th", "1.5"], "th"), (["--th", "0.4", "--th2", "0.6", "--reg-range", "double"], "th2"),
    (["--alpha", "-1"], "alpha"), (["--pairs", "0"], "pairs"), (["--pool-size", "1"], "pool_size"),
    (["--pool-size", "100000"], "pool_size"), (["--task", "svhn"], "task"), (["--reg-data", "svhn"], "reg_data"),
    (["--arch", "vgg"], "arch"), (["--reg-range", "diag"], "reg_range"),
])
def test_cli_bad_input_exits_nonzero_and_writes_nothing(tmp_path, args, param, capsys):
    from pixelreg import cli

    base = ["train", "--profile", "smoke", "--task", "fashion-mnist", "--alpha", "10", "--quiet",
            "--runs-dir", str(tmp_path)]
    try:  # in this process: the console script is the same main() (test_cli_train_prints_run_dir_and_reuses)
        rc = cli.main(base + args)
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2
    assert param in err and "error" in err
    assert not any(p.is_dir() for p in tmp_path.glob("*")) if tmp_path.exists() else True


def test_corrupt_checkpoint_gives_clear_error(tmp_path):
    run = train(smoke(alpha=0.0), runs_dir=tmp_path, progress=False)
    (run.dir / "best.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="checkpoint"):
        run.load_model()


@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
def test_kill_and_resume_gives_same_final_metrics(tmp_path):
    """kill -9 after the first completed epoch; the same command resumes and matches an uninterrupted run."""
    args = ["train", "--profile", "smoke", "--task", "fashion-mnist", "--reg-data", "fashion-mnist",
            "--alpha", "10", "--epochs", "3", "--quiet"]
    killed_dir = tmp_path / "killed"
    env = dict(os.environ, PIXELREG_RUNS_DIR=str(killed_dir))
    proc = subprocess.Popen(PIXELREG + args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    metrics_files = []
    while time.time() < deadline and proc.poll() is None:
        metrics_files = list(killed_dir.glob("*/metrics.json"))
        if metrics_files and len(json.loads(metrics_files[0].read_text())) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_dir = metrics_files[0].parent
    assert not (run_dir / "DONE").exists() and (run_dir / "checkpoint.pt").exists()
    resumed = _cli(args, killed_dir)
    assert resumed.returncode == 0, resumed.stderr
    clean = _cli(args, tmp_path / "clean")
    strip = lambda ms: [{k: v for k, v in r.items() if k != "seconds"} for r in ms]  # noqa: E731
    a = json.loads((run_dir / "metrics.json").read_text())
    b = json.loads((Path(clean.stdout.strip().splitlines()[-1]) / "metrics.json").read_text())
    assert len(a) == 4 and strip(a) == strip(b)
    assert RunStore(killed_dir).runs()[0].finished


@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
def test_concurrent_requests_train_once(tmp_path):
    args = ["train", "--profile", "smoke", "--task", "fashion-mnist", "--alpha", "0", "--quiet"]
    env = dict(os.environ, PIXELREG_RUNS_DIR=str(tmp_path))
    procs = [subprocess.Popen(PIXELREG + args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    dirs = {o[0].strip().splitlines()[-1] for o in outs}
    assert len(dirs) == 1
    assert len([d for d in tmp_path.iterdir() if d.is_dir()]) == 1


@pytest.mark.slow  # end-to-end: trains runs, executes notebooks or builds the book
def test_evaluate_cli_on_a_trained_run(tmp_path):
    """`pixelreg evaluate` on a run trained by `pixelreg train`: eps 0 equals clean accuracy; a second call
    is a cache lookup; robust accuracy under noise is not above clean on average."""
    from pixelreg.experiment.data import load_dataset
    from pixelreg.robustness.evaluate import robust_accuracy
    from pixelreg.experiment.train import evaluate_split

    run = train(smoke(alpha=0.0), runs_dir=tmp_path, progress=False)
    out = tmp_path / "table.csv"
    r = _cli(["evaluate", str(run.dir), "--attack", "gaussian", "--epsilons", "0,0.1,0.3", "--n-images", "200",
              "--out", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr
    import pandas as pd
    table = pd.read_csv(out)
    assert list(table.epsilon) == [0.0, 0.1, 0.3] and (table.n_images == 200).all()
    test = load_dataset("fashion-mnist", "test")
    _, clean = evaluate_split(run.load_model(), test.images[:200], test.labels[:200], torch.device("cpu"))
    assert table.accuracy[0] == pytest.approx(clean, abs=1e-12)
    cached = list((run.dir / "evals").glob("acc-gaussian-*.csv"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    again = robust_accuracy(run, "gaussian", epsilons=[0, 0.1, 0.3], n_images=200)
    assert cached[0].stat().st_mtime_ns == mtime and again.accuracy.tolist() == table.accuracy.tolist()
    bad = _cli(["evaluate", str(run.dir), "--attack", "gaussian", "--epsilons", "0,1.5"], tmp_path)
    assert bad.returncode == 2 and "epsilon" in bad.stderr


@pytest.mark.slow  # end-to-end: trains a predictor or a run, or attacks with a trained source
def test_neural_target_trains_from_a_responses_file(tmp_path):
    """Li et al.'s original regularizer: `--target neural --responses FILE` from an .npz of responses."""
    from pixelreg.experiment.data import natural_image_pool
    from pixelreg.neural.predictor import SimulatedV1, save_responses

    images = natural_image_pool(80, seed=0)
    rates = SimulatedV1(n_neurons=50, seed=0).rates(images.float() / 255)
    path = tmp_path / "responses.npz"
    save_responses(path, images, rates.numpy())
    args = ["train", "--profile", "smoke", "--task", "fashion-mnist", "--alpha", "1", "--target", "neural",
            "--responses", str(path), "--pool-size", "60", "--quiet"]
    r = _cli(args, tmp_path / "runs")
    assert r.returncode == 0, r.stderr
    run = Run.open(r.stdout.strip().splitlines()[-1])
    assert run.config.target == "neural" and len(run.config.responses_sha256) == 64
    assert run.metrics[-1]["reg_loss"] is not None
    # Changing the file's content changes the run: results never come from stale responses.
    save_responses(path, images, (rates * 2 + 1).numpy())
    r2 = _cli(args, tmp_path / "runs")
    assert r2.returncode == 0 and r2.stdout.strip().splitlines()[-1] != str(run.dir)
    missing = _cli(args[:-5] + ["--responses", str(tmp_path / "nope.npz"), "--quiet"], tmp_path / "runs")
    assert missing.returncode == 2 and "responses" in missing.stderr


# -- failed runs ---------------------------------------------------------------------------------------
def test_a_diverging_run_is_marked_failed_and_stops(tmp_path, capsys):
    """A planted divergence (an absurd learning rate) ends as a failed run: the epoch and step of the first
    non-finite loss are recorded, training stops after that epoch, and nothing falls back silently."""
    from pixelreg.experiment.runs import NONFINITE

    run = train(smoke(epochs=3, lr=1e6, phase_duration=10.0), runs_dir=tmp_path, progress=False)
    assert run.finished
    f = run.failure
    assert f is not None and f["reason"] == NONFINITE and f["epoch"] == 1 and 0 <= f["step"] < 8
    assert run.provenance["failure"] == f
    assert [m["epoch"] for m in run.metrics] == [0, 1] and run.provenance["epochs_run"] == 1
    assert "FAILED" in capsys.readouterr().err
    # a second call serves the failed run as it is (failure is a result, not a reason to retrain)
    again = train(smoke(epochs=3, lr=1e6, phase_duration=10.0), runs_dir=tmp_path, progress=False)
    assert again.dir == run.dir and again.failure == f


def test_a_sound_run_has_no_failure(tmp_path):
    run = train(smoke(alpha=1.0), runs_dir=tmp_path, progress=False)  # at alpha 10 one smoke epoch is too few
    assert run.provenance["failure"] is None and run.failure is None


def test_run_failure_rule_on_known_records():
    """The rule applied to records trained before it existed (no ``failure`` in their provenance)."""
    from pixelreg.experiment.runs import NONFINITE, UNTRAINED, run_failure

    ok = [dict(epoch=0, train_loss=None, reg_loss=None, valid_loss=2.3),
          dict(epoch=1, train_loss=0.5, reg_loss=1.0, valid_loss=0.4)]
    assert run_failure(ok, {"best_epoch": 1}) is None
    nan = ok + [dict(epoch=2, train_loss=float("nan"), reg_loss=float("nan"), valid_loss=float("nan"))]
    assert run_failure(nan, {"best_epoch": 1}) == dict(reason=NONFINITE, epoch=2, step=None)
    assert run_failure(ok, {"best_epoch": 0}) == dict(reason=UNTRAINED, epoch=0, step=None)
    # a recorded failure wins over the derivation, and a recorded None means the run passed the rule
    assert run_failure(nan, {"best_epoch": 1, "failure": None}) is None
