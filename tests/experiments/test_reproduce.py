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
            # Every baseline spent exactly RR's number of evaluations (read-outs included).
            for m in METHODS[1:]:
                assert t[m]["gradients"] == t["rr"]["gradients"], (depth, m)
            assert t["mis_grad_norm"] < t["mis_grad_norm_start"]
    assert (tree_quick / "fractions.png").stat().st_size > 10_000
    assert "| 4 |" in (tree_quick / "results.md").read_text()


def test_tree_mdp_final_policies_are_finished_ones_and_sharp_readouts(tree_quick):
    """Every RR ride end gives two final policies (its sharp read-out and its finished read-out);
    the GD baselines' final policies are all finished ones; every leaf found is attributed."""
    r = results(tree_quick)
    cap = r["setup"]["rr_max_rides"]
    for depth, d in r["depths"].items():
        only = {"rr": 0, "random_directions": 0}
        for t in d["trees"]:
            assert t["rr"]["policies"] == 2 * t["rr_rides"], depth
            for m in METHODS:
                found, fin, only_ro = t[m]["found"], t[m]["found_by_finished"], t[m]["found_only_by_readout"]
                assert found == fin + only_ro and only_ro <= t[m]["found_by_readout"] <= found, (depth, m)
            for m in ("gd_random", "gd_mis"):
                assert t[m]["found_by_readout"] == 0, (depth, m)
            for m in only:
                only[m] += t[m]["found_only_by_readout"]
            # Breadth first: two whole levels, deeper rides only within the ride budget.
            levels = t["rr_rides_per_level"]
            assert t["rr_rides"] == sum(levels) and levels[0] >= 2
            whole = sum(levels[:2])
            if t["rr_stop"] == "max-rides":
                assert t["rr_rides"] == max(cap, whole), depth
            else:
                assert t["rr_stop"] == "archive-empty" and t["rr_rides"] <= max(cap, whole), depth
        assert d["found_only_by_readout"]["rr"] == only["rr"], depth
        assert d["found_only_by_readout"]["random_directions"] == only["random_directions"], depth


def test_tree_mdp_rr_meets_the_target_and_beats_gradient_ascent(tree_quick):
    """The issue's target, RR >= 95% of the positive leaves at every depth (measured on --quick:
    95.0% at depth 4 = 38 of 40 leaves, 98.3% at depth 6), every local-optimum leaf (100%, 100%),
    far more than gradient ascent from the same (perturbed) MIS (45%, 47%) and more than gradient
    ascent from random starts (75%, 92%) at the same budget."""
    d = results(tree_quick)["depths"]
    for depth in ("4", "6"):
        lo = d[depth]["local_optimum_spread"]
        assert lo["rr"]["mean"] >= 0.95, depth
        assert lo["rr"]["mean"] > lo["gd_mis"]["mean"] + 0.2, depth
        assert lo["rr"]["mean"] >= lo["random_directions"]["mean"], depth
        assert d[depth]["rr"] >= 0.95 - 1e-9, depth
        assert d[depth]["rr"] > d[depth]["gd_mis"] + 0.3, depth
        assert d[depth]["rr"] > d[depth]["gd_random"], depth
    assert results(tree_quick)["target_met"]


def test_tree_mdp_missed_leaves_are_explained(tree_quick):
    """Every positive leaf RR missed is listed with its cause, and the causes add up."""
    for depth, d in results(tree_quick)["depths"].items():
        missed = 0
        for t in d["trees"]:
            assert len(t["rr_missed"]) == t["positive_leaves"] - t["rr"]["found"], depth
            assert t["local_optimum_leaves"] <= t["positive_leaves"]
            assert t["mis_min_action_probability"] > 0.01  # the MIS keeps every node interior
            for m in t["rr_missed"]:
                # A ride end's greedy leaf is always reached by its sharp read-out.
                assert not m["reached_by_a_ride_end"], depth
            missed += len(t["rr_missed"])
        assert sum(d["rr_missed"].values()) == missed, depth


@pytest.mark.xfail(strict=True, reason="random directions read out like RR's ride ends find as many leaves at depth 4 "
                   "(100% on --quick vs RR 95%): see docs/RESULTS.md (tree MDP)")
def test_tree_mdp_rr_above_every_baseline(tree_quick):
    d = results(tree_quick)["depths"]
    for depth in d:
        for m in METHODS[1:]:
            assert d[depth]["rr"] > d[depth][m]
