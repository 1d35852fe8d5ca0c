"""The driver contract against LibvirtDriver on libvirt's test driver, plus what only libvirt can show.

Each test writes its node description into its own tmp_path, and every
connection to a test:/// URI is a fresh, empty host.
"""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from driver_contract import (
    PAUSE,
    REBOOT_ACTIVE,
    REMOVED,
    SPAWNED,
    STOP,
    SUSPEND,
    DriverContract,
    EventRecorder,
    HostSpec,
    OpenDriver,
    guest_spec,
)
from novalog.agent.driver import (
    CRASHED,
    DEFINED,
    RESUMED,
    STARTED,
    STOPPED,
    SUSPENDED,
    UNDEFINED,
    DriverError,
    Guest,
    LifecycleEvent,
    PowerState,
)
from novalog.agent.libvirt_driver import LibvirtDriver, lifecycle_transition
from novalog.agent.node import node_xml, test_uri

FOREIGN_DOMAIN = "<domain type='test'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"


def open_libvirt(tmp_path: Path, host: HostSpec) -> LibvirtDriver:
    path = tmp_path / f"{host.hostname}.xml"
    path.write_text(node_xml(host.vcpus, host.memory_mb, model=host.cpu_model))
    return LibvirtDriver(test_uri(path), host.hostname)


class TestLibvirtDriverContract(DriverContract):
    @pytest.fixture
    def open_driver(self, tmp_path: Path) -> OpenDriver:
        return lambda host: open_libvirt(tmp_path, host)


@pytest.fixture
def driver(tmp_path: Path):
    with open_libvirt(tmp_path, HostSpec("host-a")) as driver:
        yield driver


def test_node_info_names_the_test_hypervisor(driver: LibvirtDriver) -> None:
    info = driver.node_info()

    assert (info.hypervisor_type, info.vcpus, info.memory_mb) == ("TEST", 4, 8192)


def test_domains_without_our_metadata_are_invisible(driver: LibvirtDriver) -> None:
    events = EventRecorder()
    driver.set_event_sink(events)
    # Someone else on the same host; a second connection would be another host.
    foreign = driver._conn.defineXML(FOREIGN_DOMAIN.format(name="novalog-i-2"))
    foreign.create()

    driver.spawn(guest_spec("i-1"))
    events.wait_for("i-1", {STARTED})

    assert [g.instance_id for g in driver.list_guests()] == ["i-1"]
    assert {event.instance_id for event in events.seen} == {"i-1"}
    # Named like ours, yet not ours: destroy leaves it, spawn cannot take its name.
    assert driver.destroy("i-2") is False
    assert foreign.isActive()
    with pytest.raises(DriverError, match="spawn of instance i-2 on host-a failed: .*already exists"):
        driver.spawn(guest_spec("i-2"))


def test_changes_made_outside_the_agent_are_reported(driver: LibvirtDriver) -> None:
    events = EventRecorder()
    driver.set_event_sink(events)
    driver.spawn(guest_spec("i-1"))
    events.wait_for("i-1", {STARTED})
    domain = driver._conn.lookupByName("novalog-i-1")

    domain.suspend()
    assert events.wait_for("i-1", {SUSPENDED}) == LifecycleEvent("i-1", SUSPENDED, PowerState.PAUSED)
    assert [g.power_state for g in driver.list_guests()] == [PowerState.PAUSED]

    domain.resume()
    assert events.wait_for("i-1", {RESUMED}) == LifecycleEvent("i-1", RESUMED, PowerState.RUNNING)

    domain.destroy()
    assert events.wait_for("i-1", {STOPPED}) == LifecycleEvent("i-1", STOPPED, PowerState.SHUTDOWN)
    assert driver.list_guests() == [Guest("i-1", "novalog-i-1", PowerState.SHUTDOWN, 2, 512)]


def test_spawn_leaves_a_defined_guest_as_is(driver: LibvirtDriver) -> None:
    events = EventRecorder()
    driver.set_event_sink(events)
    driver.spawn(guest_spec("i-1"))
    events.wait_for("i-1", {STARTED})
    driver._conn.lookupByName("novalog-i-1").destroy()
    events.wait_for("i-1", {STOPPED})

    driver.spawn(guest_spec("i-1"))

    assert [g.power_state for g in driver.list_guests()] == [PowerState.SHUTDOWN]


