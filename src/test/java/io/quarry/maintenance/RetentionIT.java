package io.quarry.maintenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quarry.support.Csrf;
import io.quarry.support.Http;
import io.quarry.support.QuarryIntegrationTest;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.TestPropertySource;

/**
 * The retention job against the real database: old rows of the four history tables go, in batches
 * of three here, recent ones stay, and the run is a job like the others (listed, run now, paused).
 */
@QuarryIntegrationTest
@TestPropertySource(
    properties = {
      "quarry.scheduler.retention.batch-size=3",
      "quarry.scheduler.retention.job-execution=10d",
      "quarry.scheduler.retention.job-action=20d",
      "quarry.scheduler.retention.scheduler-run=10d",
      "quarry.scheduler.retention.processed-message=1d"
    })
class RetentionIT {

  static final String ADMIN = "test-admin-password";

  @Autowired JdbcClient jdbc;
  @LocalServerPort int port;

  @Test
  void runNowDeletesOnlyRowsOlderThanTheirRetentionAndRecordsTheRun() {
    for (int i = 0; i < 7; i++) {
      jdbc.sql(
              """
              insert into job_execution (job_name, instance_id, fired_at, started_at, outcome)
              values ('OldJob', 'n', now() - interval '11 days', now() - interval '11 days',
                      'succeeded')
              """)
          .update();
      jdbc.sql(
              "insert into processed_message (processor, message_id, seen_at)"
                  + " values ('test', :id, now() - interval '2 days')")
          .param("id", "old-" + i)
          .update();
    }
    jdbc.sql(
            """
            insert into job_execution (job_name, instance_id, fired_at, started_at, outcome)
            values ('RecentJob', 'n', now() - interval '9 days', now() - interval '9 days',
                    'succeeded')
            """)
        .update();
    jdbc.sql(
            "insert into job_action (job_name, action, actor, acted_at) values"
                + " ('OldJob', 'pause', 'admin', now() - interval '21 days'),"
                + " ('OldJob', 'resume', 'admin', now() - interval '19 days')")
        .update();
    jdbc.sql(
            "insert into scheduler_run (run_id, stream, started_at, outcome) values"
                + " (gen_random_uuid(), 'posts', now() - interval '11 days', 'succeeded'),"
                + " (gen_random_uuid(), 'posts', now() - interval '11 days', 'running'),"
                + " (gen_random_uuid(), 'posts', now() - interval '1 day', 'succeeded')")
        .update();
    jdbc.sql("insert into processed_message (processor, message_id) values ('test', 'new')")
        .update();

    String jobs = new Http(port).get("/api/jobs", "viewer", "test-viewer-password").body();
    assertThat(jobs).contains("\"name\":\"PurgeHistoryJob\"");
    assertThat(Csrf.post(port, "/api/jobs/PurgeHistoryJob/trigger", "admin", ADMIN).statusCode())
        .isEqualTo(202);

    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                count(
                        "select count(*) from job_execution where job_name = 'PurgeHistoryJob'"
                            + " and outcome = 'succeeded' and trigger_source = 'manual'"
                            + " and triggered_by = 'admin' and effect = '16 history rows deleted'")
                    == 1);
    assertThat(count("select count(*) from job_execution where job_name = 'OldJob'")).isZero();
    assertThat(count("select count(*) from job_execution where job_name = 'RecentJob'")).isOne();
    assertThat(
            jdbc.sql("select action from job_action where job_name = 'OldJob'")
                .query(String.class)
                .list())
        .containsExactly("resume");
    assertThat(
            count(
                "select count(*) from scheduler_run where started_at < now() - interval '10 days'"))
        .as("the old tick still running is left alone")
        .isOne();
    assertThat(count("select count(*) from scheduler_run")).isEqualTo(2);
    assertThat(
            jdbc.sql("select message_id from processed_message where processor = 'test'")
                .query(String.class)
                .list())
        .containsExactly("new");
  }

  @Test
  void theRetentionJobPausesAndResumesLikeEveryJob() {
    assertThat(Csrf.post(port, "/api/jobs/PurgeHistoryJob/pause", "admin", ADMIN).body())
        .contains("\"state\":\"PAUSED\"");
    assertThat(Csrf.post(port, "/api/jobs/PurgeHistoryJob/resume", "admin", ADMIN).body())
        .contains("\"state\":\"NORMAL\"");
  }

  private long count(String sql) {
    return jdbc.sql(sql).query(Long.class).single();
  }
}
