"""Every span and metric attribute key llmtrace writes, in one place.

GenAI keys are the OpenTelemetry GenAI semantic conventions' names (the values
below are pinned against ``opentelemetry-semantic-conventions`` by
``tests/test_semconv.py``; they are spelled out here so that ``import llmtrace``
does not pay for importing the incubating conventions module). Keys that the
conventions do not define yet live under ``llmtrace.*``, except where an open
convention proposal already names them (noted inline).

Use the constants, never string literals, anywhere else in the code.
"""

from __future__ import annotations

from typing import Final

# --- GenAI: operation and provider --------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"

# --- GenAI: request -----------------------------------------------------------------------
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
GEN_AI_REQUEST_REASONING_LEVEL: Final = "gen_ai.request.reasoning.level"
GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID: Final = "gen_ai.request.previous_response.id"

# --- GenAI: response ----------------------------------------------------------------------
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"

# --- GenAI: usage -------------------------------------------------------------------------
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
# The name before semantic-conventions-genai renamed it (#440); written only in addition to
# the current one, with OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai/dup (``llmtrace._semconv_compat``).
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_USAGE_AUDIO_INPUT_TOKENS: Final = "gen_ai.usage.audio.input_tokens"
GEN_AI_USAGE_AUDIO_OUTPUT_TOKENS: Final = "gen_ai.usage.audio.output_tokens"
# Open proposal in the GenAI conventions (cost attributes); not yet in the package.
GEN_AI_USAGE_COST_AMOUNT: Final = "gen_ai.usage.cost.amount"
GEN_AI_USAGE_COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
GEN_AI_USAGE_COST_SOURCE: Final = "gen_ai.usage.cost.source"

# --- GenAI: content (only with content capture on) ----------------------------------------
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"

# --- GenAI: agents, tools, workflows, retrieval -------------------------------------------
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
GEN_AI_RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"
GEN_AI_RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"

# --- GenAI: prompts -----------------------------------------------------------------------
GEN_AI_PROMPT_NAME: Final = "gen_ai.prompt.name"
# Not in the conventions package yet; named as the prompt proposal names them.
GEN_AI_PROMPT_VERSION: Final = "gen_ai.prompt.version"
GEN_AI_PROMPT_VARIABLE_PREFIX: Final = "gen_ai.prompt.variable."

# --- GenAI: evaluation --------------------------------------------------------------------
GEN_AI_EVALUATION_RESULT_EVENT: Final = "gen_ai.evaluation.result"
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

# --- OpenAI-specific ----------------------------------------------------------------------
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_API_TYPE: Final = "openai.api.type"
OPENAI_API_CHAT_COMPLETIONS: Final = "chat_completions"
OPENAI_API_RESPONSES: Final = "responses"

# --- AWS Bedrock (the conventions' aws.* keys) --------------------------------------------
AWS_REQUEST_ID: Final = "aws.request_id"
AWS_BEDROCK_GUARDRAIL_ID: Final = "aws.bedrock.guardrail.id"

# --- General conventions ------------------------------------------------------------------
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
SESSION_ID: Final = "session.id"
USER_ID: Final = "user.id"
SERVICE_NAME: Final = "service.name"

# --- MCP (the Model Context Protocol conventions, gen-ai/mcp.md) ---------------------------
MCP_METHOD_NAME: Final = "mcp.method.name"
MCP_SESSION_ID: Final = "mcp.session.id"
MCP_PROTOCOL_VERSION: Final = "mcp.protocol.version"
JSONRPC_REQUEST_ID: Final = "jsonrpc.request.id"
RPC_RESPONSE_STATUS_CODE: Final = "rpc.response.status_code"
NETWORK_TRANSPORT: Final = "network.transport"
NETWORK_PROTOCOL_NAME: Final = "network.protocol.name"
CLIENT_ADDRESS: Final = "client.address"
CLIENT_PORT: Final = "client.port"
MCP_TOOLS_CALL: Final = "tools/call"
MCP_ERROR_TOOL: Final = "tool_error"
NETWORK_TRANSPORT_PIPE: Final = "pipe"
NETWORK_TRANSPORT_TCP: Final = "tcp"

# --- GenAI: well-known values -------------------------------------------------------------
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EMBEDDINGS: Final = "embeddings"
OP_RETRIEVAL: Final = "retrieval"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CREATE_AGENT: Final = "create_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"

PROVIDER_OPENAI: Final = "openai"
PROVIDER_AZURE_OPENAI: Final = "azure.ai.openai"

