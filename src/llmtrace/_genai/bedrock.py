"""Bedrock model ids -> the name a Bedrock call is priced under, for every client.

    inv.price_model = price_name(model_id)   # boto3 bedrock-runtime, AnthropicBedrock, ...

genai-prices' ``aws`` provider matches inference-profile ids with their region
prefix (and prices ``global.`` and regional profiles differently), so the prefix
is kept and only an ARN's resource part is taken, in this one place::

    price_name("arn:aws:bedrock:us-east-1:1234:inference-profile/us.anthropic.claude-x")
    # -> "us.anthropic.claude-x"
"""

from __future__ import annotations

__all__ = ["price_name"]


def price_name(model_id: str | None) -> str | None:
    """The name genai-prices' ``aws`` provider prices a model id under.

    Always the requested id (an ARN's resource part), never the model a response
    names: "global." and regional profiles of the same model cost differently.
    """
    if not model_id or not model_id.startswith("arn:"):
        return model_id or None
    return model_id.rpartition("/")[2] or None
