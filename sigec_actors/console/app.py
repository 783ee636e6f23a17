"""The operator console TUI: a thin textual shell over tree.py and the REST client."""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from datetime import datetime

from msgspec.structs import replace
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, Input, Static, Tree
from textual.widgets.tree import TreeNode

from sigec_actors.console import tree as t
from sigec_actors.console.client import ApiProblem, ConsoleClient, ConsoleError
from sigec_actors.console.screens import MODAL_CSS, CommandScreen, ConfirmScreen

CSS = """
#filter { margin: 0 1; }
#main { height: 1fr; }
#tree { width: 3fr; border: round $primary; }
#detail-box { width: 2fr; border: round $secondary; padding: 0 1; }
#statusbar { height: 1; background: $panel; padding: 0 1; }
#message { width: 1fr; }
#conn { width: auto; color: $text-muted; }
"""


class ConsoleApp(App[int]):
    """Live actor tree, actor details, filter, and confirmed operator actions."""

    TITLE = "SIGEC-VE console"
    CSS = CSS + MODAL_CSS
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "restart", "Restart"),
        Binding("s", "stop", "Stop"),
        Binding("c", "command", "Command"),
        Binding("g,f5", "refresh", "Refresh"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "focus_tree", "Tree", show=False),
    ]

    def __init__(self, client: ConsoleClient, *, refresh_s: float = 1.0,
                 text_filter: str = "", max_children: int = 200) -> None:
        super().__init__()
        self.client = client
        self.refresh_s = refresh_s
        self.max_children = max_children  # a tree of 10,000 stations is read through the filter
        self.sub_title = client.base_url
        self._filter = text_filter
        self._root: t.ActorNode | None = None
        self._shown: tuple[str, ...] = ()
        self._selected: str | None = None
        self._collapsed: set[str] = set()
        self._refreshing = False
        self._fetched: t.ActorNode | None = None  # detail (recent messages) of the selection
        self._detail_note = "loading..."
        self._detail_busy = False
        # Kept, not queried: while a modal is up, app.query_one would search the modal.
        self._input: Input | None = None  # an Input with a value needs the running app
        self._tree: Tree[t.ActorNode] = Tree(Text("loading..."), id="tree")
        self._detail = Static(Text("select an actor"), id="detail")
        self._message = Static(Text("r restart · s stop · c station command · / filter"),
                               id="message")
        self._status = Static(Text("connecting..."), id="conn")

    def compose(self) -> ComposeResult:
        yield Header()
        self._input = Input(self._filter, placeholder="filter: station id or path (/ to focus)",
                            id="filter")
        yield self._input
        with Horizontal(id="main"):
            yield self._tree
            with VerticalScroll(id="detail-box"):
                yield self._detail
        with Horizontal(id="statusbar"):
            yield self._message
            yield self._status
        yield Footer()

    def on_mount(self) -> None:
        self._tree.focus()
        self.action_refresh()
        self.set_interval(self.refresh_s, self.action_refresh)

    # -- the tree ------------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Fetch a snapshot unless one is already on its way (a slow server is not piled on)."""
        if not self._refreshing:
            self._refreshing = True
            self.run_worker(self._refresh(), group="snapshot")

    async def _refresh(self) -> None:
        try:
            root = await self.client.snapshot()
        except ConsoleError as exc:
            self._conn(f"refresh failed: {exc}", error=True)
            return
        finally:
            self._refreshing = False
        self._root = root
        count = sum(1 for _ in t.walk(root))
        self._conn(f"{count} actors · {datetime.now():%H:%M:%S}")
        self.show_tree()

    def show_tree(self) -> None:
        """Show the filtered snapshot: relabel in place when the shape is unchanged."""
        if self._root is None:
            return
        shown = t.filter_tree(self._root, self._filter)
        if shown is not None:
            shown = t.limit_children(shown, self.max_children)
        shape = t.structure(shown)
        widget = self._tree
        if shown is not None and shape == self._shown:
            for node, (_, actor) in zip(_nodes(widget.root), t.walk(shown), strict=True):
                old, node.data = node.data, actor
                if old is None or t.label(old) != t.label(actor):
                    node.set_label(_label(actor, full_path=node.is_root))
        else:
            self._rebuild(widget, shown)
        self._shown = shape
        self._show_detail()
        self._fetch_detail()

    def _rebuild(self, widget: Tree[t.ActorNode], shown: t.ActorNode | None) -> None:
        widget.clear()
        if shown is None:
            widget.root.set_label(Text(f"no actor matches {self._filter!r}", style="dim"))
            widget.root.data = None
            return
        widget.root.set_label(_label(shown, full_path=True))
        widget.root.data = shown
        if shown.path not in self._collapsed:
            widget.root.expand()
        self._grow(widget.root, shown)
        lines = t.visible_paths(shown, self._collapsed)
        line = t.cursor_line(lines, self._selected)
        widget.cursor_line = line
        self._selected = lines[line]

    def _grow(self, parent: TreeNode[t.ActorNode], actor: t.ActorNode) -> None:
        for child in actor.children:
            node = parent.add(_label(child), child, expand=child.path not in self._collapsed,
                              allow_expand=bool(child.children))
            self._grow(node, child)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[t.ActorNode]) -> None:
        if event.node.data is not None:
            changed = self._selected != event.node.data.path
            self._selected = event.node.data.path
            self._show_detail()
            if changed:
                self._fetch_detail()

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed[t.ActorNode]) -> None:
        if event.node.data is not None:
            self._collapsed.add(event.node.data.path)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[t.ActorNode]) -> None:
        if event.node.data is not None:
            self._collapsed.discard(event.node.data.path)

    def _show_detail(self) -> None:
        """The snapshot's fields of the selection, with the recent messages fetched for it."""
        actor = self.selected_actor()
        if actor is None:
            self._detail.update(Text("select an actor"))
            return
        fetched = self._fetched
        note = "loading..."
        if fetched is not None and fetched.path == actor.path:
            actor = replace(actor, recent=fetched.recent)
            note = self._detail_note
        self._detail.update(Text("\n".join(t.detail_lines(actor, recent_note=note))))

    def _fetch_detail(self) -> None:
        """Ask for the selection's recent messages; one request at a time (scrolling through
        the tree does not pile requests up: the newest selection is asked for next)."""
        if self._selected is not None and not self._detail_busy:
            self._detail_busy = True
            self.run_worker(self._load_detail(self._selected), group="detail")

    async def _load_detail(self, path: str) -> None:
        try:
            fetched = await self.client.detail(path)
            note = "none"
        except ConsoleError as exc:
            fetched, note = t.ActorNode(path=path), f"unavailable ({_why(exc)})"
        finally:
            self._detail_busy = False
        if path == self._selected:
            self._fetched, self._detail_note = fetched, note
            self._show_detail()
        else:
            self._fetch_detail()

    @property
    def latest(self) -> t.ActorNode | None:
        """The last snapshot received (unfiltered), None before the first one."""
        return self._root

    @property
    def selected_path(self) -> str | None:
        """Path of the highlighted actor."""
        return self._selected

    def selected_actor(self) -> t.ActorNode | None:
        """The highlighted actor in the latest snapshot (None when gone or filtered out)."""
        if self._root is None or self._selected is None:
            return None
        return t.find(self._root, self._selected)

    # -- filter --------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self._filter = event.value
            self.show_tree()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.action_focus_tree()

    def action_focus_filter(self) -> None:
        if self._input is not None and self.screen is self.screen_stack[0]:
            self._input.focus()

    def action_focus_tree(self) -> None:
        self._tree.focus()

    # -- operator actions ----------------------------------------------------------------

    def action_restart(self) -> None:
        self._confirm_actor_action("restart")

    def action_stop(self) -> None:
        self._confirm_actor_action("stop")

    def _confirm_actor_action(self, verb: str) -> None:
        actor = self.selected_actor()
        if actor is None:
            self.show_message("select an actor first", error=True)
            return
        path = actor.path

        def confirmed(yes: bool | None) -> None:
            if yes:
                call = self.client.restart if verb == "restart" else self.client.stop
                self._act(f"{verb} {path}", call(path), done=f"{verb} {path}: done")
            else:
                self.show_message(f"{verb} {path}: cancelled")

        self.push_screen(ConfirmScreen(f"{verb.capitalize()} actor {path}?"), confirmed)

    def action_command(self) -> None:
        actor = self.selected_actor()
        station = t.station_id(actor.path) if actor else None
        if station is None:
            self.show_message("c sends station commands: select a charge point actor "
                         "(/<node>/charge-points/<station>)", error=True)
            return
        self.push_screen(CommandScreen(station), self._command_chosen)

    def _command_chosen(self, command: t.StationCommand | None) -> None:
        if command is None:
            self.show_message("command cancelled")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._send(command), group="actions")
            else:
                self.show_message(f"{command.describe()}: cancelled")

        self.push_screen(ConfirmScreen(f"Send {command.describe()}?"), confirmed)

    async def _send(self, command: t.StationCommand) -> None:
        self.show_message(f"{command.describe()}: sent, waiting for the station...")
        try:
            answer = await self.client.command(command)
        except ConsoleError as exc:
            self.show_message(f"{command.label} on {command.station_id} failed: {_why(exc)}",
                         error=True)
            return
        self.show_message(f"{command.station_id}: {command.label} -> {t.describe_answer(answer)}")

    def _act(self, what: str, call: Awaitable[None], *, done: str) -> None:
        async def run() -> None:
            try:
                await call
            except ConsoleError as exc:
                self.show_message(f"{what} failed: {_why(exc)}", error=True)
                return
            self.show_message(done)
            self.action_refresh()

        self.run_worker(run(), group="actions")

    # -- status bar ----------------------------------------------------------------------

    def show_message(self, text: str, *, error: bool = False) -> None:
        """Show the outcome of the last operator action (left of the status bar)."""
        self._message.update(Text(text, style="bold red" if error else ""))

    def _conn(self, text: str, *, error: bool = False) -> None:
        self._status.update(Text(text, style="red" if error else ""))

    @property
    def message_text(self) -> str:
        """The status bar's message as plain text (tests and captures)."""
        return str(self._message.content)

    @property
    def status_text(self) -> str:
        """The connection part of the status bar (last refresh or its error)."""
        return str(self._status.content)

    @property
    def detail_text(self) -> str:
        """The detail pane as plain text."""
        return str(self._detail.content)


def _label(actor: t.ActorNode, *, full_path: bool = False) -> Text:
    dim = actor.state == "stopped" or actor.kind == "more"
    style = "dim" if dim else ("yellow" if actor.last_error else "")
    return Text(t.label(actor, full_path=full_path), style=style)


def _nodes(node: TreeNode[t.ActorNode]) -> Iterator[TreeNode[t.ActorNode]]:
    yield node
    for child in node.children:
        yield from _nodes(child)


def _why(exc: ConsoleError) -> str:
    if isinstance(exc, ApiProblem) and exc.status == 404:
        return f"gone (404: {exc.detail or exc.title or 'not found'})"
    return str(exc)
