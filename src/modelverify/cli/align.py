"""``modelverify align MODEL_DIR --base-url URL``: the align stage alone."""

from __future__ import annotations

from pathlib import Path

import click

from modelverify.cli.options import api_key_options, resolve_api_key, served_model


@click.command()
@click.argument("model_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", required=True, help="The server, e.g. http://127.0.0.1:8000")
@click.option("--model", "model", help="Model id (default: the first in /v1/models).")
@api_key_options
@click.option(
    "--reference",
    "reference_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A reference recorded with --record (refused if it is another model).",
)
@click.option("--reference-url", help="Another served endpoint of the same model as reference.")
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the served side, with the model's hashes, to FILE.",
)
@click.option(
    "--reference-dtype",
    type=click.Choice(["float32", "bfloat16", "float16"]),
    default="float32",
    show_default=True,
)
@click.option("--engine-python", help="Python with torch and transformers for the reference.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Write align.json here."
)
def align(
    model_dir: Path,
    base_url: str,
    model: str | None,
    api_key: str | None,
    api_key_file: Path | None,
    reference_file: Path | None,
    reference_url: str | None,
    record: Path | None,
    reference_dtype: str,
    engine_python: str | None,
    out: Path | None,
) -> None:
    """Compare the served model's logprobs with a reference of the checkpoint in MODEL_DIR.

    Exit code: 0 pass, 1 warning or not judged, 2 fail.
    """
    from modelverify.align.stage import run_align
    from modelverify.cli.stages import _emit
    from modelverify.errors import ConfigError, ModelVerifyError
    from modelverify.serve.engine import find_engine

    if reference_file and reference_url:
        raise ConfigError("give --reference FILE or --reference-url URL, not both")
    python = engine_python
    if python is None and not (reference_file or reference_url):
        try:
            python = find_engine(None).python
        except ModelVerifyError:
            python = None  # the stage then says why it could not judge
    key = resolve_api_key(api_key, api_key_file)
    res = run_align(
        base_url,
        served_model(base_url, model, key),
        model_dir.expanduser(),
        engine_python=python,
        api_key=key,
        reference_file=reference_file,
        reference_url=reference_url,
        record=record,
        reference_dtype=reference_dtype,
    )
    # not judged exits like a warning: nothing was shown wrong, nothing was shown right
    status = "warn" if res.status.value == "not_judged" else res.status.value
    _emit(res.model_dump_json(indent=2), out, "align", status)
