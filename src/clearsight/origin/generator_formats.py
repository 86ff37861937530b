"""The records AI image tools write into their output, one recogniser per tool.

A recogniser reads the text fields a container yielded (PNG text chunks, EXIF tags,
comments; see :mod:`clearsight.origin.generators`) and returns the one
:class:`GeneratorRecord` its tool left, or None. It matches structure (a parameters
line, a node graph, a JSON schema, a request id), never a lone word in free text, so
a caption that mentions a tool is not taken for that tool's record. A bare
``Software`` string is still reported, marked unstructured, to be weighed lower.

An edit is claimed only where the record itself says a source image was the start
(img2img, inpainting); a record that is silent about its input is taken as made from
scratch. The prompt is kept apart from every other fact, because it may be abusive
text: it never reaches a field that is logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_PROMPT_CHARS = 65_536
MAX_GRAPH_NODES = 10_000
MAX_SAMPLERS = 64  # samplers of one graph checked for an image input


@dataclass(frozen=True)
class MetadataField:
    """One text field of a file: where it was, the name recognisers know it by, its text.

    ``key`` is the PNG keyword, or for EXIF the PNG keyword with the same role
    (UserComment is ``Comment``, ImageDescription is ``Description``), so that one
    recogniser reads a tool's PNG and JPEG records alike.
    """

    location: str
    key: str
    text: str = field(repr=False)


@dataclass(frozen=True)
class GeneratorRecord:
    """What one tool's record says. ``edit`` says why it records an altered source image."""

    tool: str
    form: str  # what kind of record: "parameters", "node graph", "Software string"
    location: str
    structured: bool
    models: tuple[str, ...] = ()
    seeds: tuple[str, ...] = ()
    steps: tuple[int, ...] = ()
    version: str | None = None
    reference: str | None = None  # the service's own id for the job or request
    edit: str | None = None
    prompt: str | None = field(default=None, repr=False, compare=False)


Recogniser = Callable[[Sequence[MetadataField]], GeneratorRecord | None]


def recognise(fields: Sequence[MetadataField]) -> list[GeneratorRecord]:
    """Every tool record found among ``fields``, at most one per tool."""
    records = []
    for recogniser in RECOGNISERS:
        try:
            record = recogniser(fields)
        except Exception:  # noqa: BLE001 - hostile field values are no record, not a crash
            continue
        if record is not None:
            records.append(record)
    return records


# --- shared helpers -------------------------------------------------------------------


def _with_key(fields: Sequence[MetadataField], *keys: str) -> Iterator[MetadataField]:
    return (f for f in fields if f.key in keys)


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _seed(value: object) -> tuple[str, ...]:
    number = _int(value)
    return () if number is None else (str(number),)


def _steps(value: object) -> tuple[int, ...]:
    number = _int(value)
    return () if number is None else (number,)


def _name(value: object) -> tuple[str, ...]:
    return (value.strip(),) if isinstance(value, str) and value.strip() else ()


def _text(value: object) -> str | None:
    return value[:MAX_PROMPT_CHARS] if isinstance(value, str) and value.strip() else None


# --- AUTOMATIC1111 (and Forge, SD.Next, Fooocus's A1111 scheme) -----------------------

