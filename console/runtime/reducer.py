"""The pure reducer: ``reduce(state, event) -> state``.  No I/O, no clocks, no Textual.

An event that changes nothing (and every one-shot event) returns the very same state object,
so subscribers can tell "nothing new" by identity.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from console.chat.endpoints import canonical
from console.runtime import events as ev
from console.runtime.state import BENCH_NOTES_KEEP, LOG_KEEP, BenchNote, BenchOutcome, ConsoleState

if TYPE_CHECKING:
    from console.cluster.state import ClusterState
    from console.fleet.state import FleetState


def reduce(state: ConsoleState, event: ev.Event) -> ConsoleState:
    """The state after ``event``."""
    new = _apply(state, event)
    return state if new is state else replace(new, version=state.version + 1)


def _apply(s: ConsoleState, e: ev.Event) -> ConsoleState:
    match e:
        case ev.SourcesFound(order, report):
            return replace(s, telemetry=s.telemetry.with_sources(order, report))
        case ev.Sampled(snapshot):
            return replace(s, telemetry=s.telemetry.add(snapshot))
        case ev.SourceFailed(source, error):
            return replace(s, telemetry=s.telemetry.fail(source, error))
        case ev.ContainersListed(containers):
            return replace(s, docker=s.docker.listed(containers))
        case ev.StatsUpdated(stats):
            return replace(s, docker=s.docker.with_stats(dict(stats)))
        case ev.ContainerActionSent(container_id, action):
            return replace(s, docker=s.docker.acting(container_id, action))
        case ev.ContainerActionSettled(container_id):
            docker = s.docker.settled(container_id)
            return s if docker is s.docker else replace(s, docker=docker)
        case ev.DockerFailed(reason, hint):
            return replace(s, docker=s.docker.failed(reason, hint))
        case ev.ServersWatched(urls):
            kept = MappingProxyType({u: st for u, st in s.servers.status.items() if u in urls})
            return replace(s, servers=replace(s.servers, watched=urls, status=kept))
        case ev.ServerPolled(status):
            from_url = canonical(status.url)
            if from_url not in s.servers.watched:
                return s  # a late poll of a server no longer listed
            status_by_url = MappingProxyType({**s.servers.status, from_url: status})
            return replace(s, servers=replace(s.servers, status=status_by_url))
        case ev.ServerSelected(url):
            if url == s.servers.selected:
                return s
            return replace(s, servers=replace(s.servers, selected=url))
        case ev.StartupProgress(container, event):
            return replace(s, startups=MappingProxyType({**s.startups, container: event}))
        case ev.ClusterRead(record, note, status, at):
            return _cluster_servers(replace(s, cluster=_cluster(s).read(record, note, status, at)), s.cluster)
        case ev.ClusterOffered(devices, offers, error):
            return replace(s, cluster=_cluster(s).offered(devices, offers, error))
        case ev.ClusterBegan(what):
            return replace(s, cluster=_cluster(s).began(what))
        case ev.ClusterSaid(text):
            return replace(s, cluster=_cluster(s).line(text))
        case ev.ClusterEnded(result, checks):
            return replace(s, cluster=_cluster(s).ended(result, checks))
        case ev.FleetListed(devices, error):
            return replace(s, fleet=(s.fleet or _empty_fleet()).listed(devices, error))
        case ev.FleetAnswered(answers):
            return replace(s, fleet=(s.fleet or _empty_fleet()).answered(answers))
        case ev.FleetActionAsked(run_id, action, devices):
            return replace(s, fleet=(s.fleet or _empty_fleet()).action_asked(run_id, action, devices))
        case ev.FleetActionPlanned(run_id, plan, error):
            return replace(s, fleet=(s.fleet or _empty_fleet()).action_changed(run_id, plan=plan, error=error))
        case ev.FleetActionStarted(run_id):
            return replace(s, fleet=(s.fleet or _empty_fleet()).action_changed(run_id, started=True))
        case ev.FleetActionDeclined(run_id):
            return replace(s, fleet=(s.fleet or _empty_fleet()).action_changed(run_id, declined=True))
        case ev.FleetActionProgress(run_id, device, text):
            return replace(s, fleet=(s.fleet or _empty_fleet()).action_progress(run_id, device, text))
        case ev.FleetActionOutcome(run_id, outcome):
            return replace(s, fleet=(s.fleet or _empty_fleet()).action_outcome(run_id, outcome))
        case ev.FleetActionFinished(run_id):
            return replace(s, fleet=(s.fleet or _empty_fleet()).action_changed(run_id, finished=True))
        case ev.DeviceWatched(name):
            return replace(s, fleet=(s.fleet or _empty_fleet()).watching(name))
        case ev.DeviceDetailRead(name, got, error):
            return replace(s, fleet=(s.fleet or _empty_fleet()).detail_read(name, got, error))
        case ev.HelpFlagRead(on, since):
            if (on, since) == (s.hud.help_flag, s.hud.help_since):
                return s
            return replace(s, hud=replace(s.hud, help_flag=on, help_since=since if on else None))
        case ev.HostRead(host, ip):
            return replace(s, hud=replace(s.hud, host=host, ip=ip))
        case ev.DoctorRunning():
            return replace(s, doctor=replace(s.doctor, running=True))
        case ev.DoctorChecked(checks, at, more):
            return replace(s, doctor=replace(s.doctor, checks=checks, at=at, running=more))
        case ev.FixStarted(check_id):
            return replace(s, doctor=replace(s.doctor, fixing=check_id))
        case ev.FixLine(_, line):
            return replace(s, doctor=replace(s.doctor, log=(*s.doctor.log, line)[-LOG_KEEP:]))
        case ev.FixEnded(_, ok, _):
            line = "done" if ok else "not fixed"
            log = (*s.doctor.log, line)[-LOG_KEEP:]
            return replace(s, doctor=replace(s.doctor, fixing=None, log=log))
    if isinstance(e, ev.BENCH_EVENTS):
        return _apply_bench(s, e)
    return _apply_chat(s, e)


def _apply_bench(s: ConsoleState, e: ev.Event) -> ConsoleState:
    b = s.bench
    match e:
        case ev.BenchStarted(run, plan, energy):
            started = replace(b, run=run, phase="running", plan=plan, energy=energy, progress=None, notes=())
            return replace(s, bench=started)
        case ev.BenchProgressed(run, progress):
            return replace(s, bench=replace(b, progress=progress)) if run == b.run else s
        case ev.BenchNoted(run, text, error, trial):
            if run != b.run:
                return s
            kept = tuple(n for n in b.notes if not (trial and n.trial))  # one line for the latest trial
            notes = (*kept, BenchNote(b.next_note, text, error, trial))[-BENCH_NOTES_KEEP:]
            return replace(s, bench=replace(b, notes=notes, next_note=b.next_note + 1))
        case ev.BenchCancelling(run):
            return replace(s, bench=replace(b, phase="cancelling")) if run == b.run and b.phase == "running" else s
        case ev.BenchFinished(run, report, paths, error):
            if run != b.run:
                return s
            return replace(s, bench=replace(b, phase=None, outcome=BenchOutcome(run, report, paths, error)))
        case ev.BenchListed(folder, runs, note):
            return replace(s, bench=replace(b, folder=folder, saved=runs, saved_note=note, listed=b.listed + 1))
    return s


def _apply_chat(s: ConsoleState, e: ev.Event) -> ConsoleState:
    chat = s.chat
    match e:
        case ev.ChatBound(endpoint):
            return replace(s, chat=replace(chat, endpoint=endpoint, models=(), model=None, caps=None))
        case ev.ChatModelsListed(url, models):
            if chat.endpoint is None or url != chat.endpoint.url or models == chat.models:
                return s
            return replace(s, chat=chat.with_models(models))
        case ev.ChatModelChosen(model):
            return replace(s, chat=replace(chat, model=model))
        case ev.ChatSettingsChosen(settings):
            return replace(s, chat=replace(chat, settings=settings))
        case ev.ChatCapabilities(url, model, caps):
            current = chat.endpoint is not None and chat.endpoint.url == url and chat.model == model
            return replace(s, chat=replace(chat, caps=caps)) if current else s
        case ev.ChatImageAttaching():
            return replace(s, chat=replace(chat, attaching=chat.attaching + 1))
        case ev.ChatImageAttached(ref):
            known = any(r.sha256 == ref.sha256 for r in chat.draft_images)  # attached twice (F9 and @path): once
            drafted = chat.draft_images if known else (*chat.draft_images, ref)
            return replace(s, chat=replace(chat, draft_images=drafted, attaching=max(0, chat.attaching - 1)))
        case ev.ChatImageFailed():
            return replace(s, chat=replace(chat, attaching=max(0, chat.attaching - 1)))
        case ev.ChatImageDetached(index):
            kept = list(chat.draft_images)
            if -len(kept) <= index < len(kept):
                del kept[index]
            return replace(s, chat=replace(chat, draft_images=tuple(kept)))
        case ev.ChatAsked(answer, question, images, mode, from_draft):
            return replace(s, chat=chat.begin(question, answer, images, mode, from_draft))
        case ev.ChatText(answer, content, reasoning):
            return replace(s, chat=chat.add_text(content, reasoning)) if answer == chat.answering else s
        case ev.ChatEnded(answer, status, stats, tool_calls, check):
            return replace(s, chat=chat.end(status, stats, tool_calls, check)) if answer == chat.answering else s
        case ev.ChatCreated(conversation_id):
            return replace(s, chat=replace(chat, conversation_id=conversation_id))
        case ev.ChatLoaded(conversation, default):
            return replace(s, chat=chat.load(conversation, default))
        case ev.ChatCleared(settings):
            return replace(s, chat=replace(chat.clear(), settings=settings))
        case ev.ChatRenamed(conversation_id, title):
            return replace(s, chat=replace(chat, title=title)) if conversation_id == chat.conversation_id else s
        case ev.ChatDeleted(conversation_id):
            return replace(s, chat=chat.clear()) if conversation_id == chat.conversation_id else s
        case ev.ChatTrimmed(count):
            return replace(s, chat=chat.trim(count))
    return s


def _empty_fleet() -> FleetState:
    from console.fleet.state import FleetState as Fleet  # on the first fleet event: a start without one never loads it

    return Fleet()


def _cluster(s: ConsoleState) -> ClusterState:
    if s.cluster is not None:
        return s.cluster
    from console.cluster.state import ClusterState as Cluster  # on the first cluster event

    return Cluster()


def _cluster_servers(s: ConsoleState, before: ClusterState | None) -> ConsoleState:
    """The recorded cluster's server in the servers list (the Servers panel, the chat): added while there is a
    record, taken out with it; a URL the config lists already is left alone."""
    old = before.added_url if before is not None else None
    assert s.cluster is not None
    new = canonical(s.cluster.record.url) if s.cluster.record is not None else None
    configured = s.servers.configured
    if old == new or (new is not None and new in configured and old is None):
        return s
    kept = tuple(u for u in configured if u != old)
    added = new if new is not None and new not in kept else None
    return replace(
        s,
        cluster=replace(s.cluster, added_url=added),
        servers=replace(s.servers, configured=(*kept, added) if added else kept),
    )
