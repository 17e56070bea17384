package io.quarry.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import io.quarry.config.JobProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.config.SchedulerProperties;
import io.quarry.maintenance.MaintenanceJobs;
import jakarta.validation.Validation;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.quartz.Scheduler;
import org.springframework.transaction.PlatformTransactionManager;

/** What applies when configurations and a run-time edit meet, and what an edit may contain. */
class SchedulesTest {

  private static final Instant T1 = Instant.parse("2026-12-01T00:00:00Z");
  private static final Instant T2 = Instant.parse("2026-12-02T00:00:00Z");
  private static final Instant T3 = Instant.parse("2026-12-03T00:00:00Z");

  private final ScheduleRepository repository = mock(ScheduleRepository.class);
  private final Schedules schedules =
      new Schedules(
          new MaintenanceJobs(properties()),
          properties(),
          repository,
          mock(Scheduler.class),
          mock(PlatformTransactionManager.class));
  private final Schedules.ScheduledJob resend =
      schedules.byName("ResendErrorEmailJob").orElseThrow();

  private static QuarryProperties properties() {
    SchedulerProperties scheduler =
        new SchedulerProperties(
            "node-a", 1, Duration.ofSeconds(60), Duration.ofSeconds(7), true, null);
    return new QuarryProperties(
        "qa",
        null,
        null,
        null,
        null,
        Map.of(),
        scheduler,
        Map.of("resend-error-email", new JobProperties("0 0 * * * ?", 10, "Resend")),
        null,
        null,
        null,
        null);
  }

  private static ScheduleRepository.Configured configured(
      String instance, String cron, Instant since) {
    return new ScheduleRepository.Configured(
        instance, new Schedule(cron, "UTC", "config", instance, since));
  }

  @Test
  void theNewestLiveConfigurationApplies() {
    when(repository.live(eq("ResendErrorEmailJob"), any()))
        .thenReturn(
            List.of(
                configured("node-a", "0 0 * * * ?", T1), configured("node-b", "0 5 * * * ?", T2)));
    when(repository.edit("ResendErrorEmailJob")).thenReturn(Optional.empty());

    assertThat(schedules.applying(resend).cron()).isEqualTo("0 5 * * * ?");
    assertThat(schedules.disagreement(resend))
        .hasValueSatisfying(
            d ->
                assertThat(d.wanted())
                    .containsEntry("node-a", "'0 0 * * * ?' (UTC)")
                    .containsEntry("node-b", "'0 5 * * * ?' (UTC)"));
  }

  @Test
  void anEditHoldsUntilAConfiguredCronChangesAfterIt() {
    when(repository.live(eq("ResendErrorEmailJob"), any()))
        .thenReturn(List.of(configured("node-a", "0 0 * * * ?", T1)));
    when(repository.edit("ResendErrorEmailJob"))
        .thenReturn(
            Optional.of(new Schedule("0 10 * * * ?", "Europe/Berlin", "edit", "admin", T2)));

    assertThat(schedules.applying(resend).cron()).isEqualTo("0 10 * * * ?");
    assertThat(schedules.disagreement(resend)).isEmpty();

    when(repository.live(eq("ResendErrorEmailJob"), any()))
        .thenReturn(List.of(configured("node-a", "0 5 * * * ?", T3)));
    assertThat(schedules.applying(resend).cron()).isEqualTo("0 5 * * * ?");
  }

  @Test
  void anEditNeedsAQuartzCronAndAKnownZone() {
    assertThat(Schedules.validCron(" 0 0  3 ? * mon ")).isEqualTo("0 0 3 ? * MON");
    assertThat(Schedules.validZone(null)).isEqualTo("UTC");
    assertThat(Schedules.validZone("Europe/Berlin")).isEqualTo("Europe/Berlin");
    assertThatThrownBy(() -> Schedules.validCron("0 0 * * *"))
        .isInstanceOfSatisfying(
            Schedules.InvalidScheduleException.class, e -> assertThat(e.field()).isEqualTo("cron"))
        .hasMessageContaining("5 fields");
    assertThatThrownBy(() -> Schedules.validCron("0 0 25 * * ?"))
        .isInstanceOf(Schedules.InvalidScheduleException.class);
    assertThatThrownBy(() -> Schedules.validCron(null))
        .isInstanceOf(Schedules.InvalidScheduleException.class);
    assertThatThrownBy(() -> Schedules.validZone("Mars/Base"))
        .isInstanceOfSatisfying(
            Schedules.InvalidScheduleException.class,
            e -> assertThat(e.field()).isEqualTo("timeZone"));
  }

  @Test
  void aConfiguredTimeZoneIsCheckedAndDefaultsToUtc() {
    var validator = Validation.buildDefaultValidatorFactory().getValidator();

    assertThat(new JobProperties("0 0 * * * ?", 5, "Event", null).timeZone()).isEqualTo("UTC");
    assertThat(validator.validate(new JobProperties("0 0 * * * ?", 5, "Event", "Europe/Paris")))
        .isEmpty();
    assertThat(validator.validate(new JobProperties("0 0 * * * ?", 5, "Event", "Mars/Base")))
        .extracting(v -> v.getPropertyPath().toString())
        .containsExactly("timeZone");
  }
}
