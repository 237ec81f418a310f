"""🧭 Unsupervised family: autoencoder, RBM + deep belief network, self-organising map, and the
deep stacking network, each small, trained by this project, explored from the inside."""

from __future__ import annotations

import gradio as gr

from apps import Tab
from apps.unsupervised import spec
from shared import arrival
from shared.ui import explainer, guard, model_card_accordion, selected_index

# ----- handlers: infer computes, views shows ---------------------------------------------------

@guard("Decoding the latent point")
def decode_latent(z1, z2):
    from apps.unsupervised import infer, views

    point = infer.decode_point(z1, z2)
    image, nearest = views.decoded_views(point)
    return image, nearest, views.latent_scatter_image(infer.latent_map((point.z1, point.z2)))


@guard("Decoding the clicked point")
def decode_clicked(evt: gr.SelectData):
    from apps.unsupervised import infer

    px, py = selected_index(evt, "a point of the latent map")
    z1, z2 = infer.click_to_latent(px, py, *spec.SCATTER_PX)
    image, nearest, scatter = decode_latent(z1, z2)
    return round(z1, 3), round(z2, 3), image, nearest, scatter


@guard("Drawing the latent map")
def latent_map():
    from apps.unsupervised import infer, views

    return views.latent_scatter_image(infer.latent_map())


@guard("Reconstructing images")
def reconstruct(start):
    from apps.unsupervised import infer, views

    return views.reconstructions_figure(infer.reconstructions(start))


@guard("Interpolating")
def interpolate(index_a, index_b):
    from apps.unsupervised import infer, views

    return views.interpolation_figure(infer.interpolate(index_a, index_b))


@guard("Denoising")
def denoise(index, noise_std):
    from apps.unsupervised import infer, views

    return views.denoise_views(infer.denoise(index, noise_std))


@guard("Reading the RBM and DBN")
def rbm_dbn_summary():
    from apps.unsupervised import infer, views

    probe = infer.feature_probe()
    return views.filters_figure(probe), views.probe_figure(probe)


@guard("Running the Gibbs chain")
def gibbs_sample(steps, start, digit_index):
    from apps.unsupervised import infer, views

    origin = "noise" if start == spec.GIBBS_STARTS[0] else digit_index
    return views.gibbs_figure(infer.gibbs_chain(steps, origin))


@guard("Training the self-organising map")
def train_som(dataset, size, steps, progress=gr.Progress()):
    from apps.unsupervised import infer, views

    for run in infer.train_som_live(dataset, size, steps):
        progress(run.fraction, desc=f"training the {run.size}×{run.size} map")
        yield views.som_views(run)


@guard("Showing the trained digit map")
def show_som():
    from apps.unsupervised import infer, views

    return views.shipped_som_figures(infer.shipped_som())


@guard("Running the deep stacking network")
def dsn_explore(digit_index):
    from apps.unsupervised import infer, views

    return views.dsn_views(infer.dsn_on_digit(digit_index))


# ----- what each view shows on arrival: its default inputs' answers ----------------------------

def default_autoencoder():
    z = spec.LATENT.default
    return (*decode_latent(z, z), reconstruct(spec.RECONSTRUCT_START),
            interpolate(spec.INTERPOLATE_FROM, spec.INTERPOLATE_TO),
            *denoise(spec.DENOISE_INDEX, spec.NOISE_STD.default))


def default_rbm():
    return (*rbm_dbn_summary(), gibbs_sample(spec.GIBBS_STEPS.default, spec.GIBBS_STARTS[0], spec.IMAGE_INDEX.default))


def default_som():
    """A short live run with the default settings (about a second) and the shipped digit map."""
    *_, last = train_som(spec.SOM_DATASETS[0], spec.SOM_SIZE.default, spec.SOM_STEPS.default,
                         progress=lambda *args, **kwargs: None)
    return (*last, *show_som())


