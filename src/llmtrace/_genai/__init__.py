"""The GenAI core every integration uses: records, lifecycle, providers, usage, prices.

Importing the package gives the lifecycle its accounting hooks (budgets, pricing,
roll-ups, metrics); ``docs/architecture.md`` describes the layers.
"""

from . import accounting, lifecycle

lifecycle.use_hooks(accounting.HOOKS)
