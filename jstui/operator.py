"""What the operator does to the fleet and the pool: each action refused where it may not
run (read-only, no fleet, another puzzle on screen; a toast says why), asked first where
it kills or restarts work, carried out by the backend (jstui.backend), and said in the
event book. A mixin of the live control center (jstui.app)."""
from __future__ import annotations

from typing import Awaitable, Callable

from textual import work

from jstui.actions import BY_NAME, parse_knobs, parse_positions
from jstui.widgets.modals import AskScreen, ChoiceScreen, ConfirmScreen
from solver.tools.zones import UNCERTAIN


def seed_kinds() -> list[tuple[str, str]]:
    """The seed registry's own names and descriptions (solver.seeds.SEEDS)."""
    from solver.search.seeds import SEEDS

    return [(s.name, s.description) for s in SEEDS.values()]


class OperatorActions:
    def refused(self, action: str, what: str) -> bool:
        """Say why ACTION is refused here, if it is (read-only, or no fleet to act on)."""
        record = BY_NAME[action]
        reason = None
        if self.read_only and record.changes:
            reason = f"read-only: {what} refused"
            if self.served:
                reason += " (a browser session: `jstui serve --allow-actions` allows actions)"
        elif record.needs_fleet and not self.backend.has_fleet:
            reason = f"no fleet: {what} needs a fleet file or the local fleet"
        return self.refuse(reason)

    def refuse_off_configured_puzzle(self, what: str) -> bool:
        """Inject and surgery go to the observer, which works on the configured puzzle:
        not while another one is on screen, where their effect would not be seen."""
        if self.snapshot.puzzle_is_configured:
            return False
        return self.refuse(f"{what} refused: the screen shows {self.snapshot.puzzle}, not the "
                           "configured puzzle the observer works on (p switches back)")

    def refuse(self, reason: str | None) -> bool:
        """Say why an action is refused (a toast: nothing happened to the run, so the
        event book does not hear of it); False: no reason."""
        if not reason:
            return False
        self.notify(reason, severity="error", markup=False)
        return True

    def record(self, kind: str, text: str) -> None:
        """One line for the event book, through the backend."""
        self.backend.record(kind, text)

    @work(group="actions")
    async def perform(self, what: str, call: Callable[[], Awaitable[str | None]],
                      kind: str) -> None:
        """Run one command; its outcome (or its error, in one sentence) goes to the book."""
        try:
            outcome = await call()
        except Exception as exc:  # the command failed: say so, keep the UI alive
            self.record("error", f"{what} failed: {exc}")
            # markup=False: a message may hold "[pool]" or a path in brackets, not markup
            self.notify(f"{what} failed: {exc}", severity="error", markup=False)
            return
        self.record(kind, outcome or f"{what}: done")

    async def confirm_then_perform(self, question: str, what: str,
                                   call: Callable[[], Awaitable[str | None]], kind: str) -> None:
        """Anything that kills or restarts work: ask first (from inside a dialog worker)."""
        if await self.push_screen_wait(ConfirmScreen(question)):
            self.perform(what, call, kind)

    @work(group="dialogs")
    async def action_relaunch_node(self) -> None:
        if self.refused("relaunch_node", "relaunch"):
            return
        node = self.dashboard.selected_node()
        if node is None:
            self.notify("no node selected", severity="warning")
            return
        view = next((n for n in self.snapshot.nodes if n.name == node), None)
        count = f"its {view.workers_expected} configured" if view is not None else "its configured"
        await self.confirm_then_perform(
            f"Relaunch node {node}? Its running workers are stopped, then {count} workers "
            f"start.{self.solved_note()}",
            f"relaunch {node}", lambda: self.backend.relaunch(node), "relaunch")

    def solved_note(self) -> str:
        """Said before a relaunch: new workers would find the answer in and exit at once."""
        return (" The pool holds the exact answer already: new workers exit at once."
                if self.snapshot.solved else "")

    @work(group="dialogs")
    async def action_relaunch_all(self) -> None:
        if self.refused("relaunch_all", "relaunch"):
            return
        await self.confirm_then_perform(
            "Relaunch ALL nodes? Every running worker is stopped, then each node starts "
            f"its configured workers.{self.solved_note()}",
            "relaunch all", lambda: self.backend.relaunch(None), "relaunch")

    @work(group="dialogs")
    async def action_stop_worker(self) -> None:
        if self.refused("stop_worker", "stop"):
            return
        worker = self.dashboard.selected_worker()
        if worker is None:
            self.notify("no worker selected", severity="warning")
            return
        if not worker.alive:
            self.notify(f"worker {worker.pid} on {worker.node} has already ended "
                        f"({worker.state.value}): nothing to stop", severity="warning")
            return
        await self.confirm_then_perform(
            f"Stop worker {worker.pid} on {worker.node}? Its best result stays in the pool.",
            f"stop {worker.node}:{worker.pid}", lambda: self.backend.stop_worker(worker),
            "stop")

    @work(group="dialogs")
    async def action_inject(self) -> None:
        if self.refused("inject", "inject") or self.refuse_off_configured_puzzle("inject"):
            return
        kind = await self.push_screen_wait(ChoiceScreen("Inject which kind of seeds?", seed_kinds()))
        if kind:
            self.perform(f"inject {kind}", lambda: self.backend.inject(kind), "inject")

    @work(group="dialogs")
    async def action_surgery(self) -> None:
        if self.refused("surgery", "surgery") or self.refuse_off_configured_puzzle("surgery"):
            return
        if await self.offer_to_cancel_surgery():
            return
        zones = self.snapshot.zones
        uncertain = zones.positions(UNCERTAIN) if zones is not None else []
        answer = await self.push_screen_wait(AskScreen(
            "Surgery on the pool best: positions (e.g. 3,7-9) or 'uncertain' "
            f"({len(uncertain)} positions now)", default="uncertain"))
        if answer is None:
            return
        try:
            positions = parse_positions(answer)
        except ValueError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.perform("surgery", lambda: self.backend.surgery(positions), "surgery")

    async def offer_to_cancel_surgery(self) -> bool:
        """While a surgery runs, `s` offers to cancel it (saying how far it got); True
        when one was running, whatever the answer."""
        if not self.backend.can_cancel:
            return False
        command = await self.backend.running_surgery()
        if command is None:
            return False
        where = (command.progress or {}).get("message", "not started yet")
        if await self.push_screen_wait(ConfirmScreen(
                f"Surgery #{command.id} is running ({where}). Cancel it? Its improvements so far stay in the pool.")):
            self.perform(f"cancel surgery #{command.id}",
                         lambda: self.backend.cancel_command(command.id), "surgery")
        return True

    @work(group="dialogs")
    async def action_deploy(self) -> None:
        if self.refused("deploy", "deploy"):
            return
        await self.confirm_then_perform(
            "Deploy the code to every node? Running workers keep the old code until relaunched.",
            "deploy", lambda: self.backend.deploy(), "deploy")

    def action_toggle_auto_relaunch(self) -> None:
        if self.refused("toggle_auto_relaunch", "auto-relaunch"):
            return
        on_now = not self.snapshot.auto_relaunch
        self.perform(f"auto-relaunch {'on' if on_now else 'off'}",
                     lambda: self.backend.set_auto_relaunch(on_now), "action")

    @work(group="dialogs")
    async def action_knobs(self) -> None:
        if self.refused("knobs", "observer knobs"):
            return
        current = " ".join(f"{k}={v:g}" for k, v in self.snapshot.knobs)
        answer = await self.push_screen_wait(AskScreen(
            "Observer knobs (name=value, space separated)", default=current))
        if not answer:
            return
        try:
            knobs = parse_knobs(answer)
        except ValueError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.perform("knobs", lambda: self.backend.set_knobs(knobs), "knobs")