@pytest.fixture
def running(driver: LibvirtDriver) -> tuple[LibvirtDriver, EventRecorder, libvirt.virDomain]:
    """The driver with guest i-1 running, its events recorded, and its domain."""
    events = EventRecorder()
    driver.set_event_sink(events)
    driver.spawn(guest_spec("i-1"))
    events.wait_for("i-1", {STARTED})
    return driver, events, driver._conn.lookupByName("novalog-i-1")


def history(driver: LibvirtDriver, events: EventRecorder) -> list[tuple[str, int]]:
    assert driver.destroy("i-1") is True
    events.wait_for("i-1", {UNDEFINED})
    return events.events_of("i-1")


def test_the_test_drivers_own_reboot_is_silent(running) -> None:
    """Why a soft reboot is Nova's shutdown-then-start, not virDomainReboot: on the test driver that reports nothing at all."""
    driver, events, domain = running
    before = domain.ID()

    domain.reboot(0)  # succeeds...

    # ...with the same domain id and state, and no event: the driver listens to lifecycle
    # and reboot events (a reboot event would show as STARTED), yet sees nothing.
    assert (domain.ID(), domain.state()) == (before, [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED])
    assert history(driver, events) == SPAWNED + STOP + REMOVED


def test_a_soft_reboot_asks_the_guest_to_shut_down_and_starts_it_again(running, monkeypatch: pytest.MonkeyPatch) -> None:
    driver, events, _domain = running
    asked: list[str] = []
    shutdown = libvirt.virDomain.shutdown

    def ask(domain: libvirt.virDomain) -> int:
        asked.append(domain.name())
        return shutdown(domain)

    monkeypatch.setattr(libvirt.virDomain, "shutdown", ask)

    driver.reboot("i-1", hard=False)

    events.wait_for("i-1", {STARTED})
    assert asked == ["novalog-i-1"]
    assert history(driver, events) == SPAWNED + REBOOT_ACTIVE + STOP + REMOVED


def test_a_soft_reboot_the_hypervisor_refuses_is_a_hard_one(running, monkeypatch: pytest.MonkeyPatch) -> None:
    driver, events, _domain = running

    def refuse(_self: libvirt.virDomain) -> int:
        raise libvirt.libvirtError("this hypervisor does not support shutdown")

    monkeypatch.setattr(libvirt.virDomain, "shutdown", refuse)

    driver.reboot("i-1", hard=False)

    events.wait_for("i-1", {STARTED})
    assert [g.power_state for g in driver.list_guests()] == [PowerState.RUNNING]
    assert history(driver, events) == SPAWNED + REBOOT_ACTIVE + STOP + REMOVED


def test_a_reboot_the_guest_makes_itself_is_reported_as_a_start(running) -> None:
    driver, events, domain = running

    # What QEMU's VIR_DOMAIN_EVENT_ID_REBOOT delivers when a guest reboots on its own.
    driver._on_reboot(driver._conn, domain, None)

    assert history(driver, events) == SPAWNED + [(STARTED, PowerState.RUNNING)] + STOP + REMOVED


def test_suspend_is_a_managed_save_and_resume_restores_it(running) -> None:
    driver, events, domain = running

    driver.suspend("i-1")
    events.wait_for("i-1", {SUSPENDED})

    assert domain.hasManagedSaveImage(0) == 1
    assert domain.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SAVED]
    driver.resume("i-1")
    events.wait_for("i-1", {STARTED})
    assert domain.hasManagedSaveImage(0) == 0
    assert domain.isActive()


def test_a_hard_reboot_discards_the_saved_memory(running) -> None:
    driver, events, domain = running
    driver.suspend("i-1")
    events.wait_for("i-1", {SUSPENDED})

    driver.reboot("i-1", hard=True)

    events.wait_for("i-1", {STARTED})
    assert domain.hasManagedSaveImage(0) == 0
    assert domain.isActive()


def test_a_managed_save_made_outside_the_agent_is_a_suspend(running) -> None:
    driver, events, domain = running

    domain.managedSave(0)

    assert events.wait_for("i-1", {SUSPENDED}) == LifecycleEvent("i-1", SUSPENDED, PowerState.SUSPENDED)
    assert driver.list_guests() == [Guest("i-1", "novalog-i-1", PowerState.SUSPENDED, 2, 512)]
    # Without its image it is merely off, whatever libvirt's state reason still says.
    domain.managedSaveRemove(0)
    assert driver.power_state("i-1") == PowerState.SHUTDOWN
    with pytest.raises(DriverError, match="resume of instance i-1 on host-a failed: the guest is not suspended"):
        driver.resume("i-1")


