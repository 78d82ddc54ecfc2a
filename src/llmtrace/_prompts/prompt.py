"""Prompts, their versions and A/B variants, linked to the LLM calls that use them.

    QA = llmtrace.Prompt("qa", [
        {"role": "system", "content": "Answer in {language}."},
        {"role": "user", "content": "{question}"},
    ])
    messages = QA.format(language="English", question=q)     # also links QA to what follows
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    # the chat span carries gen_ai.prompt.name="qa", gen_ai.prompt.version="<content hash>", ...

    with llmtrace.use_prompt(QA, language="English", question=q):   # an explicit scope
        chain.invoke({"question": q})

    prompt = llmtrace.choose_variant("qa", [QA, QA_SHORT], key=user_id)   # A/B, deterministic
    with llmtrace.model_version("support-ft-2025-06"):                    # self-hosted release
        ...

Every LLM span started (through ``LLMInvocation``) while a prompt is linked
gets ``gen_ai.prompt.name``, ``gen_ai.prompt.version``,
``llmtrace.prompt.template_hash``, ``llmtrace.prompt.variant`` and, with
content capture on, ``gen_ai.prompt.variable.<name>``.

How far a link reaches:

* ``with use_prompt(...)`` / ``with model_version(...)``: exactly the block,
  including functions it calls, asyncio tasks it creates and threads started
  through ``contextvars.copy_context()`` or ``llmtrace.ContextThreadPoolExecutor``.
  The innermost scope wins; on exit the previous state returns.
* ``prompt.format(...)`` and ``choose_variant(...)``: from the call on, in the
  same context (the rest of the function, functions it calls, the caller after
  it returns, tasks and copied-context threads started afterwards) *and the same
  trace*: an LLM call under a different trace (the next request served by the
  same thread, say) does not inherit it. Sibling tasks and threads started
  before the call never see it, because each runs in its own context copy. A
  later ``format()`` replaces the link. Called outside any span, the link holds
  for the rest of that context until replaced; use ``use_prompt`` there when
  precision matters. ``prompt.render(...)`` formats without linking.

For instrumentation helpers that meet templates as plain strings (the
LangChain handler sees ``PromptTemplate.template`` / chat message templates):
``prompt_span_attributes(name, template, variables, version=..., variant=...)``
returns the attribute dict for LLM spans beneath, and ``activate_prompt(...)``
is the same as a ``with`` scope. Neither parses the template (any template
syntax works) nor raises.

With ``init(prompt_interop=True)`` (``LLMTRACE_PROMPT_INTEROP=true``) the
prompt is also written under OpenInference ``llm.prompt_template.*`` and
Langfuse ``langfuse.observation.prompt.*`` keys; see ``docs/prompts.md``.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, TypeVar, cast

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from .. import semconv
from .._errors import LLMTraceError, internal_errors
from . import state as _prompt_state
from .state import Binding, prompt_attributes

__all__ = [
    "Prompt",
    "PromptError",
    "PromptTemplateError",
    "PromptVariableError",
    "activate_prompt",
    "choose_variant",
    "model_version",
    "prompt_attributes",
    "prompt_span_attributes",
    "template_hash",
    "use_prompt",
]

Template = str | Sequence[Mapping[str, Any]]
V = TypeVar("V")

_HASH_CHARS = 16
_VERSION_CHARS = 8
_formatter = string.Formatter()


class PromptError(LLMTraceError, ValueError):
    """A prompt cannot be built or formatted; the message names the prompt and the problem."""


class PromptTemplateError(PromptError):
    """The template itself is malformed (bad braces, positional fields, bad message shape)."""


class PromptVariableError(PromptError):
    """Variables passed to ``format()`` do not match the template's."""

    def __init__(self, message: str, missing: Sequence[str] = (), unknown: Sequence[str] = ()):
        super().__init__(message)
        self.missing = tuple(missing)
        self.unknown = tuple(unknown)


def template_hash(template: Template) -> str:
    """A short, stable hash of a template's content (str or chat messages)."""
    return hashlib.sha256(_canonical(template).encode("utf-8")).hexdigest()[:_HASH_CHARS]