# --- llmtrace's own -----------------------------------------------------------------------
LLMTRACE_SPAN_KIND: Final = "llmtrace.span.kind"
LLMTRACE_INPUT: Final = "llmtrace.input"
LLMTRACE_OUTPUT: Final = "llmtrace.output"
LLMTRACE_TAGS: Final = "llmtrace.tags"
LLMTRACE_METADATA_PREFIX: Final = "llmtrace.metadata."
LLMTRACE_CODE_FUNCTION: Final = "code.function.name"

LLMTRACE_USAGE_ESTIMATED: Final = "llmtrace.usage.estimated"
LLMTRACE_COST_INPUT: Final = "llmtrace.cost.input"
LLMTRACE_COST_OUTPUT: Final = "llmtrace.cost.output"
LLMTRACE_COST_PRICE_SOURCE: Final = "llmtrace.cost.price_source"
LLMTRACE_COST_UNKNOWN_MODEL: Final = "llmtrace.cost.unknown_model"
# True when the call went to a host that is not the model's vendor (a gateway, a proxy)
# and was priced as that vendor's closed-weight model.
LLMTRACE_COST_INFERRED: Final = "llmtrace.cost.inferred"
# Roll-ups written on parent spans (workflows, chains) over the LLM calls beneath them.
LLMTRACE_COST_TOTAL: Final = "llmtrace.cost.total"
LLMTRACE_USAGE_TOTAL_INPUT_TOKENS: Final = "llmtrace.usage.total_input_tokens"
LLMTRACE_USAGE_TOTAL_OUTPUT_TOKENS: Final = "llmtrace.usage.total_output_tokens"
LLMTRACE_LLM_CALL_COUNT: Final = "llmtrace.llm_calls"

LLMTRACE_STREAM_CHUNKS: Final = "llmtrace.stream.chunks"
# Names of the tools the model asked to call (content-free; arguments only in output messages).
LLMTRACE_RESPONSE_TOOL_CALLS: Final = "llmtrace.response.tool_calls"
LLMTRACE_STREAM_ABANDONED: Final = "llmtrace.stream.abandoned"

LLMTRACE_PROMPT_TEMPLATE_HASH: Final = "llmtrace.prompt.template_hash"
LLMTRACE_PROMPT_VARIANT: Final = "llmtrace.prompt.variant"
LLMTRACE_VARIANT_PREFIX: Final = "llmtrace.variant."
LLMTRACE_MODEL_VERSION: Final = "llmtrace.model.version"
LLMTRACE_EVALUATION_SOURCE: Final = "llmtrace.evaluation.source"
LLMTRACE_EVALUATION_TARGET: Final = "llmtrace.evaluation.target_span_id"
# Evaluation runs (``llmtrace.evaluate``): on each case's root span.
LLMTRACE_EVAL_NAME: Final = "llmtrace.eval.name"
LLMTRACE_EVAL_RUN_ID: Final = "llmtrace.eval.run_id"
LLMTRACE_EVAL_CASE_ID: Final = "llmtrace.eval.case_id"
LLMTRACE_EVAL_VARIANT: Final = "llmtrace.eval.variant"
LLMTRACE_EVAL_DATASET_HASH: Final = "llmtrace.eval.dataset_hash"
LLMTRACE_EVAL_SEED: Final = "llmtrace.eval.seed"

# --- Prompt interop: other backends' keys, written only with init(prompt_interop=True) ----
OPENINFERENCE_PROMPT_TEMPLATE: Final = "llm.prompt_template.template"
OPENINFERENCE_PROMPT_TEMPLATE_VERSION: Final = "llm.prompt_template.version"
OPENINFERENCE_PROMPT_TEMPLATE_VARIABLES: Final = "llm.prompt_template.variables"
# OpenInference span kind and input/output (Arize Phoenix reads these), also with interop on.
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
OPENINFERENCE_INPUT_VALUE: Final = "input.value"
OPENINFERENCE_INPUT_MIME_TYPE: Final = "input.mime_type"
OPENINFERENCE_OUTPUT_VALUE: Final = "output.value"
OPENINFERENCE_OUTPUT_MIME_TYPE: Final = "output.mime_type"
LANGFUSE_PROMPT_NAME: Final = "langfuse.observation.prompt.name"
LANGFUSE_PROMPT_VERSION: Final = "langfuse.observation.prompt.version"

