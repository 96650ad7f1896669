"""`ridgerider reproduce`: the command's contract and the --quick presets' qualitative results
(docs/RESULTS.md has the full runs)."""
import json
from pathlib import Path

import pytest

from conftest import results, run


def test_list_and_help_name_every_experiment():
    rc, so, _ = run("reproduce", "list")
    assert rc == 0
    assert "tree-mdp" in so and "lever-game" in so
    rc, so, _ = run("reproduce", "--help")
    assert rc == 0
    assert "tree-mdp" in so and "lever-game" in so and "--quick" in so


def test_unknown_experiment_is_one_line_with_the_nearest_name(tmp_path):
    rc, so, se = run("reproduce", "tree-mdb", "--out", tmp_path / "x")
    assert rc == 2
    assert se.count("\n") == 1 and "tree-mdp" in se
    assert not (tmp_path / "x").exists()


def test_missing_out_and_bad_threads_are_refused(tmp_path):
    rc, _, se = run("reproduce", "lever-game")
    assert rc == 2 and "--out" in se
    rc, _, se = run("reproduce", "lever-game", "--threads", "0", "--out", tmp_path / "y")
    assert rc == 2 and "threads" in se


def test_an_existing_result_is_never_written_over(tmp_path):
    out = tmp_path / "done"
    out.mkdir()
    (out / "results.json").write_text('{"keep": true}')
    rc, _, se = run("reproduce", "lever-game", "--quick", "--out", out)
    assert rc == 2 and "already exists" in se
    assert json.loads((out / "results.json").read_text()) == {"keep": True}


def test_lever_game_first_ridge_is_the_zero_shot_policy(lever_quick):
    r = results(lever_quick)
    assert len(r["runs"]) >= 20
    # The chosen ridge reaches the 0.6 lever in every run and cross-plays at 0.6.
    assert r["chosen_lever_payoff_per_run"] == [0.6] * len(r["runs"])
    assert r["chosen_cross_play"] == pytest.approx(0.6, abs=1e-3)
    # ... and it is the most negative ridge, as in the paper.
    assert r["chosen_ridge"].startswith("0")
    # Self-play picks an arbitrary 1.0 lever: about 1/7 with a stranger.
    assert 0.05 < r["self_play_cross_play"] < 0.3
    # The symmetry classes appear as eigenvalue clusters: the six-fold ones of the 1.0 levers.
    assert 6 in [c["size"] for c in r["mis_clusters"]]
    for run_ in r["runs"]:
        assert run_["mis_grad_norm"] < 1e-8
    assert "| 0+ |" in (lever_quick / "results.md").read_text()
    assert (lever_quick / "cross_play.png").stat().st_size > 10_000


def test_lever_game_is_deterministic_and_thread_independent(lever_quick, tmp_path):
    rc, _, se = run("reproduce", "lever-game", "--quick", "--threads", "2", "--no-plot", "--out", tmp_path / "t2")
    assert rc == 0, se
    a, b = results(lever_quick), results(tmp_path / "t2")
    for key in ("runs", "ridges", "chosen_ridge", "self_play_cross_play", "mis_clusters"):
        assert a[key] == b[key], key
    assert not (tmp_path / "t2" / "cross_play.png").exists()


METHODS = ("rr", "gd_random", "gd_mis", "random_directions")


def test_tree_mdp_results_and_equal_budgets(tree_quick):
    r = results(tree_quick)
    assert sorted(r["depths"], key=int) == ["4", "6"]
    for depth, d in r["depths"].items():
        for m in METHODS:
            assert 0.0 <= d[m] <= 1.0
        for t in d["trees"]:
            # Every baseline spent exactly RR's number of gradient evaluations.
            for m in METHODS[1:]:
                assert t[m]["gradients"] == t["rr"]["gradients"], (depth, m)
            assert t["mis_grad_norm"] < t["mis_grad_norm_start"]
    assert (tree_quick / "fractions.png").stat().st_size > 10_000
    assert "| 4 |" in (tree_quick / "results.md").read_text()


def test_tree_mdp_rr_explores_beyond_gradient_ascent_from_the_mis(tree_quick):
    """What we reproduce: RR from the MIS finds nearly every positive leaf that is a local
    optimum (measured on --quick: 92.5% at depth 4, 96.3% at depth 6), far more than gradient
    ascent from the same (perturbed) MIS (51%, 47%), and at least as many as random directions
    read out the same way (90%, 90%). Over all positive leaves: 77.5% and 95%."""
    d = results(tree_quick)["depths"]
    for depth in ("4", "6"):
        lo = d[depth]["local_optimum_spread"]
        assert lo["rr"]["mean"] >= 0.9, depth
        assert lo["rr"]["mean"] > lo["gd_mis"]["mean"] + 0.2, depth
        assert lo["rr"]["mean"] >= lo["random_directions"]["mean"], depth
        assert d[depth]["rr"] >= 0.7, depth
        assert d[depth]["rr"] > d[depth]["gd_mis"], depth
    assert d["6"]["rr"] >= 0.9


def test_tree_mdp_missed_leaves_are_explained(tree_quick):
    """Every positive leaf RR missed is listed with its cause, and the causes add up."""
    for depth, d in results(tree_quick)["depths"].items():
        missed = 0
        for t in d["trees"]:
            assert len(t["rr_missed"]) == t["positive_leaves"] - t["rr"]["found"], depth
            assert t["local_optimum_leaves"] <= t["positive_leaves"]
            # RR rides breadth first from the MIS: every level-1 ridge is ridden.
            assert t["rr_rides_per_level"][0] >= 2 and t["rr_rides"] == sum(t["rr_rides_per_level"])
            assert t["mis_min_action_probability"] > 0.01  # the MIS keeps every node interior
            missed += len(t["rr_missed"])
        assert sum(d["rr_missed"].values()) == missed, depth


@pytest.mark.xfail(strict=True, reason="paper target not reproduced at depth 4 (~10% of its positive leaves are not "
                   "local optima) and RR beats the baselines by little: see docs/RESULTS.md (tree MDP)")
def test_tree_mdp_paper_target(tree_quick):
    d = results(tree_quick)["depths"]
    for depth in d:
        assert d[depth]["rr"] >= 0.95
        for m in METHODS[1:]:
            assert d[depth]["rr"] > d[depth][m]