# The last line of the record: "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, ..."
_A1111_STEPS = re.compile(r"^Steps: \d+, ", re.MULTILINE)
_A1111_PAIR = re.compile(r'\s*([\w .()/+-]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
_A1111_MAX_SETTINGS = 65_536  # characters of the settings line read
_NEGATIVE = "Negative prompt:"


def automatic1111(fields: Sequence[MetadataField]) -> GeneratorRecord | None:
    for candidate in fields:
        if candidate.text.lstrip().startswith("{"):
            continue
        starts = [match.start() for match in _A1111_STEPS.finditer(candidate.text)]
        if not starts:
            continue
        params = _a1111_settings(candidate.text[starts[-1] : starts[-1] + _A1111_MAX_SETTINGS])
        if "Sampler" not in params and "Seed" not in params:
            continue
        version = params.get("Version") or None
        model = params.get("Model") or (
            f"hash {params['Model hash']}" if "Model hash" in params else ""
        )
        return GeneratorRecord(
            tool="Fooocus" if version and version.startswith("Fooocus") else "AUTOMATIC1111",
            form="parameters",
            location=candidate.location,
            structured=True,
            models=_name(model),
            seeds=_seed(params.get("Seed")),
            steps=_steps(params.get("Steps")),
            version=version,
            edit=_a1111_edit(params),
            prompt=_text(_a1111_prompt(candidate.text[: starts[-1]])),
        )
    return None


def _a1111_settings(line: str) -> dict[str, str]:
    # Pairs are matched one after another from the start, never searched for, so a
    # long run of text without a colon costs one pass, not one pass per position.
    settings: dict[str, str] = {}
    position = 0
    while position < len(line):
        pair = _A1111_PAIR.match(line, position)
        if pair and pair.end() > position:
            settings.setdefault(pair[1].strip(), pair[2].strip())
            position = pair.end()
        elif (comma := line.find(",", position)) >= 0:
            position = comma + 1  # an unreadable pair: go on with the next one
        else:
            break
    return settings


def _a1111_prompt(head: str) -> str:
    if head.startswith(_NEGATIVE):
        return ""
    return head.split("\n" + _NEGATIVE, 1)[0].strip()


def _a1111_edit(params: dict[str, str]) -> str | None:
    # txt2img writes "Denoising strength" only for its hires-fix second pass, together
    # with "Hires upscale"/"Hires steps"; without those, the pass started from an image.
    if "Mask blur" in params:
        return "inpainting ('Mask blur' recorded)"
    if "Denoising strength" in params and not any(k.startswith("Hires") for k in params):
        return f"img2img ('Denoising strength' {params['Denoising strength']}, no hires fix)"
    return None


# --- ComfyUI -----------------------------------------------------------------------------

Graph = dict[str, dict[str, Any]]
_SEED_INPUTS = ("seed", "noise_seed")
_MODEL_INPUTS = ("ckpt_name", "unet_name")


def comfyui(fields: Sequence[MetadataField]) -> GeneratorRecord | None:
    for candidate in _with_key(fields, "prompt"):
        graph = _api_graph(candidate.text)
        if graph:
            return _from_api_graph(graph, candidate)
    for candidate in _with_key(fields, "workflow"):
        workflow = _json_object(candidate.text)
        nodes = workflow.get("nodes") if workflow else None
        if isinstance(nodes, list) and any(isinstance(n, dict) and "type" in n for n in nodes):
            return _from_ui_workflow(nodes, candidate)
    return None


def _api_graph(text: str) -> Graph | None:
    """The executed graph: node id -> {"class_type": ..., "inputs": {...}}."""
    document = _json_object(text)
    if document is None:
        return None
    graph = {
        str(node_id): node
        for node_id, node in list(document.items())[:MAX_GRAPH_NODES]
        if isinstance(node, dict)
        and isinstance(node.get("class_type"), str)
        and isinstance(node.get("inputs"), dict)
    }
    return graph or None


def _node_order(node_id: str) -> tuple[int, int, str]:
    return (0, int(node_id), "") if node_id.isdigit() else (1, 0, node_id)


def _from_api_graph(graph: Graph, found: MetadataField) -> GeneratorRecord:
    models: list[str] = []
    seeds: list[str] = []
    steps: list[int] = []
    for node_id in sorted(graph, key=_node_order):
        inputs = graph[node_id]["inputs"]
        for name in _MODEL_INPUTS:
            models += [m for m in _name(inputs.get(name)) if m not in models]
        for name in _SEED_INPUTS:
            seeds += _seed(inputs.get(name))
        steps += _steps(inputs.get("steps"))
    positive = _positive_texts(graph)
    return GeneratorRecord(
        tool="ComfyUI",
        form="node graph",
        location=found.location,
        structured=True,
        models=tuple(models),
        seeds=tuple(seeds),
        steps=tuple(steps),
        edit=_comfyui_edit(graph),
        prompt=_text("\n".join(positive)) if positive else _text(found.text),
    )


_TEXT_INPUTS = ("text", "text_g", "text_l", "clip_l", "t5xxl", "string")


def _links(node: dict[str, Any], names: Sequence[str] | None = None) -> list[str]:
    """Ids of the nodes feeding ``node`` (a link input is ``[source id, output index]``)."""
    inputs: dict[str, Any] = node["inputs"]
    return [
        str(value[0])
        for name, value in inputs.items()
        if (names is None or name in names) and isinstance(value, list) and len(value) == 2
    ]


def _upstream(graph: Graph, start: list[str], stop: Callable[[str], bool]) -> Iterator[str]:
    """Node ids upstream of ``start`` (included); the walk does not go past ``stop`` nodes."""
    seen: set[str] = set()
    queue = [node_id for node_id in start if node_id in graph]
    while queue:
        node_id = queue.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        yield node_id
        if not stop(node_id):
            queue += [i for i in _links(graph[node_id]) if i in graph]


def _positive_texts(graph: Graph) -> list[str]:
    texts: list[str] = []
    positive = [source for node in graph.values() for source in _links(node, ["positive"])]
    for node_id in _upstream(graph, positive, lambda _: False):
        inputs = graph[node_id]["inputs"]
        for name in _TEXT_INPUTS:
            text = inputs.get(name)
            if isinstance(text, str) and text.strip() and text not in texts:
                texts.append(text)
    return texts


def _comfyui_edit(graph: Graph) -> str | None:
    # An edit: a sampler's latent comes (not through another sampler) from an encoder fed
    # by a loaded image, and the sampler keeps part of it (denoise below 1, a late start,
    # or an inpainting encoder that keeps the unmasked area).
    def is_sampler(node_id: str) -> bool:
        return bool(_links(graph[node_id], ["latent_image"]))

    def class_of(node_id: str) -> str:
        return str(graph[node_id]["class_type"])

    from_loaded_image = _downstream(
        graph, [n for n in graph if class_of(n).startswith("LoadImage")]
    )
    for sampler_id in list(filter(is_sampler, graph))[:MAX_SAMPLERS]:
        sampler = graph[sampler_id]["inputs"]
        latent_from = _links(graph[sampler_id], ["latent_image"])
        for encoder in _upstream(graph, latent_from, is_sampler):
            if not class_of(encoder).startswith("VAEEncode") or encoder not in from_loaded_image:
                continue
            denoise = _float(sampler.get("denoise"))
            start = _int(sampler.get("start_at_step"))
            path = f"LoadImage to {class_of(encoder)} to {class_of(sampler_id)}"
            if "Inpaint" in class_of(encoder):
                return f"inpainting ({path})"
            if denoise is not None and denoise < 1.0:
                return f"img2img ({path}, denoise {denoise:g})"
            if start is not None and start > 0:
                return f"img2img ({path}, starting at step {start})"
    return None


def _downstream(graph: Graph, start: list[str]) -> set[str]:
    """Every node fed, directly or not, by one of ``start`` (included)."""
    consumers: dict[str, list[str]] = {}
    for node_id, node in graph.items():
        for source in _links(node):
            consumers.setdefault(source, []).append(node_id)
    reached: set[str] = set()
    queue = list(start)
    while queue:
        node_id = queue.pop()
        if node_id not in reached:
            reached.add(node_id)
            queue += consumers.get(node_id, [])
    return reached


def _float(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _from_ui_workflow(nodes: list[Any], found: MetadataField) -> GeneratorRecord:
    # The editor's layout: widget values are positional, so only loader names are read.
    models: list[str] = []
    for node in nodes[:MAX_GRAPH_NODES]:
        kind = node.get("type") if isinstance(node, dict) else None
        widgets = node.get("widgets_values") if isinstance(node, dict) else None
        if isinstance(kind, str) and ("CheckpointLoader" in kind or "UNETLoader" in kind):
            names = [w for w in widgets or [] if isinstance(w, str) and w.strip()][:1]
            models += [m for m in names if m not in models]
    return GeneratorRecord(
        tool="ComfyUI",
        form="editor workflow",
        location=found.location,
        structured=True,
        models=tuple(models),
        prompt=_text(found.text),
    )


# --- InvokeAI ----------------------------------------------------------------------------

_EDIT_MODES = ("img2img", "inpaint", "outpaint", "canvas")
_DREAM = re.compile(r'^\s*"(?P<prompt>(?:[^"\\]|\\.)*)"(?P<options>.*)$', re.DOTALL)
_DREAM_STEPS = re.compile(r"(?:^|\s)(?:-s|--steps)[ =]?(\d+)")
_DREAM_SEED = re.compile(r"(?:^|\s)(?:-S|--seed)[ =]?(\d+)")
_DREAM_MODEL = re.compile(r"(?:^|\s)(?:-m|--model)[ =]?(\S+)")
_DREAM_INIT = re.compile(r"(?:^|\s)(?:-I|--init_img)[ =]?(\S+)")
_DREAM_MASK = re.compile(r"(?:^|\s)(?:-M|--init_mask)[ =]?\S+")


def invokeai(fields: Sequence[MetadataField]) -> GeneratorRecord | None:
    for candidate in _with_key(fields, "invokeai_metadata"):
        if (metadata := _json_object(candidate.text)) is not None:
            return _invokeai_metadata(metadata, candidate)
    for candidate in _with_key(fields, "sd-metadata"):
        document = _json_object(candidate.text)
        if document is not None and isinstance(document.get("image"), dict):
            return _sd_metadata(document, candidate)
    for candidate in _with_key(fields, "Dream"):
        if (match := _DREAM.match(candidate.text)) and _DREAM_STEPS.search(match["options"]):
            return _dream(match, candidate)
    return None


def _invokeai_metadata(metadata: dict[str, Any], found: MetadataField) -> GeneratorRecord:
    model = metadata.get("model")
    if isinstance(model, dict):  # 3.x writes model_name, 4.x name
        model = model.get("model_name") or model.get("name")
    mode = str(metadata.get("generation_mode", ""))
    return GeneratorRecord(
        tool="InvokeAI",
        form="invokeai_metadata",
        location=found.location,
        structured=True,
        models=_name(model),
        seeds=_seed(metadata.get("seed")),
        steps=_steps(metadata.get("steps")),
        version=_text(metadata.get("app_version")),
        edit=f"generation_mode {mode}" if any(m in mode for m in _EDIT_MODES) else None,
        prompt=_text(metadata.get("positive_prompt")),
    )


def _sd_metadata(document: dict[str, Any], found: MetadataField) -> GeneratorRecord:
    image: dict[str, Any] = document["image"]
    prompt = image.get("prompt")
    if isinstance(prompt, list):  # weighted sub-prompts: [{"prompt": ..., "weight": ...}]
        prompt = " ".join(str(p.get("prompt", "")) for p in prompt if isinstance(p, dict))
    kind = str(image.get("type", ""))
    return GeneratorRecord(
        tool="InvokeAI",
        form="sd-metadata",
        location=found.location,
        structured=True,
        models=_name(document.get("model_weights")),
        seeds=_seed(image.get("seed")),
        steps=_steps(image.get("steps")),
        version=_text(document.get("app_version")),
        edit=f"type {kind}" if any(m in kind for m in _EDIT_MODES) else None,
        prompt=_text(prompt),
    )


def _dream(match: re.Match[str], found: MetadataField) -> GeneratorRecord:
    options = match["options"]
    model, seed, steps = (p.search(options) for p in (_DREAM_MODEL, _DREAM_SEED, _DREAM_STEPS))
    edit = None
    if _DREAM_MASK.search(options):
        edit = "inpainting (init mask option)"
    elif _DREAM_INIT.search(options):
        edit = "img2img (init image option)"
    # The negative prompt is written inside the prompt, in [square brackets].
    positive = re.sub(r"\[[^\]]*\]", "", match["prompt"]).strip()
    return GeneratorRecord(
        tool="InvokeAI",
        form="Dream command line",
        location=found.location,
        structured=True,
        models=(model[1],) if model else (),
        seeds=(seed[1],) if seed else (),
        steps=(int(steps[1]),) if steps else (),
        edit=edit,
        prompt=_text(positive),
    )


# --- NovelAI, Fooocus, SwarmUI -----------------------------------------------------------


def novelai(fields: Sequence[MetadataField]) -> GeneratorRecord | None:
    software = next(
        (f for f in _with_key(fields, "Software") if f.text.strip().startswith("NovelAI")), None
    )
    if software is None:
        return None
    found = [software]
    settings: dict[str, Any] = {}
    for candidate in _with_key(fields, "Comment"):
        document = _json_object(candidate.text)
        if document and ("seed" in document or "steps" in document):
            found.append(candidate)
            settings = document
            break
    source = next(_with_key(fields, "Source"), None)
    description = next(_with_key(fields, "Description"), None)
    return GeneratorRecord(
        tool="NovelAI",
        form="generation record" if settings else "Software string",
        location=" and ".join(f.location for f in found),
        structured=bool(settings),
        models=_name(source.text) if source else (),
        seeds=_seed(settings.get("seed")),
        steps=_steps(settings.get("steps")),
        prompt=_text(description.text) if description else None,
    )


def fooocus(fields: Sequence[MetadataField]) -> GeneratorRecord | None:
    for candidate in _with_key(fields, "parameters", "Comment"):
        document = _json_object(candidate.text)
        if document is None:
            continue
        version = str(document.get("version", ""))
        if not version.startswith("Fooocus") and document.get("metadata_scheme") != "fooocus":
            continue
        return GeneratorRecord(
            tool="Fooocus",
            form="parameters",
            location=candidate.location,
            structured=True,
            models=_name(document.get("base_model")),
            seeds=_seed(document.get("seed")),
            steps=_steps(document.get("steps")),
            version=version or None,
            prompt=_text(document.get("prompt")),
        )
    return None


def swarmui(fields: Sequence[MetadataField]) -> GeneratorRecord | None:
    for candidate in fields:
        document = _json_object(candidate.text)
        if document is None:
            continue
        params = (
            document if candidate.key == "sui_image_params" else document.get("sui_image_params")
        )
        if not isinstance(params, dict):
            continue
        return GeneratorRecord(
            tool="SwarmUI",
            form="sui_image_params",
            location=candidate.location,
            structured=True,
            models=_name(params.get("model")),
            seeds=_seed(params.get("seed")),
            steps=_steps(params.get("steps")),
            version=_text(params.get("swarm_version")),
            prompt=_text(params.get("prompt")),
        )
    return None


# --- hosted services: Midjourney, DALL-E, Stability AI -----------------------------------

_JOB_ID = re.compile(r"Job ID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
_OPENAI_REQUEST = re.compile(r"OpenAI--req_[0-9A-Za-z]{1,64}")
_DALLE_CREDIT = re.compile(r"^Made with OpenAI DALL[-·]E")
_SOFTWARE_TOOLS = {"stability.ai": "Stability AI", "stability ai": "Stability AI"}


def midjourney(fields: Sequence[MetadataField]) -> GeneratorRecord | None:
    for candidate in _with_key(fields, "Description"):
        if job := _JOB_ID.search(candidate.text):
            return GeneratorRecord(
                tool="Midjourney",
                form="job record",
                location=candidate.location,
                structured=True,
                reference=f"Job ID {job[1]}",
                prompt=_text(candidate.text[: job.start()].strip()),
            )
    return None


def dalle(fields: Sequence[MetadataField]) -> GeneratorRecord | None:
    requests = [f for f in _with_key(fields, "MakerNote") if _OPENAI_REQUEST.match(f.text)]
    credits = [f for f in _with_key(fields, "Comment") if _DALLE_CREDIT.match(f.text)]
    if not requests and not credits:
        return None
    request = _OPENAI_REQUEST.match(requests[0].text) if requests else None
    return GeneratorRecord(
        tool="DALL-E",
        form="OpenAI tags",
        location=" and ".join(f.location for f in (*requests[:1], *credits[:1])),
        structured=True,
        reference=request[0] if request else "'Made with OpenAI DALL-E'",
    )


def software_string(fields: Sequence[MetadataField]) -> GeneratorRecord | None:
    for candidate in _with_key(fields, "Software"):
        lowered = candidate.text.lower()
        for marker, tool in _SOFTWARE_TOOLS.items():
            if marker in lowered:
                return GeneratorRecord(
                    tool=tool,
                    form="Software string",
                    location=candidate.location,
                    structured=False,
                    reference=candidate.text.strip(),
                )
    return None


RECOGNISERS: tuple[Recogniser, ...] = (
    automatic1111,
    comfyui,
    invokeai,
    novelai,
    fooocus,
    swarmui,
    midjourney,
    dalle,
    software_string,
)
