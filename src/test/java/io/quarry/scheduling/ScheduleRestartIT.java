package io.quarry.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.QuarryApplication;
import io.quarry.support.IsolatedEnvironment;
import io.quarry.support.Services;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.quartz.CronTrigger;
import org.quartz.Scheduler;
import org.quartz.Trigger;
import org.quartz.TriggerKey;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.mock.env.MockEnvironment;

/**
 * Issue 16, defect 1: the configured cron is the desired state, a pause the operator's. Instances
 * are started, stopped and restarted on one job store with the configurations an operator would
 * roll out; none of their jobs is due during the test.
 */
@ExtendWith(OutputCaptureExtension.class)
class ScheduleRestartIT {

  private static final TriggerKey RESEND =
      TriggerKey.triggerKey("ResendErrorEmailJob", "maintenance");
  private static final TriggerKey POSTS = TriggerKey.triggerKey("posts-scheduler", "mining");
  private static final String HOURLY = "0 0 * * * ?";
  private static final String FIVE_PAST = "0 5 * * * ?";
  private static final String TEN_PAST = "0 10 * * * ?";

  private final String env = IsolatedEnvironment.newName();
  private final MockEnvironment props =
      new MockEnvironment()
          .withProperty("quarry.environment", env)
          .withProperty("quarry.database.schema", env);
  private final List<ConfigurableApplicationContext> instances = new ArrayList<>();

  @AfterEach
  void stopInstances() throws Exception {
    instances.forEach(ConfigurableApplicationContext::close);
    Services.from(props).dropEnvironment(props);
  }

  @Test
  void aRestartWithAChangedCronAppliesItAndKeepsThePause(CapturedOutput output) throws Exception {
    ConfigurableApplicationContext first = start("node-a", HOURLY);
    first.getBean(JobService.class).pause("ResendErrorEmailJob", "admin");
    first.getBean(JobService.class).pause("posts-scheduler", "admin");
    first.close();

    ConfigurableApplicationContext restarted = start("node-a", FIVE_PAST);

    Scheduler scheduler = restarted.getBean(Scheduler.class);
    assertThat(cron(scheduler, RESEND)).isEqualTo(FIVE_PAST);
    assertThat(scheduler.getTriggerState(RESEND)).isEqualTo(Trigger.TriggerState.PAUSED);
    assertThat(scheduler.getTriggerState(POSTS))
        .as("the stream scheduler's pause survives the restart too")
        .isEqualTo(Trigger.TriggerState.PAUSED);
    assertThat(trigger(scheduler, RESEND).getPriority()).isEqualTo(10);
    assertThat(trigger(scheduler, RESEND).getMisfireInstruction())
        .isEqualTo(CronTrigger.MISFIRE_INSTRUCTION_FIRE_ONCE_NOW);
    assertThat(output.getOut())
        .contains(
            "ResendErrorEmailJob: schedule '" + HOURLY + "' (UTC) -> '" + FIVE_PAST + "' (UTC)")
        .contains("still paused");
    assertThat(restarted.getBean(JobService.class).get("ResendErrorEmailJob").state())
        .isEqualTo("PAUSED");
  }

  @Test
  void instancesThatDisagreeAreReportedAndARestartDoesNotFightOverTheSchedule(CapturedOutput output)
      throws Exception {
    ConfigurableApplicationContext a = start("node-a", HOURLY);
    ConfigurableApplicationContext b = start("node-b", FIVE_PAST); // the newer configuration

    Scheduler scheduler = a.getBean(Scheduler.class);
    assertThat(cron(scheduler, RESEND)).isEqualTo(FIVE_PAST);
    assertThat(output.getOut())
        .containsPattern(
            "WARN .*Instances disagree on the schedule of ResendErrorEmailJob: node-a wants '"
                + "0 0 \\* \\* \\* \\?' \\(UTC\\), node-b wants '0 5 \\* \\* \\* \\?' \\(UTC\\)");
    Health health = (Health) a.getBean(SchedulerHealthIndicator.class).health();
    assertThat(health.getDetails().get("scheduleDisagreements").toString())
        .contains("job=ResendErrorEmailJob")
        .contains("node-a='" + HOURLY + "' (UTC)")
        .contains("node-b='" + FIVE_PAST + "' (UTC)");
    assertThat(a.getBean(JobService.class).get("ResendErrorEmailJob").scheduleDisagreement())
        .containsEntry("node-a", "'" + HOURLY + "' (UTC)")
        .containsEntry("node-b", "'" + FIVE_PAST + "' (UTC)");

    // node-a restarts with its unchanged configuration: it is not the newest, it does not win
    a.close();
    instances.remove(a);
    ConfigurableApplicationContext again = start("node-a", HOURLY);

    assertThat(cron(again.getBean(Scheduler.class), RESEND)).isEqualTo(FIVE_PAST);
    assertThat(cron(b.getBean(Scheduler.class), RESEND)).isEqualTo(FIVE_PAST);
  }

