"""A Rich renderable as one self-contained HTML page: what the terminal shows, in colour.

Rich escapes every character of text; the console here also reads no markup, so a deal
owner named ``[link=javascript:...]`` stays text instead of becoming a link.
"""

from __future__ import annotations

import html
import io

from rich.console import Console, RenderableType

from funnelcli.render.console import Printable
from funnelcli.render.neutralise import printable

PAGE_WIDTH = 100
"""Characters per line of the page, whatever the terminal's width."""

_PAGE = """\
<!DOCTYPE html>
<html>
<head>
<meta charset="UTF-8">
<meta name="generator" content="funnelcli">
<title>{title}</title>
<style>
{{stylesheet}}
body {{{{
    color: {{foreground}};
    background-color: {{background}};
}}}}
</style>
</head>
<body>
    <pre style="font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace"><code style="font-family:inherit">{{code}}</code></pre>
</body>
</html>
"""


def to_html(renderable: RenderableType, title: str) -> str:
    """The page for ``renderable``, with inline styles and no external assets."""
    console = Console(
        record=True,
        width=PAGE_WIDTH,
        file=io.StringIO(),
        color_system="truecolor",
        no_color=False,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
    )
    console.print(Printable(renderable))
    # Rich fills the page in with str.format: braces in the title must be doubled.
    safe_title = html.escape(printable(title)).replace("{", "{{").replace("}", "}}")
    return console.export_html(inline_styles=True, code_format=_PAGE.format(title=safe_title))
