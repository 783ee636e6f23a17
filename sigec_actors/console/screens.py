"""Modal screens of the console: the yes/no confirmation and the station command menu."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from sigec_actors.console.tree import COMMANDS, StationCommand, build_command

MODAL_CSS = """
ConfirmScreen, CommandScreen { align: center middle; }
.dialog { width: 72; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
.dialog .question { margin-bottom: 1; }
.dialog Horizontal { height: auto; }
.dialog Button { margin-right: 2; }
.dialog OptionList { height: auto; max-height: 12; margin-bottom: 1; }
.dialog Input { width: 10; }
.dialog Label { padding: 1 1 0 0; }
.dialog .hint { color: $text-muted; }
"""


class ConfirmScreen(ModalScreen[bool]):
    """Ask before acting: y / Enter on Yes confirms, n / Escape cancels."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question), classes="question")
            with Horizontal():
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe choice has the focus

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class CommandScreen(ModalScreen[StationCommand | None]):
    """Pick a station command (Enter); evse and connector apply to UnlockConnector."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, station: str) -> None:
        super().__init__()
        self.station = station

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"Command for station {self.station}"), classes="question")
            yield OptionList(*(Option(c.label, id=c.key) for c in COMMANDS), id="commands")
            with Horizontal():
                yield Label("evse")
                yield Input("1", id="evse", type="integer")
                yield Label("connector")
                yield Input("1", id="connector", type="integer")
            yield Static("Enter: choose · Esc: cancel", id="hint", classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        key = event.option.id or ""
        try:
            evse = int(self.query_one("#evse", Input).value or "1")
            connector = int(self.query_one("#connector", Input).value or "1")
            command = build_command(key, self.station, evse=evse, connector=connector)
        except ValueError as exc:
            self.query_one("#hint", Static).update(Text(f"invalid: {exc}"))
            return
        self.dismiss(command)

    def action_cancel(self) -> None:
        self.dismiss(None)
