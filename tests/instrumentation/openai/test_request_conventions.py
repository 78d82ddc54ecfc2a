"""Request attributes as the GenAI conventions define them, for what the recordings lack."""

from __future__ import annotations

from tests.support import openai_bodies as bodies
from tests.support.openai_server import json_response, make_client, sse_response

MESSAGES = [{"role": "user", "content": "Hi"}]


def test_chat_reasoning_effort_and_api_type(captured):
    client, _ = make_client(json_response(bodies.chat()))
    client.chat.completions.create(model="o4-mini", messages=MESSAGES, reasoning_effort="low")
    attrs = captured.find("chat o4-mini").attributes
    assert attrs["gen_ai.request.reasoning.level"] == "low"
    assert attrs["openai.api.type"] == "chat_completions"


def test_responses_reasoning_effort_and_api_type(captured):
    client, _ = make_client(json_response(bodies.response()))
    client.responses.create(model="o4-mini", input="Hi", reasoning={"effort": "high"})
    attrs = captured.find("chat o4-mini").attributes
    assert attrs["gen_ai.request.reasoning.level"] == "high"
    assert attrs["openai.api.type"] == "responses"


def test_responses_previous_response_id(captured):
    client, _ = make_client(json_response(bodies.response()))
    client.responses.create(model="gpt-4o", input="And then?", previous_response_id="resp_123")
    attrs = captured.find("chat gpt-4o").attributes
    assert attrs["gen_ai.request.previous_response.id"] == "resp_123"


def test_extra_body_fields_are_read_like_the_body(captured):
    client, recorder = make_client(json_response(bodies.chat()))
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        extra_body={"service_tier": "flex", "n": 2, "temperature": 0.5},
    )
    assert recorder.bodies[0]["service_tier"] == "flex"  # the SDK merged it in
    attrs = captured.find("chat gpt-4o-mini").attributes
    assert attrs["openai.request.service_tier"] == "flex"
    assert attrs["gen_ai.request.choice.count"] == 2
    assert attrs["gen_ai.request.temperature"] == 0.5


def test_defaults_are_not_written(captured):
    client, _ = make_client(json_response(bodies.chat()))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, n=1, stream=False)
    attrs = captured.find("chat gpt-4o-mini").attributes
    assert "gen_ai.request.choice.count" not in attrs  # only when != 1
    assert "gen_ai.request.stream" not in attrs  # if and only if streaming


def test_stream_true_is_written(captured):
    client, _ = make_client(sse_response(bodies.sse(bodies.chat_stream())))
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
        pass
    assert captured.find("chat gpt-4o-mini").attributes["gen_ai.request.stream"] is True
