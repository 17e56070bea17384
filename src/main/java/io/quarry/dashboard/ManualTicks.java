package io.quarry.dashboard;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Tells manual stream ticks from scheduled ones. A scheduler tick's record ({@code scheduler_run})
 * does not say who started it, but an admin's "run now" is audited in {@code job_action} at the
 * moment the tick starts: a tick that started within {@link #WINDOW} of a trigger action of its
 * scheduler is that action's run. Each action claims the one tick nearest to it.
 */
final class ManualTicks {

  /** How far apart an admin's trigger and the start of the tick it caused may be recorded. */
  static final Duration WINDOW = Duration.ofSeconds(5);

  /** A "trigger" action in the audit trail. */
  record Action(String scheduler, String actor, Instant at) {}

  /** Reads the trigger actions of the given schedulers between two instants. */
  interface Actions {
    List<Action> between(List<String> schedulers, Instant from, Instant to);
  }

  private ManualTicks() {}

  static List<DashboardRepository.HistoryEntry> attribute(
      List<DashboardRepository.HistoryEntry> entries, Actions actions) {
    List<DashboardRepository.HistoryEntry> ticks =
        entries.stream().filter(e -> e.kind().equals("stream")).toList();
    if (ticks.isEmpty()) {
      return entries;
    }
    Instant from =
        ticks.stream().map(e -> e.startedAt()).min(Comparator.naturalOrder()).orElseThrow();
    Instant to =
        ticks.stream().map(e -> e.startedAt()).max(Comparator.naturalOrder()).orElseThrow();
    List<Action> found =
        actions.between(
            ticks.stream().map(DashboardRepository.HistoryEntry::name).distinct().toList(),
            from.minus(WINDOW),
            to.plus(WINDOW));
    if (found.isEmpty()) {
      return entries;
    }
    Set<String> claimed = new HashSet<>();
    List<DashboardRepository.HistoryEntry> attributed = new ArrayList<>(entries);
    for (Action action : found) {
      int nearest = -1;
      Duration best = WINDOW.plusNanos(1);
      for (int i = 0; i < attributed.size(); i++) {
        DashboardRepository.HistoryEntry entry = attributed.get(i);
        if (!entry.kind().equals("stream")
            || !entry.name().equals(action.scheduler())
            || claimed.contains(entry.id())) {
          continue;
        }
        Duration apart = Duration.between(entry.startedAt(), action.at()).abs();
        if (apart.compareTo(best) < 0) {
          best = apart;
          nearest = i;
        }
      }
      if (nearest >= 0) {
        claimed.add(attributed.get(nearest).id());
        attributed.set(nearest, attributed.get(nearest).manual(action.actor()));
      }
    }
    return attributed;
  }
}
