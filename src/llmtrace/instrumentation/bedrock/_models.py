"""Bedrock model ids: the model family of an InvokeModel body (pure).

    family("us.meta.llama3-1-8b-instruct-v1:0", body)    # -> META

A model id that names no known vendor (an application inference profile, a
provisioned-throughput ARN, an imported model) is told by its request body's keys.
"""

from __future__ import annotations

from typing import Any

Server = tuple[str | None, int | None]

ANTHROPIC = "anthropic"
NOVA = "nova"  # Amazon Nova: the Converse message format in the body
TITAN = "titan"
TITAN_EMBED = "titan_embed"
META = "meta"
COHERE = "cohere"  # Cohere Command (legacy text generation)
COHERE_CHAT = "cohere_chat"  # Cohere Command R / R+
COHERE_EMBED = "cohere_embed"
UNKNOWN = "unknown"

# Geographic and global cross-region inference profile prefixes.
_REGION_PREFIXES = frozenset({"us", "eu", "apac", "au", "ca", "jp", "in", "us-gov", "global"})
# (prefix of the model id without its region prefix, family), first match wins.
_BY_ID: tuple[tuple[str, str], ...] = (
    ("anthropic.", ANTHROPIC),
    ("amazon.nova", NOVA),
    ("amazon.titan-embed", TITAN_EMBED),
    ("amazon.titan-text", TITAN),
    ("amazon.titan-tg1", TITAN),
    ("meta.", META),
    ("cohere.command-r", COHERE_CHAT),
    ("cohere.command", COHERE),
    ("cohere.embed", COHERE_EMBED),
)


def _bare(model_id: str) -> str:
    """The model id without an ARN and without a region prefix ("us.", "global.", ...)."""
    name = model_id.rpartition("/")[2].lower()
    prefix, dot, rest = name.partition(".")
    return rest if dot and prefix in _REGION_PREFIXES else name


def family(model_id: str | None, body: Any) -> str:
    """Which InvokeModel body format a call uses: by model id, else by the body's keys."""
    if model_id:
        bare = _bare(model_id)
        for prefix, found in _BY_ID:
            if bare.startswith(prefix):
                return found
    if not isinstance(body, dict):
        return UNKNOWN
    if "anthropic_version" in body:
        return ANTHROPIC
    if body.get("schemaVersion") == "messages-v1" or (
        "messages" in body and "inferenceConfig" in body
    ):
        return NOVA
    if "textGenerationConfig" in body:
        return TITAN
    if "max_gen_len" in body:
        return META
    if isinstance(body.get("message"), str):
        return COHERE_CHAT
    if "texts" in body:
        return COHERE_EMBED
    return UNKNOWN
