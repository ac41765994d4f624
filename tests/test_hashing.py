"""One content-hash helper names everything, and it names everything as before: the published records' run
hashes, evaluation keys and tensor files are recomputed here from the records' own contents with the
formulas written out (hashlib), independently of the helper."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pixelreg.errors import ConfigError
from pixelreg.experiment.config import TrainConfig, config_hash
from pixelreg.experiment.records import tensor_file_name
from pixelreg.experiment.runs import params_hash
from pixelreg.hashing import content_hash

RESULTS = Path(__file__).resolve().parent.parent / "data" / "results"
RECORDS = sorted(RESULTS.glob("*/*.json"))


def _compact(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()


def _spaced(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, default=str).encode()


def test_content_hash_known_answers():
    d = {"b": [1, 2.5], "a": "x"}
    assert content_hash(d) == hashlib.sha256(b'{"a":"x","b":[1,2.5]}').hexdigest()[:12]
    assert content_hash(d, compact=False) == hashlib.sha256(b'{"a": "x", "b": [1, 2.5]}').hexdigest()[:12]
    assert content_hash("ab", b"c", length=None) == hashlib.sha256(b"abc").hexdigest()
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3).t()  # not contiguous: hashed in C order
    assert content_hash(t, algorithm="sha1", length=10) == hashlib.sha1(
        np.ascontiguousarray(t.numpy()).tobytes()).hexdigest()[:10]
    assert content_hash(t.numpy()) == content_hash(t)
    with pytest.raises(ConfigError, match="algorithm"):
        content_hash("x", algorithm="md5")


@pytest.mark.skipif(not RECORDS, reason="no published records")
@pytest.mark.parametrize("path", RECORDS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_committed_record_keeps_its_run_hash_and_evaluation_keys(path):
    rec = json.loads(path.read_text())
    config = TrainConfig.from_dict(rec["config"])
    assert config_hash(config) == rec["run"] == path.stem
    for e in rec["evaluations"]:
        digest = hashlib.sha256(_compact(e["params"])).hexdigest()[:12]
        assert e["key"] == f"{e['name']}-{digest}" == f"{e['name']}-{params_hash(e['params'])}"
        for fname in e.get("tensors", {}):
            spaced = hashlib.sha256(_spaced(e["params"])).hexdigest()[:12]
            assert fname == f"{e['name']}-{spaced}.pt" == tensor_file_name(e["name"], e["params"])
