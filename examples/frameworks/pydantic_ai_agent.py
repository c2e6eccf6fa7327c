"""A pydantic-ai agent that uses brex-mcp over stdio.

Run: python examples/frameworks/pydantic_ai_agent.py /path/to/.venv/bin/brex-mcp --sandbox
(in an environment with `pip install 'pydantic-ai-slim[mcp]'`). With a real model, replace `scripted_model`
with e.g. "anthropic:claude-sonnet-4-5"; the scripted model stands in so this runs without an API key.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from fastmcp.client import Client
from fastmcp.client.transports import StdioTransport
from pydantic_ai import Agent
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel


def scripted_model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """First ask brex-mcp for two users, then answer with what the tool returned."""
    returns = [p for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart)]
    if not returns:
        assert "list_users" in {tool.name for tool in info.function_tools}
        return ModelResponse(parts=[ToolCallPart("list_users", {"limit": 2})])
    content = returns[-1].content
    users = content["users"] if isinstance(content, dict) else json.loads(content)["users"]
    return ModelResponse(parts=[TextPart("Users: " + ", ".join(user["name"] for user in users))])


async def main(command: str, *args: str) -> str:
    transport = StdioTransport(command=command, args=list(args), env=dict(os.environ))
    agent = Agent(FunctionModel(scripted_model), toolsets=[MCPToolset(Client(transport))])
    result = await agent.run("Who are two people in our Brex account?")
    return result.output


if __name__ == "__main__":
    print(asyncio.run(main(*sys.argv[1:])))