  @Test
  void aRunTimeEditHoldsAcrossRestartsUntilTheConfiguredCronChanges(CapturedOutput output)
      throws Exception {
    ConfigurableApplicationContext first = start("node-a", HOURLY);
    JobService jobs = first.getBean(JobService.class);
    jobs.pause("ResendErrorEmailJob", "admin");

    jobs.editSchedule(
        "ResendErrorEmailJob", new JobService.ScheduleEdit(TEN_PAST, "Europe/Berlin"), "admin");
    jobs.editSchedule("posts-scheduler", new JobService.ScheduleEdit("0 0 3 * * ?", null), "admin");

    Scheduler scheduler = first.getBean(Scheduler.class);
    assertThat(cron(scheduler, RESEND)).isEqualTo(TEN_PAST);
    assertThat(trigger(scheduler, RESEND).getTimeZone().getID()).isEqualTo("Europe/Berlin");
    assertThat(scheduler.getTriggerState(RESEND)).isEqualTo(Trigger.TriggerState.PAUSED);
    assertThat(cron(scheduler, POSTS)).isEqualTo("0 0 3 * * ?");
    assertThat(scheduler.getTriggerState(POSTS)).isEqualTo(Trigger.TriggerState.NORMAL);
    assertThat(
            query(
                "select actor || ' ' || detail from "
                    + env
                    + ".job_action where action = 'edit-schedule' and job_name = 'ResendErrorEmailJob'"))
        .containsExactly("admin '" + HOURLY + "' (UTC) -> '" + TEN_PAST + "' (Europe/Berlin)");
    JobService.JobView view = jobs.get("ResendErrorEmailJob");
    assertThat(view.scheduleSource()).isEqualTo("edit");
    assertThat(view.scheduleSetBy()).isEqualTo("admin");
    assertThat(view.timeZone()).isEqualTo("Europe/Berlin");
    assertThat(view.configuredCron()).isEqualTo(HOURLY);
    first.close();
    instances.remove(first);

    // same configuration: the edit holds
    ConfigurableApplicationContext same = start("node-a", HOURLY);
    assertThat(cron(same.getBean(Scheduler.class), RESEND)).isEqualTo(TEN_PAST);
    assertThat(cron(same.getBean(Scheduler.class), POSTS)).isEqualTo("0 0 3 * * ?");
    assertThat(output.getOut()).contains("ResendErrorEmailJob keeps the schedule");
    same.close();
    instances.remove(same);

    // a changed configured cron is newer than the edit: it applies, the pause stays
    ConfigurableApplicationContext changed = start("node-a", FIVE_PAST);
    Scheduler now = changed.getBean(Scheduler.class);
    assertThat(cron(now, RESEND)).isEqualTo(FIVE_PAST);
    assertThat(trigger(now, RESEND).getTimeZone().getID()).isEqualTo("UTC");
    assertThat(now.getTriggerState(RESEND)).isEqualTo(Trigger.TriggerState.PAUSED);
  }

  private static CronTrigger trigger(Scheduler scheduler, TriggerKey key) throws Exception {
    return (CronTrigger) scheduler.getTrigger(key);
  }

  private static String cron(Scheduler scheduler, TriggerKey key) throws Exception {
    return ((CronTrigger) scheduler.getTrigger(key)).getCronExpression();
  }

  private ConfigurableApplicationContext start(String instance, String resendCron) {
    ConfigurableApplicationContext context =
        new SpringApplicationBuilder(QuarryApplication.class)
            .web(WebApplicationType.NONE)
            .profiles("test")
            .run(
                "--spring.jmx.unique-names=true",
                "--camel.main.jmx-management-name-pattern=#name#-"
                    + instance
                    + "-"
                    + instances.size(),
                "--quarry.environment=" + env,
                "--quarry.database.schema=" + env,
                "--quarry.scheduler.instance-id=" + instance,
                "--quarry.scheduler.cluster-checkin-interval=1s",
                "--quarry.scheduler.thread-count=2",
                "--quarry.jobs.resend-error-email.cron=" + resendCron);
    instances.add(context);
    return context;
  }

  private List<String> query(String sql) throws Exception {
    List<String> values = new ArrayList<>();
    try (Connection c = Services.from(props).jdbc();
        ResultSet rs = c.createStatement().executeQuery(sql)) {
      while (rs.next()) {
        values.add(rs.getString(1));
      }
    }
    return values;
  }
}
