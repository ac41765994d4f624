"""The run store's root and its writes fail with one clear message, and leave the store consistent.

A ``--runs-dir`` that names a file, and a full disk, used to end in FileExistsError / OSError tracebacks.
"""
import errno
import os

import pytest

from pixelreg import cli
from pixelreg.experiment.config import make_config
from pixelreg.errors import ConfigError, StorageError
from pixelreg.experiment.runs import RunStore, atomic_write_bytes, atomic_write_json


def test_runs_dir_that_is_a_file_names_runs_dir(tmp_path):
    f = tmp_path / "runs.txt"
    f.write_text("not a folder")
    with pytest.raises(ConfigError) as info:
        RunStore(f)
    assert info.value.param == "runs_dir" and str(f) in str(info.value)
    assert "a folder for the run store" in str(info.value) and "an existing file" in str(info.value)
    with pytest.raises(ConfigError, match="which is a file") as info:
        RunStore(f / "sub" / "runs")
    assert info.value.param == "runs_dir"
    assert f.read_text() == "not a folder"


def test_runs_dir_env_that_is_a_file(tmp_path, monkeypatch):
    f = tmp_path / "runs.txt"
    f.write_text("")
    monkeypatch.setenv("PIXELREG_RUNS_DIR", str(f))
    with pytest.raises(ConfigError, match="runs_dir"):
        RunStore()


def test_store_is_not_created_until_written(tmp_path):
    store = RunStore(tmp_path / "a" / "b")
    assert store.get(make_config("smoke")) is None and store.runs() == []
    assert not (tmp_path / "a").exists()


def test_cli_train_with_a_file_as_runs_dir_exits_2_with_one_line(tmp_path, capsys):
    f = tmp_path / "runs.txt"
    f.write_text("")
    rc = cli.main(["train", "--profile", "smoke", "--runs-dir", str(f), "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pixelreg: error: invalid runs_dir=") and str(f) in lines[0]


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_on_replace_is_a_clear_error_and_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "run" / "metrics.json"
    atomic_write_json(target, {"epoch": 1})
    before = target.read_bytes()
    monkeypatch.setattr(os, "replace", _enospc)
    with pytest.raises(StorageError) as info:
        atomic_write_json(target, {"epoch": 2})
    msg = str(info.value)
    assert isinstance(info.value, ConfigError)
    assert str(target) in msg and "no space left on device" in msg and "MiB free" in msg
    assert "disk space" in msg and "--runs-dir" in msg
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["metrics.json"], "a partial file was left"


def test_full_disk_during_the_write_leaves_no_partial_file(tmp_path, monkeypatch):
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            _enospc()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    target = tmp_path / "best.pt"
    with pytest.raises(StorageError, match="no space left on device"):
        atomic_write_bytes(target, b"x" * 1000)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_full_disk_while_creating_a_run_leaves_the_store_consistent(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    cfg = make_config("smoke")
    monkeypatch.setattr(os, "replace", _enospc)
    with pytest.raises(StorageError) as info:
        store.create(cfg)
    assert "no space left on device" in str(info.value)
    monkeypatch.undo()
    assert store.get(cfg) is None and store.runs() == []
    assert list(store.root.iterdir()) == [], "a half-made run directory was left"
    run = store.create(cfg)   # once there is space again, the same run is created normally
    assert (run.dir / "config.json").is_file()


def test_full_disk_when_making_the_root(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    real_mkdir = type(tmp_path).mkdir

    def mkdir(self, *a, **k):
        if self == store.root:
            _enospc()
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(type(tmp_path), "mkdir", mkdir)
    with pytest.raises(StorageError) as info:
        store.lock(make_config("smoke"))
    assert info.value.param == "runs_dir" and str(store.root) in str(info.value)


def test_other_os_errors_keep_their_type(tmp_path, monkeypatch):
    def eio(*a, **k):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", eio)
    with pytest.raises(OSError) as info:
        atomic_write_bytes(tmp_path / "f", b"x")
    assert not isinstance(info.value, ConfigError) and info.value.errno == errno.EIO