def default_dsn():
    return dsn_explore(spec.IMAGE_INDEX.default)


# ----- layout, then events ---------------------------------------------------------------------

def build():
    explainer("The *unsupervised* side of the classification of deep architectures: models that learn "
              "structure without labels (autoencoders, RBMs and deep belief networks, self-organising "
              "maps), and the deep stacking network, a supervised stack of simple modules. All small, "
              "trained by this project on Fashion-MNIST or MNIST digits; figures come from held-out data.")
    index = spec.IMAGE_INDEX
    with gr.Tabs():
        with gr.Tab("Autoencoder", id="unsupervised-autoencoder", elem_id="unsupervised-autoencoder"):
            explainer("An autoencoder squeezes each 28×28 image (784 numbers) through a bottleneck and "
                      "rebuilds it. With a **2-number** code every image becomes a point on a plane: similar "
                      "clothes land together although no label was used. Click the map to decode any point.")
            with gr.Row():
                with gr.Column(scale=3, min_width=300):
                    scatter = gr.Image(label="Latent space (click a point)", show_label=False, interactive=False,
                                       height=480)
                    map_button = gr.Button("Draw the latent map")
                with gr.Column(scale=2, min_width=240):
                    with gr.Row():
                        z1 = spec.LATENT.number(label="z₁", min_width=100)
                        z2 = spec.LATENT.number(label="z₂", min_width=100)
                    decode_button = gr.Button("Decode", variant="primary")
                    decoded = gr.Image(label="Decoded image", height=200, interactive=False)
                    region = gr.Label(label="Nearest held-out images are…", num_top_classes=3)
            with gr.Row():
                start = index.slider(label="First held-out image", value=spec.RECONSTRUCT_START, min_width=200)
                recon_button = gr.Button("Reconstruct 8 images", min_width=160)
            recon_plot = gr.Plot(label="Reconstructions", show_label=False, elem_classes=["natural-size"])
            with gr.Row():
                index_a = index.slider(label="From image", value=spec.INTERPOLATE_FROM, min_width=200)
                index_b = index.slider(label="To image", value=spec.INTERPOLATE_TO, min_width=200)
                interp_button = gr.Button("Interpolate", min_width=160)
            interp_plot = gr.Plot(label="Interpolation", show_label=False, elem_classes=["natural-size"])
            explainer("**Denoising**: the 32-number autoencoder was trained to rebuild clean images from "
                      "noisy ones, so it learned what clothes look like, not the noise.")
            with gr.Row():
                noisy_index = index.slider(value=spec.DENOISE_INDEX, label="Held-out image", min_width=200)
                noise = spec.NOISE_STD.slider(label="Noise (std)", min_width=200)
                denoise_button = gr.Button("Corrupt and denoise", min_width=160)
            with gr.Row():
                noisy_image = gr.Image(label="Corrupted input", height=180, interactive=False, min_width=120)
                cleaned_image = gr.Image(label="Denoised", height=180, interactive=False, min_width=120)
                clean_image = gr.Image(label="Original", height=180, interactive=False, min_width=120,
                                       elem_id="unsupervised-original")
            denoise_errors = gr.Markdown()
            model_card_accordion([spec.AE_PATH, spec.DAE_PATH])
        with gr.Tab("RBM & deep belief network", id="unsupervised-rbm", elem_id="unsupervised-rbm"):
            explainer("A restricted Boltzmann machine learns a probability model of binary images with "
                      "hidden units; a deep belief network stacks RBMs, each trained on the hidden units of "
                      "the one below. Their hidden units become features: does a linear classifier do "
                      "better on them than on raw pixels?")
            summary_button = gr.Button("Show filters and feature accuracy", variant="primary")
            with gr.Row():
                filters_plot = gr.Plot(label="Learned filters", show_label=False, elem_classes=["natural-size"],
                                       min_width=300)
                probe_plot = gr.Plot(label="Linear classifier accuracy", show_label=False, elem_classes=["natural-size"],
                                     min_width=300)
            with gr.Row():
                gibbs_steps = spec.GIBBS_STEPS.slider(min_width=200)
                gibbs_start = gr.Radio(spec.GIBBS_STARTS, value=spec.GIBBS_STARTS[0], label="Start from",
                                       min_width=200)
                gibbs_digit = index.slider(label="Held-out digit", min_width=200)
                gibbs_button = gr.Button("Sample", min_width=120)
            gibbs_plot = gr.Plot(label="Gibbs chain", show_label=False, elem_classes=["natural-size"])
            model_card_accordion([spec.RBM_PATH])
        with gr.Tab("Self-organising map", id="unsupervised-som", elem_id="unsupervised-som"):
            explainer("A self-organising map is a grid of prototypes. Each step, the prototype nearest a "
                      "sample and its grid neighbours move toward the sample: the grid unfolds over the data "
                      "and neighbours end up similar. Train one live on random colours or on digits.")
            with gr.Row():
                som_dataset = gr.Radio(spec.SOM_DATASETS, value=spec.SOM_DATASETS[0], label="Data", min_width=160)
                som_size = spec.SOM_SIZE.slider(label="Map size (units per side)", min_width=200)
                som_steps = spec.SOM_STEPS.slider(label="Training steps (16 samples each)", min_width=200)
                som_button = gr.Button("Train live", variant="primary", min_width=120)
            som_evolution = gr.Plot(label="Evolution of the map", show_label=False, elem_classes=["natural-size"])
            som_curve = gr.Plot(label="Quantization error", show_label=False, elem_classes=["natural-size"])
            som_show = gr.Button(f"Show the shipped {spec.SHIPPED_SOM_SIDE}×{spec.SHIPPED_SOM_SIDE} digit map")
            with gr.Row():
                som_mosaic = gr.Plot(label="Prototypes", show_label=False, elem_classes=["natural-size"],
                                     min_width=300)
                som_labels = gr.Plot(label="Unit labels", show_label=False, elem_classes=["natural-size"],
                                     min_width=300)
            model_card_accordion([spec.SOM_PATH])
        with gr.Tab("Deep stacking network", id="unsupervised-dsn", elem_id="unsupervised-dsn"):
            explainer("A deep stacking network (Deng & Yu) stacks simple modules: each has one sigmoid "
                      "hidden layer and a linear output layer solved in closed form (a convex problem), and "
                      "each later module sees the pixels **plus every earlier module's predictions**.")
            with gr.Row():
                dsn_digit = index.slider(label="Held-out digit", min_width=200)
                dsn_button = gr.Button("Run the stack", variant="primary", min_width=120)
            with gr.Row():
                dsn_curve = gr.Plot(label="Per-module accuracy", show_label=False, elem_classes=["natural-size"],
                                    scale=3, min_width=300)
                with gr.Column(scale=2, min_width=260):
                    dsn_image = gr.Image(label="Digit", height=160, interactive=False)
                    dsn_table = gr.Markdown()
            model_card_accordion([spec.DSN_PATH])

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

    arrival.show(default_autoencoder, [decoded, region, scatter, recon_plot, interp_plot,
                                       noisy_image, cleaned_image, clean_image, denoise_errors])
    arrival.show(default_rbm, [filters_plot, probe_plot, gibbs_plot])
    arrival.show(default_som, [som_evolution, som_curve, som_mosaic, som_labels])
    arrival.show(default_dsn, [dsn_curve, dsn_image, dsn_table])


def _warmup():
    from apps.unsupervised import infer

    infer.load_models()


TAB = Tab(name="unsupervised", title="🧭 Unsupervised family", order=70, build=build,
          summary="Autoencoder latent space, RBM/DBN features and Gibbs samples, a live SOM, a deep stacking network",
          checkpoints=spec.CHECKPOINTS, warmup=_warmup)
