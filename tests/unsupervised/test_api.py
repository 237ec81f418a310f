"""Unsupervised family through the served app: each endpoint answers, bad input is an error and
the app keeps serving."""

from __future__ import annotations

import pytest

from apps.unsupervised import spec


def test_autoencoder_endpoints(client):
    assert client.predict(api_name="/latent_map") is not None
    decoded, region, scatter = client.predict(0.0, 0.0, api_name="/decode_latent")
    assert decoded and region["label"] in spec.FASHION_CLASSES
    assert client.predict(0, api_name="/reconstruct") is not None
    assert client.predict(1, 2, api_name="/interpolate") is not None
    noisy, cleaned, clean, text = client.predict(3, 0.35, api_name="/denoise")
    assert "denoised **" in text


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
    with pytest.raises(Exception, match="from -10,000 to 10,000|maximum"):  # the box's range (spec.LATENT)
        client.predict(1e6, 0.0, api_name="/decode_latent")
    assert "denoised **" in client.predict(3, 0.2, api_name="/denoise")[3]