def test_a_hypervisor_refusal_carries_its_reason(running) -> None:
    driver, events, _domain = running
    driver.power_off("i-1")
    events.wait_for("i-1", {STOPPED})

    with pytest.raises(DriverError, match="^pause of instance i-1 on host-a failed: .*not running"):
        driver.pause("i-1")
    with pytest.raises(DriverError, match="^suspend of instance i-1 on host-a failed: .*not running"):
        driver.suspend("i-1")
    with pytest.raises(DriverError, match="^unpause of instance i-1 on host-a failed: .*not paused"):
        driver.unpause("i-1")


def test_a_pause_made_outside_the_agent_then_a_suspend(running) -> None:
    driver, events, domain = running
    domain.suspend()
    events.wait_for("i-1", {SUSPENDED})

    driver.pause("i-1")  # already paused: nothing happens
    driver.suspend("i-1")
    events.wait_for("i-1", {SUSPENDED})

    assert driver.power_state("i-1") == PowerState.SUSPENDED
    assert history(driver, events) == SPAWNED + PAUSE + SUSPEND + REMOVED


def test_an_unreachable_hypervisor_is_a_driver_error(tmp_path: Path) -> None:
    with pytest.raises(DriverError, match="cannot connect to hypervisor test:///.*missing.xml"):
        LibvirtDriver(test_uri(tmp_path / "missing.xml"), "host-a")


# libvirt's enum values (virDomainEventType and its details) are stable ABI.
@pytest.mark.parametrize(
    ("event", "detail", "expected"),
    [
        pytest.param(0, 0, (DEFINED, PowerState.SHUTDOWN), id="defined-added"),
        pytest.param(0, 1, (DEFINED, PowerState.NOSTATE), id="defined-updated"),
        pytest.param(1, 0, (UNDEFINED, PowerState.NOSTATE), id="undefined"),
        pytest.param(2, 0, (STARTED, PowerState.RUNNING), id="started-booted"),
        pytest.param(3, 0, (SUSPENDED, PowerState.PAUSED), id="suspended-paused"),
        pytest.param(4, 0, (RESUMED, PowerState.RUNNING), id="resumed-unpaused"),
        pytest.param(5, 0, (STOPPED, PowerState.SHUTDOWN), id="stopped-shutdown"),
        pytest.param(5, 1, (STOPPED, PowerState.SHUTDOWN), id="stopped-destroyed"),
        pytest.param(5, 2, (CRASHED, PowerState.CRASHED), id="stopped-crashed"),
        pytest.param(5, 3, (STOPPED, PowerState.SHUTDOWN), id="stopped-migrated"),
        pytest.param(5, 4, (SUSPENDED, PowerState.SUSPENDED), id="stopped-saved-is-nova-suspend"),
        pytest.param(5, 5, (STOPPED, PowerState.SHUTDOWN), id="stopped-failed"),
        pytest.param(5, 6, (STOPPED, PowerState.SHUTDOWN), id="stopped-from-snapshot"),
        pytest.param(2, 2, (STARTED, PowerState.RUNNING), id="started-restored"),
        pytest.param(2, 4, (STARTED, PowerState.RUNNING), id="started-wakeup"),
        pytest.param(3, 4, (SUSPENDED, PowerState.PAUSED), id="suspended-restored-paused"),
        pytest.param(4, 1, (RESUMED, PowerState.RUNNING), id="resumed-migrated"),
        pytest.param(6, 1, None, id="shutdown-in-progress-ignored"),
        pytest.param(7, 0, (SUSPENDED, PowerState.SUSPENDED), id="pmsuspended"),
        pytest.param(8, 0, (CRASHED, PowerState.CRASHED), id="crashed-panicked"),
        pytest.param(99, 0, None, id="unknown-ignored"),
    ],
)
def test_lifecycle_transition_maps_libvirt_events(
    event: int, detail: int, expected: tuple[str, PowerState] | None
) -> None:
    assert lifecycle_transition(event, detail) == expected


def test_live_migration_is_refused_on_the_test_hypervisor(running, tmp_path: Path) -> None:
    driver, _events, domain = running
    with open_libvirt(tmp_path, HostSpec("host-b")) as other:
        with pytest.raises(DriverError, match="live migration of instance i-1 to host-b failed: the TEST hypervisor driver cannot live-migrate"):
            driver.live_migrate("i-1", "host-b")
        assert other.list_guests() == []
    assert domain.isActive()
