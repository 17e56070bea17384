package io.quarry.scheduling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarry.routes.maintenance.MaintenanceJobRoutes;
import io.quarry.support.Csrf;
import io.quarry.support.Http;
import io.quarry.support.QuarryIntegrationTest;
import java.time.Duration;
import java.util.Map;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.Test;
import org.quartz.CronTrigger;
import org.quartz.Scheduler;
import org.quartz.Trigger;
import org.quartz.TriggerKey;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.TestPropertySource;

@QuarryIntegrationTest
@TestPropertySource(
    properties = {
      "quarry.jobs.resend-error-email.cron=0/1 * * * * ?",
      "quarry.scheduler.instance-id=it-node"
    })
class MaintenanceJobsIT {

  static final String ADMIN = "test-admin-password";

  @Autowired Scheduler scheduler;
  @Autowired JdbcClient jdbc;
  @Autowired ProducerTemplate camel;
  @LocalServerPort int port;

  @Test
  void eachJobHasItsConfiguredCronPriorityAndMisfirePolicy() throws Exception {
    Trigger cleanup =
        scheduler.getTrigger(TriggerKey.triggerKey("CleanUpSentEmailJob", "maintenance"));
    Trigger resend =
        scheduler.getTrigger(TriggerKey.triggerKey("ResendErrorEmailJob", "maintenance"));

    assertThat(((CronTrigger) cleanup).getCronExpression()).isEqualTo("0 0 0 1 1 ? 2099");
    assertThat(((CronTrigger) resend).getCronExpression()).isEqualTo("0/1 * * * * ?");
    assertThat(cleanup.getPriority()).isEqualTo(5);
    assertThat(resend.getPriority()).isEqualTo(10);
    assertThat(cleanup.getMisfireInstruction())
        .isEqualTo(CronTrigger.MISFIRE_INSTRUCTION_FIRE_ONCE_NOW);
    assertThat(scheduler.getMetaData().isJobStoreClustered()).isTrue();
    assertThat(scheduler.getSchedulerInstanceId()).isEqualTo("it-node");

    String api = new Http(port).get("/api/jobs", "viewer", "test-viewer-password").body();
    assertThat(api).contains("\"name\":\"CleanUpSentEmailJob\"").contains("\"priority\":10");
  }

