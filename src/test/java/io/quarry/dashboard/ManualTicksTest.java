package io.quarry.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which stream ticks an admin started: the audited trigger nearest each tick's start. */
class ManualTicksTest {

  static final Instant T = Instant.parse("2026-12-06T10:00:00Z");

  @Test
  void aTickStartedWithinFiveSecondsOfAnAdminsTriggerIsThatAdminsRun() {
    List<DashboardRepository.HistoryEntry> page =
        List.of(
            tick("b", "posts-scheduler", T.plusSeconds(60)),
            tick("a", "posts-scheduler", T),
            job("7", T.minusSeconds(1)));
    List<String[]> asked = new ArrayList<>();

    List<DashboardRepository.HistoryEntry> shown =
        ManualTicks.attribute(
            page,
            (schedulers, from, to) -> {
              asked.add(new String[] {String.join(",", schedulers), from + "/" + to});
              return List.of(new ManualTicks.Action("posts-scheduler", "admin", T.plusMillis(40)));
            });

    assertThat(shown.get(1).source()).isEqualTo("manual");
    assertThat(shown.get(1).triggeredBy()).isEqualTo("admin");
    assertThat(shown.get(0).source()).as("a minute later: scheduled").isEqualTo("schedule");
    assertThat(shown.get(2).source()).as("job lines keep their own record").isEqualTo("schedule");
    assertThat(asked).hasSize(1);
    assertThat(asked.get(0)[0]).isEqualTo("posts-scheduler");
    assertThat(asked.get(0)[1]).isEqualTo(T.minusSeconds(5) + "/" + T.plusSeconds(65));
  }

  @Test
  void eachTriggerClaimsOneTickOfItsOwnScheduler() {
    List<DashboardRepository.HistoryEntry> page =
        List.of(
            tick("ads", "ads-scheduler", T.plusSeconds(1)),
            tick("late", "posts-scheduler", T.plusSeconds(2)),
            tick("near", "posts-scheduler", T.plusMillis(100)));

    List<DashboardRepository.HistoryEntry> shown =
        ManualTicks.attribute(
            page,
            (schedulers, from, to) -> List.of(new ManualTicks.Action("posts-scheduler", "ops", T)));

    assertThat(shown)
        .extracting(DashboardRepository.HistoryEntry::source)
        .containsExactly("schedule", "schedule", "manual");
  }

  @Test
  void aPageWithoutTicksAsksNothing() {
    List<DashboardRepository.HistoryEntry> page = List.of(job("1", T));
    assertThat(
            ManualTicks.attribute(
                page,
                (schedulers, from, to) -> {
                  throw new AssertionError("no ticks, no query");
                }))
        .isEqualTo(page);
  }

  private static DashboardRepository.HistoryEntry tick(String id, String name, Instant at) {
    return new DashboardRepository.HistoryEntry(
        "stream", name, id, at, at, "succeeded", null, "schedule", null, 1, 0, "i", null, null);
  }

  private static DashboardRepository.HistoryEntry job(String id, Instant at) {
    return new DashboardRepository.HistoryEntry(
        "job",
        "ResendErrorEmailJob",
        id,
        at,
        at,
        "succeeded",
        null,
        "schedule",
        null,
        null,
        null,
        "i",
        null,
        null);
  }
}
