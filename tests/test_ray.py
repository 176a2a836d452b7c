"""The Ray backend (the optional extra ``scmgym[ray]``; ``make test-ray`` installs and runs it):
the same numbers as the local backend, on a single-node Ray and on a two-node cluster started
on this machine."""

from __future__ import annotations

import pytest

from scmgym.cli import main

ray = pytest.importorskip("ray", reason="the Ray extra is not installed (make test-ray)")

SUITE = """\
name = "ray-check"
version = 1
budget = 30
runs = 2
reeval_seeds = 3

[[problems]]
id = "hfs:d1"

[[problems]]
id = "make-or-buy:list1"

[methods.random]
[methods.edd]
[methods.gp]
"""


def tables(out):
    return ((out / "report" / "results.csv").read_bytes(),
            (out / "report" / "ranks.csv").read_bytes())


@pytest.fixture(scope="module")
def local_tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("local")
    (folder / "suite.toml").write_text(SUITE)
    assert main(["reproduce", "--suite", str(folder / "suite.toml"), "--out",
                 str(folder / "out")]) == 0
    return tables(folder / "out"), folder / "suite.toml"


def test_single_node_ray_gives_the_local_tables(local_tables, tmp_path):
    expected, suite = local_tables
    out = tmp_path / "ray"
    assert main(["reproduce", "--suite", str(suite), "--backend", "ray", "--jobs", "2",
                 "--out", str(out)]) == 0
    assert tables(out) == expected
    assert not ray.is_initialized()  # the backend shuts down the Ray it started


def test_a_two_node_cluster_gives_the_local_tables(local_tables, tmp_path):
    from ray.cluster_utils import Cluster

    expected, suite = local_tables
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        out = tmp_path / "cluster"
        assert main(["reproduce", "--suite", str(suite), "--backend", "ray", "--address",
                     cluster.address, "--out", str(out)]) == 0
        assert tables(out) == expected
    finally:
        cluster.shutdown()