LLMTRACE_LANGCHAIN_RUN_ID: Final = "llmtrace.langchain.run_id"
LLMTRACE_LANGCHAIN_RUN_TYPE: Final = "llmtrace.langchain.run_type"
LLMTRACE_LANGCHAIN_TAGS: Final = "llmtrace.langchain.tags"
LLMTRACE_LANGCHAIN_METADATA_PREFIX: Final = "llmtrace.langchain.metadata."
LLMTRACE_LANGCHAIN_RUN_NAME: Final = "llmtrace.langchain.run_name"
# Set on a run's span when llmtrace ended it because LangChain never did (run state released).
LLMTRACE_LANGCHAIN_UNFINISHED: Final = "llmtrace.langchain.unfinished"
LLMTRACE_LANGCHAIN_AGENT_ACTION_EVENT: Final = "llmtrace.langchain.agent_action"
LLMTRACE_LANGCHAIN_AGENT_FINISH_EVENT: Final = "llmtrace.langchain.agent_finish"
LLMTRACE_LANGCHAIN_RETRY_EVENT: Final = "llmtrace.langchain.retry"
LLMTRACE_LANGCHAIN_RETRY_ATTEMPT: Final = "llmtrace.langchain.retry.attempt"
LLMTRACE_RETRIEVAL_DOCUMENT_COUNT: Final = "llmtrace.retrieval.document_count"
# LiteLLM: the provider name LiteLLM resolved; the Router span around its attempts.
LLMTRACE_LITELLM_PROVIDER: Final = "llmtrace.litellm.provider"
LLMTRACE_LITELLM_MODEL_GROUP: Final = "llmtrace.litellm.model_group"
LLMTRACE_LITELLM_ROUTER_SPAN: Final = "litellm.router"

# --- OpenAI Agents SDK (llmtrace.instrumentation.openai_agents) ---------------------------
# The conventions' guardrail result event (docs/gen-ai/gen-ai-guardrails.md).
GEN_AI_GUARDRAIL_RESULT_EVENT: Final = "gen_ai.guardrail.result"
GEN_AI_GUARDRAIL_COMPONENT_NAME: Final = "gen_ai.guardrail.component.name"
GEN_AI_GUARDRAIL_SOURCE: Final = "gen_ai.guardrail.source"
GEN_AI_GUARDRAIL_RESULT_TYPE: Final = "gen_ai.guardrail.result.type"
GEN_AI_GUARDRAIL_RESULT_VALUE: Final = "gen_ai.guardrail.result.value"
# A handoff between agents: an event on the handing-off agent's span (no convention yet).
LLMTRACE_AGENT_HANDOFF_EVENT: Final = "llmtrace.agent.handoff"
LLMTRACE_HANDOFF_FROM_AGENT: Final = "llmtrace.handoff.from_agent"
LLMTRACE_HANDOFF_TO_AGENT: Final = "llmtrace.handoff.to_agent"
LLMTRACE_OPENAI_AGENTS_TRACE_ID: Final = "llmtrace.openai_agents.trace_id"

# --- Metrics ------------------------------------------------------------------------------
# semantic-conventions-genai (docs/semconv.md says which version): inference and embeddings
# durations, time to first chunk, per-operation token histograms, token usage counters.
METRIC_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
METRIC_EMBEDDINGS_DURATION: Final = "gen_ai.client.embeddings.duration"
METRIC_INFERENCE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.inference.time_to_first_chunk"
METRIC_INFERENCE_INPUT_TOKENS: Final = "gen_ai.client.inference.operation.input_tokens"
METRIC_INFERENCE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.operation.output_tokens"
METRIC_EMBEDDINGS_INPUT_TOKENS: Final = "gen_ai.client.embeddings.operation.input_tokens"
METRIC_USAGE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
METRIC_USAGE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"
METRIC_USAGE_CACHE_READ_INPUT_TOKENS: Final = (
    "gen_ai.client.inference.usage.cache_read.input_tokens"
)
METRIC_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = (
    "gen_ai.client.inference.usage.cache_write.input_tokens"
)
METRIC_USAGE_REASONING_OUTPUT_TOKENS: Final = (
    "gen_ai.client.inference.usage.reasoning.output_tokens"
)
GEN_AI_TOKEN_MODALITY: Final = "gen_ai.token.modality"
# The previous names (open-telemetry/semantic-conventions 1.44.0, as in the
# opentelemetry-semantic-conventions package); recorded only in addition to the current ones,
# with OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai/dup (``llmtrace._semconv_compat``).
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
METRIC_COST: Final = "llmtrace.client.cost"
# Budgets (llmtrace.budget): went over their limit; calls refused with BudgetExceeded.
METRIC_BUDGET_EXCEEDED: Final = "llmtrace.budget.exceeded"
METRIC_BUDGET_REJECTED_CALLS: Final = "llmtrace.budget.rejected_calls"
LLMTRACE_BUDGET_NAME: Final = "llmtrace.budget.name"
