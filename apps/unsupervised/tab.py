"""🧭 Unsupervised family: autoencoder, RBM + deep belief network, self-organising map, and the
deep stacking network, each small, trained by this project, explored from the inside."""

from __future__ import annotations

import gradio as gr

from apps import Tab
from shared.checkpoints import WEIGHTS_DIR
from shared.ui import explainer, guard, model_card_accordion, selected_index

W = WEIGHTS_DIR / "unsupervised"
AE_PATH, DAE_PATH = W / "autoencoder_2d.safetensors", W / "denoising_ae.safetensors"
RBM_PATH, DSN_PATH, SOM_PATH = W / "rbm_dbn.safetensors", W / "dsn.safetensors", W / "som_digits.safetensors"
CHECKPOINTS = (AE_PATH, DAE_PATH, RBM_PATH, DSN_PATH, SOM_PATH)


def _big(image, factor: int = 6):
    """A 28×28 image shown at 168×168 with sharp pixels (browsers blur small images)."""
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def _grid(tiles, names, columns, title, cell=1.0):
    from shared.plots import image_grid

    return image_grid(tiles, columns=columns, labels=names, title=title, cell=cell)


# ----- autoencoder ---------------------------------------------------------------------------

@guard("Decoding the latent point")
def decode_latent(z1, z2):
    from apps.unsupervised import infer

    image = _big(infer.decode_point(z1, z2))
    return image, infer.nearest_classes(float(z1), float(z2)), infer.latent_scatter_image((float(z1), float(z2)))


@guard("Decoding the clicked point")
def decode_clicked(evt: gr.SelectData):
    from apps.unsupervised import infer

    px, py = selected_index(evt, "a point of the latent map")
    z1, z2 = infer.click_to_latent(px, py, *infer.SCATTER_PX)
    image, mix, scatter = decode_latent(z1, z2)
    return round(z1, 3), round(z2, 3), image, mix, scatter


@guard("Drawing the latent map")
def latent_map():
    from apps.unsupervised import infer

    return infer.latent_scatter_image()


@guard("Reconstructing images")
def reconstruct(start):
    from apps.unsupervised import infer

    tiles, names = infer.reconstructions(start)
    return _grid(tiles, names, 8, "Top: held-out images · middle: through a 2-number code · "
                 "bottom: through a 32-number code (denoising autoencoder)")


@guard("Interpolating")
def interpolate(index_a, index_b):
    from apps.unsupervised import infer

    tiles, names = infer.interpolate(index_a, index_b)
    return _grid(tiles, names, 9, "Top: walking the latent line (decoded) · bottom: blending pixels")


@guard("Denoising")
def denoise(index, noise_std):
    from apps.unsupervised import infer

    clean, noisy, cleaned, errors = infer.denoise(index, noise_std)
    text = " · ".join(f"{k}: {v:.4f}" for k, v in errors.items())
    return _big(noisy), _big(cleaned), _big(clean), text


# ----- RBM / DBN -------------------------------------------------------------------------------

@guard("Reading the RBM and DBN")
def rbm_dbn_summary():
    from apps.unsupervised import infer
    from shared.plots import new_figure

    filters = _grid(infer.rbm_filters(64), None, 16, "RBM-1 filters: weights from 784 pixels into 64 hidden units",
                    cell=0.6)
    accuracy = infer.probe_accuracies()
    names = {"pixels": "raw pixels (784)", "rbm": "RBM-1 features (256)", "dbn": "DBN top layer (128)"}
    fig, ax = new_figure(6, 2.6)
    bars = ax.barh([names[k] for k in accuracy], [100 * v for v in accuracy.values()], color="#2563eb")
    ax.bar_label(bars, fmt="%.1f%%", fontsize=8)
    low = min(accuracy.values()) * 100
    ax.set(xlim=(max(0, low - 10), 100), xlabel="held-out accuracy of a linear classifier (%)",
           title="Same linear classifier, different inputs (1,000 held-out digits)")
    return filters, fig


@guard("Running the Gibbs chain")
def gibbs_sample(steps, start, digit_index):
    from apps.unsupervised import infer

    origin = "noise" if start == "random noise" else digit_index
    tiles, names = infer.gibbs_chain(steps, origin)
    return _grid(tiles, names, len(tiles), "Gibbs sampling: v → h → v, shown as p(v | h)", cell=1.2)


# ----- SOM -------------------------------------------------------------------------------------

