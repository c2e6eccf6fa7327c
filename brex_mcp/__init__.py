"""brex-mcp: an MCP server for Brex, reached through Truto."""

__version__ = "0.1.0"
