"""`ridgerider reproduce fashion-mnist --quick`: diverse, accurate networks from one saddle.

Bounds (docs/RESULTS.md has the measured numbers, seed 0): the best leaf measured 0.844 test
accuracy against Adam's 0.854 (leaves 0.808-0.844); the protocol before chains of rides and the
scale-preserving symmetric start measured 0.816 against 0.854. So: best leaf >= 0.82 and at most
2.5 points below Adam (the target is 1; the margin is for other BLAS builds and seeds, and the
old protocol's 3.5-3.7 points still fail it). Chance is 0.10 and the saddle itself ~0.35.
Leaves disagreed on 7.7% of test images on average (least-different pair 5.9%); 4% still rules
out copies of one network.
"""
import pytest

from conftest import results, run


@pytest.fixture(scope="module")
def fm_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("fm") / "out"
    rc, so, se = run("reproduce", "fashion-mnist", "--quick", "--out", out, timeout=1500)
    assert rc == 0, se
    return out


def test_leaves_are_distinct_accurate_networks(fm_quick):
    r = results(fm_quick)
    leaves = r["leaves"]
    assert len(leaves) >= 4
    fingerprints = [tuple(map(tuple, l["fingerprint"])) for l in leaves]
    assert len(set(fingerprints)) == len(fingerprints)
    for l in leaves:
        for key in ("train_accuracy", "test_accuracy", "ride_end_test_accuracy"):
            assert 0.0 <= l[key] <= 1.0
        assert len(l["per_class_accuracy"]) == 10
        assert all(0.0 <= a <= 1.0 for a in l["per_class_accuracy"])
    best = max(l["test_accuracy"] for l in leaves)
    assert best >= 0.82
    assert r["baseline"]["test_accuracy"] >= 0.80
    assert 0.0 <= r["baseline"]["test_accuracy"] <= 1.0
    assert r["baseline"]["test_accuracy"] - best <= 0.025
    # The chains below the root rides ran: every path is longer than its first ride.
    assert all(l["rides"] == len(l["fingerprint"]) for l in leaves)
    assert any(l["rides"] > 1 for l in leaves)


def test_leaves_disagree_and_start_from_a_symmetric_saddle(fm_quick):
    r = results(fm_quick)
    n = len(r["leaves"])
    d = r["disagreement"]
    assert len(d) == n and all(len(row) == n for row in d)
    assert all(d[i][i] == 0 and d[i][j] == d[j][i] for i in range(n) for j in range(n))
    assert r["summary"]["mean_disagreement"] >= 0.04
    assert r["mis"]["symmetry_spread"] == 0
    assert r["eigenvalues_at_mis"][0] < 0
    assert (fm_quick / "results.md").exists() and (fm_quick / "per_class.png").exists()
