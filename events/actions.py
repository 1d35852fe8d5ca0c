"""Nova's power actions: in which vm_states each may start, the task_state it shows, how it ends.

Shared by the API (which answers 409 for an action in the wrong state) and
the instance table (which folds the request and the hypervisor's answer),
so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED = 1, 3, 4, 6, 7


@dataclass(frozen=True, slots=True)
class PowerAction:
    """`api_name` is the action's key in POST /servers/{id}/action, as Nova names it in its messages."""

    api_name: str
    allowed: frozenset[str]
    task_state: str
    done_when: int  # the power state that ends the action
    vm_state_after: str


ACTIONS: dict[str, PowerAction] = {
    "stop": PowerAction("os-stop", frozenset({"active", "error"}), "powering-off", SHUTDOWN, "stopped"),
    "start": PowerAction("os-start", frozenset({"stopped"}), "powering-on", RUNNING, "active"),
    "reboot_soft": PowerAction("reboot", frozenset({"active"}), "rebooting", RUNNING, "active"),
    "reboot_hard": PowerAction("reboot", frozenset({"active", "stopped", "paused", "suspended", "error"}), "rebooting_hard", RUNNING, "active"),
    "pause": PowerAction("pause", frozenset({"active"}), "pausing", PAUSED, "paused"),
    "unpause": PowerAction("unpause", frozenset({"paused"}), "unpausing", RUNNING, "active"),
    "suspend": PowerAction("suspend", frozenset({"active"}), "suspending", SUSPENDED, "suspended"),
    "resume": PowerAction("resume", frozenset({"suspended"}), "resuming", RUNNING, "active"),
}
ACTION_BY_TASK = {a.task_state: key for key, a in ACTIONS.items()}

# The vm_state a power state means when no action of ours explains it (the
# guest powered itself off, crashed, or someone acted on the hypervisor).
# NOSTATE (the guest is gone) shows as stopped, as Nova's power-state sync stops such an instance.
NOSTATE = 0
POWER_TO_VM_STATE = {NOSTATE: "stopped", RUNNING: "active", SHUTDOWN: "stopped", CRASHED: "stopped", PAUSED: "paused", SUSPENDED: "suspended"}


def action_key(action: str, reboot_type: str | None = None) -> str:
    """The table key of a requested action (`reboot` splits into soft and hard)."""
    if action == "reboot":
        return "reboot_hard" if (reboot_type or "SOFT").upper() == "HARD" else "reboot_soft"
    return action


def refusal(action: str, reboot_type: str | None, instance_id: str, vm_state: str, task_state: str | None, host: str | None) -> str | None:
    """Nova's 409 message when the action cannot start now, else None."""
    spec = ACTIONS[action_key(action, reboot_type)]
    if task_state is not None:
        return f"Cannot '{spec.api_name}' instance {instance_id} while it is in task_state {task_state}"
    if vm_state not in spec.allowed or host is None:
        return f"Cannot '{spec.api_name}' instance {instance_id} while it is in vm_state {vm_state}"
    return None


# The moves (Nova's check_instance_state on each API call): the vm_states each
# may start from, all with no task running (who may ask is the API's policy).
MOVE_ALLOWED: dict[str, frozenset[str]] = {
    "resize": frozenset({"active", "stopped"}),
    "migrate": frozenset({"active", "stopped"}),
    "os-migrateLive": frozenset({"active", "paused"}),
    "evacuate": frozenset({"active", "stopped", "error"}),
    "confirmResize": frozenset({"resized"}),
    "revertResize": frozenset({"resized"}),
}


def move_refusal(api_name: str, instance_id: str, vm_state: str, task_state: str | None, host: str | None) -> str | None:
    """Nova's 409 message when the move (or its confirm/revert) cannot start now, else None."""
    if task_state is not None:
        return f"Cannot '{api_name}' instance {instance_id} while it is in task_state {task_state}"
    if vm_state not in MOVE_ALLOWED[api_name] or (host is None and api_name != "evacuate"):
        return f"Cannot '{api_name}' instance {instance_id} while it is in vm_state {vm_state}"
    return None


# The actions that change a guest in place on its host (Nova's check_instance_state on
# rebuild, createImage, rescue and unrescue): the vm_states each may start from, no task running.
GUEST_ALLOWED: dict[str, frozenset[str]] = {
    "rebuild": frozenset({"active", "stopped", "error"}),
    "createImage": frozenset({"active", "stopped", "paused", "suspended"}),
    "rescue": frozenset({"active", "stopped", "error"}),
    "unrescue": frozenset({"rescued"}),
}


def guest_refusal(api_name: str, instance_id: str, vm_state: str, task_state: str | None, host: str | None) -> str | None:
    """Nova's 409 message when rebuild, createImage, rescue or unrescue cannot start now, else None."""
    if task_state is not None:
        return f"Cannot '{api_name}' instance {instance_id} while it is in task_state {task_state}"
    if vm_state not in GUEST_ALLOWED[api_name] or host is None:
        return f"Cannot '{api_name}' instance {instance_id} while it is in vm_state {vm_state}"
    return None
