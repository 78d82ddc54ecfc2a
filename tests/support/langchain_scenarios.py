"""The scenarios replayed on the recorded LangChain traffic, one per recorded test (and a few more).

Each scenario rebuilds what the recording project's test ran (``SOURCES.md`` in
the recordings folder names them) with today's public APIs, pointed at the
replay server: ``run(server, config)`` makes one invocation and is called
``runs`` times (some cassettes hold several recorded runs of the same test).
``config`` carries the caller's callbacks (the run-tree recorder) and must be
passed to the top-level runnable.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.output_parsers.openai_functions import JsonOutputFunctionsParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder, PromptTemplate
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_function
from opentelemetry.sdk.trace import ReadableSpan
from pydantic import BaseModel, Field, ValidationError

from llmtrace import semconv
from llmtrace.testing import SpanCapture
from tests.support.langchain_helpers import attrs
from tests.support.langchain_replay import RECORDINGS, ReplayServer

API_KEY = "sk-test"
SOCKS = {"product": "colorful socks"}
SOCKS_TEMPLATE = "write 10 lines of random text about ${product}"
JOKE_INPUT = {"input": "Tell me a joke about OpenTelemetry"}


@dataclass(frozen=True)
class Scenario:
    name: str
    cassette: str  # relative to the recordings folder
    run: Callable[[ReplayServer, dict[str, Any]], Any]
    runs: int = 1
    cut_stream_after: int | None = None
    raises: type[BaseException] | None = None  # the user's exception the scenario ends with

    @property
    def path(self) -> Any:
        return RECORDINGS / self.cassette

    def __str__(self) -> str:
        return self.name


def chat_openai(server: ReplayServer, **kwargs: Any) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(api_key=API_KEY, base_url=server.openai_base_url, max_retries=0, **kwargs)


def openai_llm(server: ReplayServer, **kwargs: Any) -> Any:
    from langchain_openai import OpenAI

    return OpenAI(api_key=API_KEY, base_url=server.openai_base_url, max_retries=0, **kwargs)


def socks_chain(server: ReplayServer, **kwargs: Any) -> Any:
    model = chat_openai(server, model="gpt-4", temperature=0, **kwargs)
    return PromptTemplate.from_template(SOCKS_TEMPLATE) | model | StrOutputParser()


def joke_chain(model: Any) -> Any:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a helpful assistant "), ("human", "{input}")]
    )
    return prompt | model


# -- openllmetry: LCEL ------------------------------------------------------------------------


class Joke(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


def simple_lcel(server: ReplayServer, config: dict[str, Any]) -> Any:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are helpful assistant"), ("user", "{input}")]
    )
    model = chat_openai(server, model="gpt-3.5-turbo")
    chain = (
        prompt
        | model.bind(functions=[convert_to_openai_function(Joke)])
        | JsonOutputFunctionsParser()
    ).with_config({"run_name": "ThisIsATestChain", "tags": ["test_tag"]})
    result = chain.invoke({"input": "tell me a short joke"}, config=config)
    assert set(result) == {"setup", "punchline"}


async def async_lcel(server: ReplayServer, config: dict[str, Any]) -> Any:
    text = await socks_chain(server).ainvoke(SOCKS, config=config)
    assert text


def lcel_invoke(server: ReplayServer, config: dict[str, Any]) -> Any:
    assert socks_chain(server, streaming=True).invoke(SOCKS, config=config)


async def lcel_async_invoke(server: ReplayServer, config: dict[str, Any]) -> Any:
    assert await socks_chain(server, streaming=True).ainvoke(SOCKS, config=config)


def lcel_stream(server: ReplayServer, config: dict[str, Any]) -> Any:
    config = {**config, "configurable": {"session_id": 1234}}
    pieces = list(socks_chain(server).stream(SOCKS, config=config))
    assert len(pieces) > 100


def lcel_stream_closed_early(server: ReplayServer, config: dict[str, Any]) -> Any:
    """Three chunks taken, then ``close()`` (issue 21, point 2)."""
    stream = socks_chain(server).stream(SOCKS, config=config)
    taken = [next(stream) for _ in range(3)]
    stream.close()
    return taken


async def lcel_astream_closed_early(server: ReplayServer, config: dict[str, Any]) -> Any:
    stream = socks_chain(server).astream(SOCKS, config=config)
    taken = [await stream.__anext__() for _ in range(3)]
    await stream.aclose()
    return taken


def lcel_stream_cut(server: ReplayServer, config: dict[str, Any]) -> Any:
    """The server drops the connection mid-stream: the error reaches the caller."""
    for _ in socks_chain(server).stream(SOCKS, config=config):
        pass


# -- openllmetry: agents, chains, LangGraph -----------------------------------------------------


def agents(server: ReplayServer, config: dict[str, Any]) -> Any:
    from langchain_classic.agents import AgentExecutor, create_tool_calling_agent

    @tool("tavily_search_results_json")
    def search(query: str) -> Any:
        """A search engine optimized for comprehensive, accurate, and trusted results."""
        response = httpx.post(
            f"{server.base_url}/search", json={"query": query, "max_results": 2}, timeout=10
        )
        response.raise_for_status()
        return response.json()["results"]

    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "You are a helpful assistant"),
            MessagesPlaceholder("chat_history", optional=True),
            ("human", "{input}"),
            MessagesPlaceholder("agent_scratchpad"),
        ]
    )
    model = chat_openai(server, model="gpt-3.5-turbo")
    executor = AgentExecutor(
        agent=create_tool_calling_agent(model, [search], prompt), tools=[search]
    )
    assert "output" in executor.invoke({"input": "What is OpenLLMetry?"}, config=config)


def raw_dict_agent(server: ReplayServer, config: dict[str, Any]) -> Any:
    from langchain_classic.agents import AgentExecutor, create_tool_calling_agent

    @tool
    def get_weather(location: str) -> str:
        """Get the weather for a location."""
        return f"The weather in {location} is sunny."

    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "You are a helpful assistant."),
            ("placeholder", "{messages}"),
            ("placeholder", "{agent_scratchpad}"),
        ]
    )
    model = chat_openai(server, model="gpt-4o-mini", temperature=0)
    executor = AgentExecutor(
        agent=create_tool_calling_agent(model, [get_weather], prompt), tools=[get_weather]
    )
    raw = {"role": "user", "content": "What's the weather in London?"}
    assert executor.invoke({"messages": [raw]}, config=config)["output"]


def _sequential_chain(server: ReplayServer) -> Any:
    from langchain_classic.chains import LLMChain, SequentialChain

    llm = openai_llm(server, temperature=0.7)
    synopsis = PromptTemplate(
        input_variables=["title", "era"],
        template="You are a playwright. Title: {title}\nEra: {era}\nSynopsis:",
    )
    review = PromptTemplate(
        input_variables=["synopsis"],
        template="You are a play critic. Play Synopsis:\n{synopsis}\nReview:",
    )
    return SequentialChain(
        chains=[
            LLMChain(llm=llm, prompt=synopsis, output_key="synopsis", name="synopsis"),
            LLMChain(llm=llm, prompt=review, output_key="review"),
        ],
        input_variables=["era", "title"],
        output_variables=["synopsis", "review"],
    )


PLAY = {"title": "Tragedy at sunset on the beach", "era": "Victorian England"}


def sequential_chain(server: ReplayServer, config: dict[str, Any]) -> Any:
    assert _sequential_chain(server).invoke(PLAY, config=config)["review"]


async def asequential_chain(server: ReplayServer, config: dict[str, Any]) -> Any:
    assert (await _sequential_chain(server).ainvoke(PLAY, config=config))["review"]


def _graph(server: ReplayServer, client: Any) -> Any:
    from typing import TypedDict

    from langgraph.graph import StateGraph

    class State(TypedDict):
        request: str
        result: str

    def calculate(state: State) -> dict[str, Any]:
        completion = client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": "You are a mathematician."},
                {"role": "user", "content": state["request"]},
            ],
        )
        return {"result": completion.choices[0].message.content}

    workflow = StateGraph(State)
    workflow.add_node("calculate", calculate)
    workflow.set_entry_point("calculate")
    return workflow.compile()


def _openai_client(server: ReplayServer) -> Any:
    return openai.OpenAI(api_key=API_KEY, base_url=server.openai_base_url, max_retries=0)


def langgraph_invoke(server: ReplayServer, config: dict[str, Any]) -> Any:
    with _openai_client(server) as client:
        result = _graph(server, client).invoke({"request": "What's 5 + 5?"}, config=config)
    assert "10" in result["result"]


async def langgraph_ainvoke(server: ReplayServer, config: dict[str, Any]) -> Any:
    with _openai_client(server) as client:
        result = await _graph(server, client).ainvoke({"request": "What's 5 + 5?"}, config=config)
    assert "10" in result["result"]


# -- openllmetry: structured output, tool calls, a vLLM-style base_url ------------------------


class FoodAnalysis(BaseModel):
    name: str = Field(description="The name of the food item")
    healthy: bool = Field(description="Whether the food is good for you")
    calories: int = Field(description="Estimated calories per serving")
    taste_profile: list[str] = Field(description="List of taste characteristics")


def structured_output(server: ReplayServer, config: dict[str, Any]) -> Any:
    model = chat_openai(server, model="gpt-4o-mini", temperature=0)
    query = [HumanMessage(content="Analyze the following food item: avocado")]
    result = model.with_structured_output(FoodAnalysis).invoke(query, config=config)
    assert isinstance(result, FoodAnalysis)


class Calories(BaseModel):
    """Not what the recorded answer holds: the parser rejects it."""

    kilocalories_per_gram: float


def structured_output_rejected(server: ReplayServer, config: dict[str, Any]) -> Any:
    model = chat_openai(server, model="gpt-4o-mini", temperature=0)
    query = [HumanMessage(content="Analyze the following food item: avocado")]
    model.with_structured_output(Calories).invoke(query, config=config)


def get_weather(location: str) -> str:
    """Get the weather in a location."""
    return "sunny"


def get_news(location: str) -> str:
    """Get the news in a location."""
    return "Not much"


def parallel_tool_calls(server: ReplayServer, config: dict[str, Any]) -> Any:
    model = chat_openai(server, model="gpt-4.1-nano").bind_tools([get_weather, get_news])
    question = "Hey, what's the weather in San Francisco? Also, any news in town?"
    result = model.invoke([HumanMessage(content=question)], config=config)
    assert len(result.tool_calls) == 2


def tool_calls_with_history(server: ReplayServer, config: dict[str, Any]) -> Any:
    messages = [
        SystemMessage(content="Be crisp and friendly."),
        HumanMessage(content="Hey, what's the weather in San Francisco?"),
        AIMessage(
            content="",
            tool_calls=[
                {
                    "name": "get_weather",
                    "args": {"location": "San Francisco"},
                    "id": "tool_123",
                    "type": "tool_call",
                }
            ],
        ),
        ToolMessage(content="Sunny as always!", tool_call_id="tool_123"),
        HumanMessage(content="What's the weather in London?"),
    ]
    model = chat_openai(server, model="gpt-4.1-nano", temperature=0).bind_tools([get_weather])
    assert model.invoke(messages, config=config).tool_calls


def vllm_stream_chat(server: ReplayServer, config: dict[str, Any]) -> Any:
    model = chat_openai(server, model="facebook/opt-125m", max_tokens=20)
    assert len(list(joke_chain(model).stream(JOKE_INPUT, config=config))) > 1


async def vllm_async_chat(server: ReplayServer, config: dict[str, Any]) -> Any:
    model = chat_openai(server, model="facebook/opt-125m", max_tokens=20)
    assert (await joke_chain(model).ainvoke(JOKE_INPUT, config=config)).content


async def vllm_stream_async_completions(server: ReplayServer, config: dict[str, Any]) -> Any:
    model = openai_llm(server, model="facebook/opt-125m", max_tokens=20)
    assert len([c async for c in joke_chain(model).astream(JOKE_INPUT, config=config)]) > 1


# -- openinference ----------------------------------------------------------------------------


def streaming_token_counts(server: ReplayServer, config: dict[str, Any]) -> Any:
    model = chat_openai(server, model="gpt-3.5-turbo", streaming=True, stream_usage=True)
    assert model.invoke("Tell me a funny joke, a one-liner.", config=config).content


def _init_chat_model(server: ReplayServer) -> Any:
    from langchain.chat_models import init_chat_model

    return init_chat_model(
        "gpt-4o-mini",
        model_provider="openai",
        api_key=API_KEY,
        base_url=server.openai_base_url,
        max_retries=0,
    )


def init_chat_model_token_counts(server: ReplayServer, config: dict[str, Any]) -> Any:
    messages = [
        SystemMessage("Translate the following from English into Italian"),
        HumanMessage("hi!"),
    ]
    assert _init_chat_model(server).invoke(messages, config=config).content


def init_chat_model_tools(server: ReplayServer, config: dict[str, Any]) -> Any:
    @tool
    def add(a: int, b: int) -> int:
        """Adds a and b."""
        return a + b

    @tool
    def multiply(a: int, b: int) -> int:
        """Multiplies a and b."""
        return a * b

    model = _init_chat_model(server).bind_tools([add, multiply])
    result = model.invoke("What is 3 * 12? Also, what is 11 + 49?", config=config)
    assert [c["name"] for c in result.tool_calls] == ["multiply", "add"]


OL = "openllmetry/"
OI = "openinference/"
SCENARIOS = [
    Scenario("lcel_simple", OL + "test_lcel__test_simple_lcel.yaml", simple_lcel, runs=2),
    Scenario("lcel_async", OL + "test_lcel__test_async_lcel.yaml", async_lcel),
    Scenario("lcel_invoke_streaming", OL + "test_lcel__test_invoke.yaml", lcel_invoke, runs=2),
    Scenario("lcel_ainvoke_streaming", OL + "test_lcel__test_async_invoke.yaml", lcel_async_invoke),
    Scenario("lcel_stream", OL + "test_lcel__test_stream.yaml", lcel_stream),
    Scenario(
        "lcel_stream_closed_early", OL + "test_lcel__test_stream.yaml", lcel_stream_closed_early
    ),
    Scenario(
        "lcel_astream_closed_early", OL + "test_lcel__test_stream.yaml", lcel_astream_closed_early
    ),
    Scenario(
        "lcel_stream_cut",
        OL + "test_lcel__test_stream.yaml",
        lcel_stream_cut,
        cut_stream_after=20,
        raises=openai.APIConnectionError,
    ),
    Scenario("agent_executor_search", OL + "test_agents__test_agents.yaml", agents, runs=4),
    Scenario(
        "agent_executor_raw_dict",
        OI + "test_raw_dict_message__test_agent_with_raw_dict_messages.yaml",
        raw_dict_agent,
    ),
    Scenario(
        "sequential_chain",
        OL + "test_chains__test_sequential_chain.yaml",
        sequential_chain,
    ),
    Scenario(
        "asequential_chain",
        OL + "test_chains__test_asequential_chain.yaml",
        asequential_chain,
    ),
    Scenario(
        "langgraph_invoke", OL + "test_langgraph__test_langgraph_invoke.yaml", langgraph_invoke
    ),
    Scenario(
        "langgraph_ainvoke", OL + "test_langgraph__test_langgraph_ainvoke.yaml", langgraph_ainvoke
    ),
    Scenario(
        "structured_output",
        OL + "test_structured_output__test_structured_output.yaml",
        structured_output,
    ),
    Scenario(
        "structured_output_rejected",
        OL + "test_structured_output__test_structured_output.yaml",
        structured_output_rejected,
        raises=ValidationError,
    ),
    Scenario(
        "parallel_tool_calls",
        OL + "test_tool_calls__test_parallel_tool_calls.yaml",
        parallel_tool_calls,
    ),
    Scenario(
        "tool_calls_with_history",
        OL + "test_tool_calls__test_tool_calls_with_history.yaml",
        tool_calls_with_history,
    ),
    Scenario(
        "vllm_stream_chat",
        OL + "test_llms__test_trace_propagation_stream_ChatOpenAI.yaml",
        vllm_stream_chat,
    ),
    Scenario(
        "vllm_async_chat",
        OL + "test_llms__test_trace_propagation_async_ChatOpenAI.yaml",
        vllm_async_chat,
    ),
    Scenario(
        "vllm_stream_async_completions",
        OL + "test_llms__test_trace_propagation_stream_async_OpenAI.yaml",
        vllm_stream_async_completions,
    ),
    Scenario(
        "streaming_token_counts",
        OI + "test_instrumentor__test_records_token_counts_for_streaming_openai_llm.yaml",
        streaming_token_counts,
    ),
    Scenario(
        "init_chat_model_token_counts",
        OI + "test_instrumentor__test_token_counts.yaml",
        init_chat_model_token_counts,
    ),
    Scenario(
        "init_chat_model_tools",
        OI + "test_instrumentor__test_tool_call_with_function.yaml",
        init_chat_model_tools,
    ),
]

LLM_OPERATIONS = (semconv.OP_CHAT, semconv.OP_TEXT_COMPLETION)
# Streams closed early end their spans out of the usual order (see test_recorded_streams.py).
CLOSED_EARLY = {"lcel_stream_closed_early", "lcel_astream_closed_early"}


def run_scenario(scenario: Scenario, server: ReplayServer, run_tree: Any) -> list[Any]:
    """Run every recorded invocation; the user's own exceptions are returned, not raised."""
    outcomes: list[Any] = []
    for _ in range(scenario.runs):
        config: dict[str, Any] = {"callbacks": [run_tree]}
        try:
            result = scenario.run(server, config)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
            outcomes.append(result)
        except Exception as exc:
            if scenario.raises is None or not isinstance(exc, scenario.raises):
                raise
            outcomes.append(exc)
    return outcomes


def llm_spans(captured: SpanCapture) -> list[ReadableSpan]:
    return [
        s for s in captured.spans if attrs(s).get(semconv.GEN_AI_OPERATION_NAME) in LLM_OPERATIONS
    ]