  @Test
  void aScheduledRunRecordsItsExecutionAndQueuesItsEventAtomically() {
    // The run stays running until its event's handler records the effect: wait for that too.
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                count(
                        "select count(*) from job_execution where job_name = 'ResendErrorEmailJob'"
                            + " and trigger_source = 'schedule' and id = (select min(id)"
                            + " from job_execution where job_name = 'ResendErrorEmailJob'"
                            + " and trigger_source = 'schedule') and outcome = 'succeeded'")
                    == 1);
    Map<String, Object> run =
        jdbc.sql(
                "select * from job_execution where job_name = 'ResendErrorEmailJob' and trigger_source = 'schedule' order by id limit 1")
            .query()
            .singleRow();
    assertThat(run).containsEntry("outcome", "succeeded").containsEntry("instance_id", "it-node");
    assertThat(run.get("fired_at")).isNotNull();
    assertThat(run.get("finished_at")).isNotNull();
    assertThat(
            count(
                "select count(*) from outbox_event where event_type = 'ResendErrorEmailIntegrationEvent'"
                    + " and payload->'payload'->>'executionId' = '"
                    + run.get("id")
                    + "' and priority = 10"))
        .isEqualTo(1);
  }

  @Test
  void aManualTriggerRunsTheJobAndRecordsWhoTriggeredIt() {
    var response = Csrf.post(port, "/api/jobs/CleanUpSentEmailJob/trigger", "admin", ADMIN);
    assertThat(response.statusCode()).isEqualTo(202);

    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                count(
                        "select count(*) from job_execution where job_name = 'CleanUpSentEmailJob' and trigger_source = 'manual' and triggered_by = 'admin' and outcome = 'succeeded'")
                    == 1);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                count(
                        "select count(*) from outbox_event where event_type = 'CleanUpSentEmailIntegrationEvent' and published_at is not null")
                    == 1);
    assertThat(
            count(
                "select count(*) from job_action where job_name = 'CleanUpSentEmailJob' and action = 'trigger' and actor = 'admin'"))
        .isEqualTo(1);
  }

  @Test
  void onlyTheAdminMayTriggerAndOnlyWithACsrfToken() {
    String path = "/api/jobs/CleanUpSentEmailJob/trigger";
    assertThat(Csrf.post(port, path, "viewer", "test-viewer-password").statusCode()).isEqualTo(403);
    assertThat(Csrf.postWithoutToken(port, path, "admin", ADMIN).statusCode()).isEqualTo(403);
    assertThat(new Http(port).get("/api/jobs").statusCode()).isEqualTo(401);
    assertThat(Csrf.post(port, "/api/jobs/NoSuchJob/trigger", "admin", ADMIN).statusCode())
        .isEqualTo(404);
  }

  @Test
  void pauseStopsFiringAndResumeStartsItAgain() {
    String runs =
        "select count(*) from job_execution where job_name = 'ResendErrorEmailJob' and trigger_source = 'schedule'";
    await().atMost(Duration.ofSeconds(10)).until(() -> count(runs) >= 1);

    assertThat(Csrf.post(port, "/api/jobs/ResendErrorEmailJob/pause", "admin", ADMIN).body())
        .contains("\"state\":\"PAUSED"); // PAUSED, or PAUSED_BLOCKED while a run finishes
    long paused = count(runs); // a run already under way may still finish
    await()
        .pollDelay(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(5))
        .until(() -> count(runs) <= paused + 1);
    long settled = count(runs);
    await()
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(5))
        .until(() -> count(runs) == settled);

    assertThat(Csrf.post(port, "/api/jobs/ResendErrorEmailJob/resume", "admin", ADMIN).body())
        .doesNotContain("\"state\":\"PAUSED"); // NORMAL, or BLOCKED while a run is under way
    await().atMost(Duration.ofSeconds(10)).until(() -> count(runs) > settled);
    assertThat(
            count(
                "select count(*) from job_action where action in ('pause', 'resume') and actor = 'admin'"))
        .isEqualTo(2);
  }

  @Test
  void aFailureBeforeCommitLeavesNeitherTheRecordNorTheEvent() {
    jdbc.sql(
            """
            create function refuse_event() returns trigger language plpgsql as $$
            begin raise exception 'outbox refused the event'; end $$
            """)
        .update();
    jdbc.sql(
            "create trigger refuse_event before insert on outbox_event for each row execute function refuse_event()")
        .update();
    try {
      long before = count("select count(*) from outbox_event");
      camel.sendBodyAndHeader(
          MaintenanceJobRoutes.WORKER,
          null,
          MaintenanceJobRoutes.JOB_HEADER,
          "CleanUpSentEmailJob");

      assertThat(count("select count(*) from outbox_event")).isEqualTo(before);
      assertThat(
              count(
                  "select count(*) from job_execution where job_name = 'CleanUpSentEmailJob' and outcome = 'succeeded' and trigger_source = 'schedule'"))
          .isZero();
      Map<String, Object> failed =
          jdbc.sql(
                  "select * from job_execution where job_name = 'CleanUpSentEmailJob' and outcome = 'failed'")
              .query()
              .singleRow();
      assertThat((String) failed.get("error_message")).contains("outbox refused the event");
      assertThat((String) failed.get("stack_trace"))
          .contains("at io.quarry.maintenance.MaintenanceJobRunner");
    } finally {
      jdbc.sql("drop trigger refuse_event on outbox_event").update();
      jdbc.sql("drop function refuse_event()").update();
    }
  }

  @Test
  void schedulerHealthIsDownWhileTheSchedulerStandsByWithRecentFailuresInItsDetails()
      throws Exception {
    Http http = new Http(port);
    assertThat(http.get("/actuator/health/readiness").statusCode()).isEqualTo(200);
    scheduler.standby();
    try {
      var health = http.get("/actuator/health", "admin", ADMIN);
      assertThat(health.statusCode()).isEqualTo(503);
      assertThat(health.body())
          .contains("\"scheduler\":{\"status\":\"DOWN\"")
          .contains("\"state\":\"standby\"");
    } finally {
      scheduler.start();
    }
    assertThat(http.get("/actuator/health", "admin", ADMIN).body())
        .contains("\"scheduler\":{\"status\":\"UP\"");
  }

  @Test
  void executionsAndTheOutboxBacklogAreMetrics() {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> count("select count(*) from job_execution where outcome = 'succeeded'") >= 1);
    String metrics = new Http(port).get("/actuator/prometheus", "admin", ADMIN).body();
    assertThat(metrics)
        .containsPattern(
            "quarry_job_executions_total\\{[^}]*job=\"ResendErrorEmailJob\"[^}]*outcome=\"succeeded\"")
        .contains("quarry_job_duration_seconds_count")
        .contains("quarry_outbox_pending")
        .contains("quarry_outbox_oldest_pending_age_seconds");
  }

  @Test
  void theAdminEditsAStreamSchedulersCronAndTimeZoneWithACsrfToken() throws Exception {
    String path = "/api/jobs/ads-scheduler/schedule";
    String edit = "{\"cron\":\"0 15 4 1 1 ? 2098\",\"timeZone\":\"Europe/Berlin\"}";
    assertThat(Csrf.post(port, path, "viewer", "test-viewer-password", edit).statusCode())
        .isEqualTo(403);

    var response = Csrf.post(port, path, "admin", ADMIN, edit);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body())
        .contains("\"cron\":\"0 15 4 1 1 ? 2098\"")
        .contains("\"timeZone\":\"Europe/Berlin\"")
        .contains("\"scheduleSource\":\"edit\"")
        .contains("\"scheduleSetBy\":\"admin\"");
    CronTrigger trigger =
        (CronTrigger) scheduler.getTrigger(TriggerKey.triggerKey("ads-scheduler", "mining"));
    assertThat(trigger.getCronExpression()).isEqualTo("0 15 4 1 1 ? 2098");
    assertThat(trigger.getTimeZone().getID()).isEqualTo("Europe/Berlin");
    assertThat(
            jdbc.sql(
                    "select actor || ': ' || detail from job_action"
                        + " where action = 'edit-schedule' and job_name = 'ads-scheduler'")
                .query(String.class)
                .single())
        .isEqualTo("admin: '0 0 0 1 1 ? 2099' (UTC) -> '0 15 4 1 1 ? 2098' (Europe/Berlin)");
  }

  @Test
  void aBadCronOrTimeZoneIsA400NamingTheField() throws Exception {
    String path = "/api/jobs/CleanUpSentEmailJob/schedule";

    var badCron = Csrf.post(port, path, "admin", ADMIN, "{\"cron\":\"0 0 25 * * ?\"}");
    var fiveFields = Csrf.post(port, path, "admin", ADMIN, "{\"cron\":\"0 0 * * *\"}");
    var badZone =
        Csrf.post(
            port, path, "admin", ADMIN, "{\"cron\":\"0 0 3 * * ?\",\"timeZone\":\"Mars/Base\"}");

    assertThat(badCron.statusCode()).isEqualTo(400);
    assertThat(badCron.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(badCron.body()).contains("\"field\":\"cron\"").contains("\"detail\":\"cron ");
    assertThat(fiveFields.statusCode()).isEqualTo(400);
    assertThat(fiveFields.body()).contains("has 5 fields");
    assertThat(badZone.statusCode()).isEqualTo(400);
    assertThat(badZone.body()).contains("\"field\":\"timeZone\"").contains("Mars/Base");
    assertThat(
            Csrf.post(
                    port,
                    "/api/jobs/NoSuchJob/schedule",
                    "admin",
                    ADMIN,
                    "{\"cron\":\"0 0 3 * * ?\"}")
                .statusCode())
        .isEqualTo(404);
    assertThat(
            ((CronTrigger)
                    scheduler.getTrigger(
                        TriggerKey.triggerKey("CleanUpSentEmailJob", "maintenance")))
                .getCronExpression())
        .as("unchanged")
        .isEqualTo("0 0 0 1 1 ? 2099");
  }

  private long count(String sql) {
    return jdbc.sql(sql).query(Long.class).single();
  }
}
