"""Policy files: YAML with positions, ``PolicyBook``, ``check``, ``lock``, report formats."""