@guard("Training the self-organising map")
def train_som(dataset, size, steps, progress=gr.Progress()):
    from apps.unsupervised import infer
    from shared.plots import line_plot

    for fraction, images, titles, errors in infer.train_som_live(dataset, size, steps):
        progress(fraction, desc=f"training the {size}×{size} map")
        evolution = _grid(images, titles, len(images), f"The map during training ({dataset})",
                          cell=1.6 if dataset == "colours" else 2.0)
        done = [0] + [int(t.split()[1]) for t in titles[1:]]  # "step 250" / "step 250 (time cap)"
        note = infer.som_error_sentence(errors, done)
        curve = line_plot({"quantization error": errors}, x=done, title="Mean distance from a sample to its best unit",
                          x_title="training step", y_title="error", width=5, height=3.2 if note else 2.6)
        if note:
            _caption(curve, note)
        yield evolution, curve


def _caption(fig, text: str, width: int = 80) -> None:
    """A sentence under a figure's axes (constrained layout keeps room for it)."""
    import textwrap

    fig.supxlabel(textwrap.fill(text, width), fontsize=8, ha="center")


@guard("Showing the trained digit map")
def show_som():
    from apps.unsupervised import infer
    from shared.plots import heatmap

    som, unit_labels, card = infer.som_digits()
    mosaic = _grid([som.image()], None, 1, "12×12 SOM trained on digits: each tile is a unit's prototype",
                   cell=6.0)
    labels = heatmap(unit_labels.reshape(som.rows, som.cols), title="Majority digit each unit wins",
                     cmap="tab10", vmin=-0.5, vmax=9.5, width=4.5, height=4)
    return mosaic, labels


# ----- DSN -------------------------------------------------------------------------------------

@guard("Running the deep stacking network")
def dsn_explore(digit_index):
    from apps.unsupervised import infer
    from shared.plots import line_plot

    accuracies = infer.dsn_accuracies()
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    curve = line_plot({"held-out accuracy": accuracies}, x=range(1, len(accuracies) + 1),
                      title="Accuracy after each module (1,000 held-out digits)",
                      x_title="module", y_title="accuracy", width=5, height=3)
    ax = curve.axes[0]
    ax.set_ylim(0, 1)  # a share: from zero, so a half-point gain looks like one
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    digit, label, per_module = infer.dsn_on_digit(digit_index)
    rows = "\n".join(f"| {i + 1} | {max(p, key=p.get)} | {p[max(p, key=p.get)]:.2f} |" for i, p in enumerate(per_module))
    text = (f"{infer.dsn_sentence(accuracies)}\n\nTrue digit: **{label}**\n\n"
            f"| module | predicts | confidence (softmax of scores) |\n|---|---|---|\n{rows}")
    return curve, _big(digit), text


