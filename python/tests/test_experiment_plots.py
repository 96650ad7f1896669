"""ridgerider.experiment_plots on small hand-made results.json files."""
import json

import pytest

from ridgerider import experiment_plots


def _tree_results():
    spread = {"mean": 0.5, "std": 0.1, "min": 0.25, "max": 0.75}
    d = {m: 0.5 for m in ("rr", "gd_random", "gd_mis", "random_directions")}
    d["spread"] = {m: spread for m in ("rr", "gd_random", "gd_mis", "random_directions")}
    return {"experiment": "tree-mdp", "setup": {"trees_per_depth": 3}, "depths": {"4": d, "6": d}}


def _lever_results():
    m = [[0.6, 0.6], [0.6, 0.6]]
    return {"experiment": "lever-game", "chosen_ridge": "0+", "chosen_cross_play": 0.6,
            "chosen_cross_play_matrix": m, "self_play_cross_play": 0.0,
            "self_play_cross_play_matrix": [[1.0, 0.0], [0.0, 1.0]],
            "ridges": [{"label": "0+", "cross_play": 0.6, "self_play_mean": 0.6},
                       {"label": "1+", "cross_play": 0.4, "self_play_mean": 0.8}]}


def _fashion_results(chains):
    pc = [0.1 * c for c in range(10)]
    leaf = {"node": 1, "fingerprint": [[0, 1]] + ([[0, -1], [0, -1]] if chains else []), "rides": 3 if chains else 1,
            "ride_end_per_class_accuracy": pc, "per_class_accuracy": pc}
    if chains:
        leaf["root_ride_end_per_class_accuracy"] = pc
    other = dict(leaf, node=2, fingerprint=[[3, -1]] + leaf["fingerprint"][1:])
    return {"experiment": "fashion-mnist", "mis": {"per_class_accuracy": pc}, "leaves": [leaf, other],
            "baseline": {"per_class_accuracy": pc}, "disagreement": [[0, 0.1], [0.1, 0]]}


@pytest.mark.parametrize("results,png", [(_tree_results(), "fractions.png"), (_lever_results(), "cross_play.png"),
                                         (_fashion_results(True), "per_class.png"),
                                         (_fashion_results(False), "per_class.png")])
def test_each_experiment_gets_its_figure(tmp_path, results, png):
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert experiment_plots.main([str(tmp_path)]) == 0
    assert (tmp_path / png).stat().st_size > 5_000


def test_unknown_experiment_or_missing_file_is_exit_2(tmp_path, capsys):
    assert experiment_plots.main([str(tmp_path)]) == 2
    (tmp_path / "results.json").write_text(json.dumps({"experiment": "nope"}))
    assert experiment_plots.main([str(tmp_path)]) == 2
    assert "nope" in capsys.readouterr().err
