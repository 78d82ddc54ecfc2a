"""LangChain's own run tree, recorded by a plain callback handler (independent of llmtrace)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

HIDDEN_TAG = "langsmith:hidden"


@dataclass
class RecordedRun:
    run_id: UUID
    parent_id: UUID | None
    kind: str
    hidden: bool


class RunTree(BaseCallbackHandler):
    """LangChain's own run tree, as its callbacks report it (independent of llmtrace)."""

    run_inline = True

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[UUID, RecordedRun] = {}
        self.new_tokens = 0

    def _add(self, kind: str, run_id: UUID, parent_run_id: UUID | None, tags: Any) -> None:
        hidden = HIDDEN_TAG in (tags or [])
        self.runs[run_id] = RecordedRun(run_id, parent_run_id, kind, hidden)

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self._add("chain", run_id, kw.get("parent_run_id"), kw.get("tags"))

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, **kw: Any
    ) -> None:
        self._add("llm", run_id, kw.get("parent_run_id"), kw.get("tags"))

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID, **kw: Any) -> None:
        self._add("llm", run_id, kw.get("parent_run_id"), kw.get("tags"))

    def on_tool_start(self, serialized: Any, input_str: Any, *, run_id: UUID, **kw: Any) -> None:
        self._add("tool", run_id, kw.get("parent_run_id"), kw.get("tags"))

    def on_retriever_start(self, serialized: Any, query: Any, *, run_id: UUID, **kw: Any) -> None:
        self._add("retriever", run_id, kw.get("parent_run_id"), kw.get("tags"))

    def on_llm_new_token(self, token: Any, **kw: Any) -> None:
        self.new_tokens += 1

    def traced_ancestor(self, run_id: UUID) -> UUID | None:
        """The nearest ancestor that llmtrace gives a span (hidden plumbing runs get none)."""
        parent = self.runs[run_id].parent_id
        while parent is not None and self.runs[parent].hidden:
            parent = self.runs[parent].parent_id
        return parent

    def traced_runs(self) -> set[UUID]:
        return {r.run_id for r in self.runs.values() if not r.hidden}