def build():
    explainer("The *unsupervised* side of the classification of deep architectures: models that learn "
              "structure without labels (autoencoders, RBMs and deep belief networks, self-organising "
              "maps), and the deep stacking network, a supervised stack of simple modules. All small, "
              "trained by this project on Fashion-MNIST or MNIST digits; figures come from held-out data.")
    with gr.Tabs():
        with gr.Tab("Autoencoder", id="unsupervised-autoencoder"):
            explainer("An autoencoder squeezes each 28×28 image (784 numbers) through a bottleneck and "
                      "rebuilds it. With a **2-number** code every image becomes a point on a plane: similar "
                      "clothes land together although no label was used. Click the map to decode any point.")
            with gr.Row():
                with gr.Column(scale=3):
                    scatter = gr.Image(label="Latent space (click a point)", show_label=False, interactive=False, height=480)
                    map_button = gr.Button("Draw the latent map")
                with gr.Column(scale=2):
                    with gr.Row():
                        z1 = gr.Number(value=0.0, label="z₁")
                        z2 = gr.Number(value=0.0, label="z₂")
                    decode_button = gr.Button("Decode", variant="primary")
                    decoded = gr.Image(label="Decoded image", height=200, interactive=False)
                    region = gr.Label(label="Nearest held-out images are…", num_top_classes=3)
            with gr.Row():
                start = gr.Slider(0, 999, value=0, step=1, label="First held-out image")
                recon_button = gr.Button("Reconstruct 8 images")
            recon_plot = gr.Plot(label="Reconstructions")
            with gr.Row():
                index_a = gr.Slider(0, 999, value=1, step=1, label="From image")
                index_b = gr.Slider(0, 999, value=2, step=1, label="To image")
                interp_button = gr.Button("Interpolate")
            interp_plot = gr.Plot(label="Interpolation")
            explainer("**Denoising**: the 32-number autoencoder was trained to rebuild clean images from "
                      "noisy ones, so it learned what clothes look like, not the noise.")
            with gr.Row():
                noisy_index = gr.Slider(0, 999, value=3, step=1, label="Held-out image")
                noise = gr.Slider(0.0, 1.0, value=0.35, step=0.05, label="Noise (std)")
                denoise_button = gr.Button("Corrupt and denoise")
            with gr.Row():
                noisy_image = gr.Image(label="Corrupted input", height=180, interactive=False)
                cleaned_image = gr.Image(label="Denoised", height=180, interactive=False)
                clean_image = gr.Image(label="Original", height=180, interactive=False)
            denoise_errors = gr.Markdown()
            model_card_accordion([AE_PATH, DAE_PATH])
        with gr.Tab("RBM & deep belief network", id="unsupervised-rbm"):
            explainer("A restricted Boltzmann machine learns a probability model of binary images with "
                      "hidden units; a deep belief network stacks RBMs, each trained on the hidden units of "
                      "the one below. Their hidden units become features: does a linear classifier do "
                      "better on them than on raw pixels?")
            summary_button = gr.Button("Show filters and feature accuracy", variant="primary")
            with gr.Row():
                filters_plot = gr.Plot(label="Learned filters")
                probe_plot = gr.Plot(label="Linear classifier accuracy")
            with gr.Row():
                gibbs_steps = gr.Slider(1, 1000, value=200, step=1, label="Gibbs steps")
                gibbs_start = gr.Radio(["random noise", "a held-out digit"], value="random noise", label="Start from")
                gibbs_digit = gr.Slider(0, 999, value=0, step=1, label="Held-out digit")
                gibbs_button = gr.Button("Sample")
            gibbs_plot = gr.Plot(label="Gibbs chain")
            model_card_accordion([RBM_PATH])
        with gr.Tab("Self-organising map", id="unsupervised-som"):
            explainer("A self-organising map is a grid of prototypes. Each step, the prototype nearest a "
                      "sample and its grid neighbours move toward the sample: the grid unfolds over the data "
                      "and neighbours end up similar. Train one live on random colours or on digits.")
            with gr.Row():
                som_dataset = gr.Radio(["colours", "digits"], value="colours", label="Data")
                som_size = gr.Slider(4, 20, value=12, step=1, label="Map size (units per side)")
                som_steps = gr.Slider(50, 5000, value=1500, step=50, label="Training steps (16 samples each)")
                som_button = gr.Button("Train live", variant="primary")
            som_evolution = gr.Plot(label="Evolution of the map")
            som_curve = gr.Plot(label="Quantization error")
            som_show = gr.Button("Show the shipped 12×12 digit map")
            with gr.Row():
                som_mosaic = gr.Plot(label="Prototypes")
                som_labels = gr.Plot(label="Unit labels")
            model_card_accordion([SOM_PATH])
        with gr.Tab("Deep stacking network", id="unsupervised-dsn"):
            explainer("A deep stacking network (Deng & Yu) stacks simple modules: each has one sigmoid "
                      "hidden layer and a linear output layer solved in closed form (a convex problem), and "
                      "each later module sees the pixels **plus every earlier module's predictions**.")
            with gr.Row():
                dsn_digit = gr.Slider(0, 999, value=0, step=1, label="Held-out digit")
                dsn_button = gr.Button("Run the stack", variant="primary")
            with gr.Row():
                dsn_curve = gr.Plot(label="Per-module accuracy")
                dsn_image = gr.Image(label="Digit", height=160, interactive=False)
                dsn_table = gr.Markdown()
            model_card_accordion([DSN_PATH])

    map_button.click(latent_map, outputs=scatter, api_name="latent_map")
    decode_button.click(decode_latent, inputs=[z1, z2], outputs=[decoded, region, scatter], api_name="decode_latent")
    scatter.select(decode_clicked, outputs=[z1, z2, decoded, region, scatter],
                   api_name="decode_clicked", api_visibility="private")
    recon_button.click(reconstruct, inputs=start, outputs=recon_plot, api_name="reconstruct")
    interp_button.click(interpolate, inputs=[index_a, index_b], outputs=interp_plot, api_name="interpolate")
    denoise_button.click(denoise, inputs=[noisy_index, noise],
                         outputs=[noisy_image, cleaned_image, clean_image, denoise_errors], api_name="denoise")
    summary_button.click(rbm_dbn_summary, outputs=[filters_plot, probe_plot], api_name="rbm_dbn_summary")
    gibbs_button.click(gibbs_sample, inputs=[gibbs_steps, gibbs_start, gibbs_digit], outputs=gibbs_plot,
                       api_name="gibbs_sample")
    som_button.click(train_som, inputs=[som_dataset, som_size, som_steps], outputs=[som_evolution, som_curve],
                     api_name="train_som", concurrency_limit=1)
    som_show.click(show_som, outputs=[som_mosaic, som_labels], api_name="show_som")
    dsn_button.click(dsn_explore, inputs=dsn_digit, outputs=[dsn_curve, dsn_image, dsn_table], api_name="dsn_explore")


def _warmup():
    from apps.unsupervised import infer

    infer.load_models()


TAB = Tab(name="unsupervised", title="🧭 Unsupervised family", order=70, build=build,
          summary="Autoencoder latent space, RBM/DBN features and Gibbs samples, a live SOM, a deep stacking network",
          checkpoints=CHECKPOINTS, warmup=_warmup)