def _canonical(template: Template) -> str:
    if isinstance(template, str):
        return template
    messages = [dict(message) for message in template]
    return json.dumps(
        messages, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


class Prompt:
    """An immutable, versioned prompt template: a ``str.format`` string or chat messages.

    ``version`` defaults to a hash of the template's content, so an edited
    template never keeps an old version. ``variables`` lists the names the
    template uses; ``format()`` requires exactly those.
    """

    __slots__ = (
        "_text",
        "_version_given",
        "name",
        "template",
        "template_hash",
        "variables",
        "variant",
        "version",
    )

    name: str
    template: str | tuple[Mapping[str, Any], ...]
    version: str
    variant: str | None
    template_hash: str
    variables: tuple[str, ...]
    _text: str
    _version_given: bool

    def __init__(
        self,
        name: str,
        template: Template,
        version: str | int | None = None,
        variant: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise PromptTemplateError(f"a prompt needs a non-empty name, got {name!r}")
        frozen = _freeze_template(name, template)
        digest = template_hash(frozen)
        if version is not None and (isinstance(version, bool) or str(version) == ""):
            raise PromptTemplateError(f"prompt {name!r}: version must be a non-empty str or int")
        if variant is not None and (not isinstance(variant, str) or not variant):
            raise PromptTemplateError(f"prompt {name!r}: variant must be a non-empty str")
        values = {
            "name": name,
            "template": frozen,
            "template_hash": digest,
            "version": str(version) if version is not None else digest[:_VERSION_CHARS],
            "variant": variant,
            "variables": _template_variables(name, frozen),
            "_text": _canonical(frozen),
            "_version_given": version is not None,
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Prompt is immutable; cannot set {key!r}")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Prompt is immutable; cannot delete {key!r}")

    def __reduce__(self) -> tuple[type[Prompt], tuple[Any, ...]]:
        template = self.template
        plain = template if isinstance(template, str) else [dict(m) for m in template]
        return (Prompt, (self.name, plain, self._given_version(), self.variant))

    def _given_version(self) -> str | None:
        return self.version if self._version_given else None

    def _identity(self) -> tuple[str, str, str, str | None]:
        return (self.name, self.version, self.template_hash, self.variant)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prompt) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        variant = f", variant={self.variant!r}" if self.variant else ""
        return (
            f"Prompt(name={self.name!r}, version={self.version!r}{variant}, "
            f"variables={self.variables!r})"
        )

    def with_variant(self, variant: str | None) -> Prompt:
        """The same prompt (same version and hash) labelled as an A/B variant."""
        return Prompt(self.name, self.template, self._given_version(), variant)

    def render(self, /, **variables: Any) -> str | list[dict[str, Any]]:
        """Format the template with exactly its variables, without linking it to LLM calls."""
        self._check(variables, require_all=True)
        try:
            if isinstance(self.template, str):
                return self.template.format(**variables)
            return [
                {**message, "content": message["content"].format(**variables)}
                for message in self.template
            ]
        except (KeyError, IndexError, AttributeError, TypeError, ValueError) as exc:
            raise PromptVariableError(f"prompt {self.name!r}: cannot format: {exc!r}") from exc

    def format(self, /, **variables: Any) -> str | list[dict[str, Any]]:
        """Format the template and link this prompt to the LLM calls that follow it.

        Returns a string for a string template and a new list of message dicts
        for a chat template. Missing or unknown variables raise
        ``PromptVariableError`` naming them. See the module docs for how far
        the link reaches.
        """
        result = self.render(**variables)
        with internal_errors:
            _prompt_state.link(self._bind(variables))
        return result

    def _check(self, given: Mapping[str, Any], *, require_all: bool) -> None:
        expected = self.variables
        unknown = sorted(set(given) - set(expected))
        missing = [n for n in expected if n not in given] if require_all else []
        if not unknown and not missing:
            return
        problems = []
        if missing:
            problems.append("missing variable(s) " + ", ".join(map(repr, missing)))
        if unknown:
            problems.append("unknown variable(s) " + ", ".join(map(repr, unknown)))
        wanted = ", ".join(expected) if expected else "none"
        raise PromptVariableError(
            f"prompt {self.name!r}: {'; '.join(problems)} (the template uses: {wanted})",
            missing,
            unknown,
        )

    def _bind(self, variables: Mapping[str, Any]) -> Binding:
        return Binding(
            self.name,
            self.version,
            self.template_hash,
            self.variant,
            self._text,
            dict(variables),
            self._version_given,
        )


def _freeze_template(name: str, template: object) -> str | tuple[Mapping[str, Any], ...]:
    if isinstance(template, str):
        return template
    if not isinstance(template, Sequence) or isinstance(template, (bytes, bytearray)):
        raise PromptTemplateError(
            f"prompt {name!r}: the template must be a str or a list of chat messages, "
            f"got {type(template).__name__}"
        )
    messages = []
    for index, message in enumerate(template):
        if (
            not isinstance(message, Mapping)
            or not isinstance(message.get("role"), str)
            or not isinstance(message.get("content"), str)
        ):
            raise PromptTemplateError(
                f"prompt {name!r}: message {index} must be a mapping with str 'role' and "
                f"'content', got {message!r:.200}"
            )
        messages.append(MappingProxyType(dict(message)))
    return tuple(messages)


def _template_variables(
    name: str, template: str | tuple[Mapping[str, Any], ...]
) -> tuple[str, ...]:
    texts = [template] if isinstance(template, str) else [m["content"] for m in template]
    found: dict[str, None] = {}
    for text in texts:
        _collect_fields(name, text, found, depth=0)
    return tuple(found)


def _collect_fields(name: str, text: str, found: dict[str, None], depth: int) -> None:
    try:
        parsed = list(_formatter.parse(text))
    except ValueError as exc:
        raise PromptTemplateError(f"prompt {name!r}: malformed template: {exc}") from None
    for _literal, field_name, spec, _conversion in parsed:
        if field_name is None:
            continue
        base = field_name.split(".", 1)[0].split("[", 1)[0]
        if not base.isidentifier():
            raise PromptTemplateError(
                f"prompt {name!r}: field {{{field_name}}} is positional or unnamed; "
                "templates take named variables only, e.g. {question}"
            )
        found.setdefault(base)
        if spec and depth < 2:
            _collect_fields(name, spec, found, depth + 1)


# -- public scopes ----------------------------------------------------------------------


@contextmanager
def use_prompt(prompt: Prompt, /, **variables: Any) -> Iterator[Prompt]:
    """Link ``prompt`` (and the given variable values) to every LLM call in the block.

    Variables may be a subset of the template's (for calls formatted
    elsewhere, e.g. by a framework); unknown names raise ``PromptVariableError``.
    """
    if not isinstance(prompt, Prompt):
        raise TypeError(f"use_prompt() takes an llmtrace.Prompt, got {type(prompt).__name__}")
    prompt._check(variables, require_all=False)
    with _prompt_state.scope(explicit=prompt._bind(variables)):
        yield prompt


@contextmanager
def model_version(version: str) -> Iterator[None]:
    """Write ``llmtrace.model.version`` on every LLM span in the block (wins over init's)."""
    if not isinstance(version, str) or not version:
        raise ValueError(f"model_version() takes a non-empty str, got {version!r}")
    with _prompt_state.scope(model_version=version):
        yield


def _external_binding(
    name: str,
    template: Template,
    variables: Mapping[str, Any] | None,
    version: str | int | None,
    variant: str | None,
) -> Binding:
    digest = template_hash(template)
    text = _canonical(template)
    given = version is not None and str(version) != ""
    label = str(version) if given else digest[:_VERSION_CHARS]
    return Binding(str(name), label, digest, variant, text, dict(variables or {}), given)


def prompt_span_attributes(
    name: str,
    template: Template,
    variables: Mapping[str, Any] | None = None,
    *,
    version: str | int | None = None,
    variant: str | None = None,
) -> dict[str, AttributeValue]:
    """Prompt attributes for LLM spans, from a template known only as plain strings.

    For instrumentations (e.g. a LangChain ``PromptTemplate`` seen in a
    chain): ``template`` is the template text or a list of ``{"role",
    "content"}`` messages, in any template syntax (it is hashed, not parsed).
    Honours content capture and interop settings like ``use_prompt``. Returns
    ``{}`` instead of raising.
    """
    with internal_errors:
        binding = _external_binding(name, template, variables, version, variant)
        return _prompt_state.binding_attributes(binding)
    return {}


@contextmanager
def activate_prompt(
    name: str,
    template: Template,
    variables: Mapping[str, Any] | None = None,
    *,
    version: str | int | None = None,
    variant: str | None = None,
) -> Iterator[None]:
    """``use_prompt`` for a template known only as plain strings (see prompt_span_attributes)."""
    binding = None
    with internal_errors:
        binding = _external_binding(name, template, variables, version, variant)
    if binding is None:
        yield
        return
    with _prompt_state.scope(explicit=binding):
        yield


# -- A/B variants -----------------------------------------------------------------------


def choose_variant(
    name: str,
    variants: Sequence[V] | Mapping[V, float],
    key: object,
    split: Sequence[float] | None = None,
) -> V:
    """Pick a variant for ``key`` (a user or session id): the same key always gets the same.

    ``variants`` is a sequence (equal weights unless ``split`` gives them) or a
    mapping variant -> weight. The choice is recorded on the current span as
    ``llmtrace.variant.<name>`` and on LLM spans that follow (same rules as
    ``format()``). Variants that are ``Prompt`` objects come back labelled
    with their variant (``prompt.variant`` or else its version); a plain label
    chosen under the same name as a prompt becomes that prompt's variant.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"choose_variant() needs a non-empty experiment name, got {name!r}")
    if key is None:
        raise ValueError(
            f"choose_variant({name!r}): key is None; pass a stable id (user, session, request)"
        )
    options, weights = _weighted(name, variants, split)
    choice = options[_pick(weights, _unit(name, key))]
    label = _label(choice)
    if isinstance(choice, Prompt) and choice.variant is None:
        choice = cast(V, choice.with_variant(label))
    with internal_errors:
        _record_variant(name, label)
    return choice


def _weighted(
    name: str, variants: Sequence[V] | Mapping[V, float], split: Sequence[float] | None
) -> tuple[list[V], list[float]]:
    if isinstance(variants, Mapping):
        if split is not None:
            raise ValueError(f"choose_variant({name!r}): give weights in the mapping or split")
        options, weights = list(variants.keys()), list(variants.values())
    elif isinstance(variants, Sequence) and not isinstance(variants, (str, bytes)):
        options = list(variants)
        weights = [1.0] * len(options) if split is None else list(split)
    else:
        raise TypeError(f"choose_variant({name!r}): variants must be a sequence or a mapping")
    if not options:
        raise ValueError(f"choose_variant({name!r}): no variants given")
    if len(weights) != len(options):
        raise ValueError(
            f"choose_variant({name!r}): {len(options)} variants but {len(weights)} weights"
        )
    checked = []
    for weight in weights:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise ValueError(f"choose_variant({name!r}): weights must be numbers >= 0")
        checked.append(float(weight))
    total = sum(checked)
    if not 0 < total < float("inf"):
        raise ValueError(f"choose_variant({name!r}): weights must add up to a positive number")
    return options, [w / total for w in checked]


def _unit(name: str, key: object) -> float:
    """A stable, uniform number in [0, 1) for (experiment, key): sha256, not hash()."""
    digest = hashlib.sha256(f"{name}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _pick(weights: Sequence[float], point: float) -> int:
    cumulative = 0.0
    last = 0
    for index, weight in enumerate(weights):
        if weight <= 0:
            continue
        cumulative += weight
        last = index
        if point < cumulative:
            return index
    return last  # float rounding left the point just above the final bound


def _label(choice: object) -> str:
    if isinstance(choice, Prompt):
        return choice.variant or choice.version
    return str(choice)


def _record_variant(name: str, label: str) -> None:
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attribute(semconv.LLMTRACE_VARIANT_PREFIX + name, label)
    _prompt_state.link_variant(name, label, current.get_span_context().trace_id)
