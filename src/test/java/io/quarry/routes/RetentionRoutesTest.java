package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.config.QuarryProperties;
import io.quarry.config.RetentionProperties;
import io.quarry.config.SchedulerProperties;
import io.quarry.maintenance.JobExecutionRepository;
import io.quarry.maintenance.JobExecutionRepository.Trigger;
import io.quarry.maintenance.MaintenanceJobRunner;
import io.quarry.maintenance.MaintenanceJobs;
import io.quarry.maintenance.RetentionRun;
import io.quarry.routes.maintenance.RetentionRoutes;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.quartz.Scheduler;

/**
 * The retention job's routes with the database mocked: each table is purged batch after batch until
 * a batch comes back short, with its own retention, and the run is recorded like every job.
 */
class RetentionRoutesTest extends CamelTestSupport {

  private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");
  private static final int BATCH = 2;

  private final JobExecutionRepository executions = mock(JobExecutionRepository.class);
  private final Scheduler scheduler = mock(Scheduler.class);
  private final SimpleMeterRegistry metrics = new SimpleMeterRegistry();

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  static QuarryProperties properties() {
    RetentionProperties retention =
        new RetentionProperties(
            "0 30 3 * * ?",
            "UTC",
            3,
            BATCH,
            Duration.ofDays(90),
            Duration.ofDays(365),
            Duration.ofDays(60),
            Duration.ofDays(30));
    SchedulerProperties scheduler =
        new SchedulerProperties(
            "node-1", 1, Duration.ofSeconds(60), Duration.ofSeconds(7), false, retention);
    return new QuarryProperties(
        "qa", null, null, null, null, Map.of(), scheduler, Map.of(), null, null, null, null);
  }

  @Override
  protected RoutesBuilder createRouteBuilder() throws Exception {
    QuarryProperties properties = properties();
    when(scheduler.getSchedulerInstanceId()).thenReturn("node-1");
    when(executions.recordQueued(any(), any(), any(), any(), any())).thenReturn(7L);
    context
        .getRegistry()
        .bind(
            "retentionRun",
            new RetentionRun(
                properties, executions, scheduler, metrics, Clock.fixed(NOW, ZoneOffset.UTC)));
    context.getRegistry().bind("dataSource", mock(DataSource.class));
    return new RetentionRoutes(new MaintenanceJobs(properties));
  }

  /** Every statement the route runs, in order: the file's name and its parameters. */
  private final List<org.apache.camel.Message> statements = new ArrayList<>();

  private final List<String> files = new ArrayList<>();

  /** Starts the routes; each delete statement answers what {@code answer} gives. */
  private void start(org.apache.camel.Processor answer) throws Exception {
    AdviceWith.adviceWith(
        context, "purge-history-job", a -> a.replaceFromWith("direct:purge-history-tick"));
    AdviceWith.adviceWith(context, "purge-history", a -> a.mockEndpointsAndSkip("sql:*"));
    context.start();
    context.getEndpoints().stream()
        .filter(e -> e instanceof MockEndpoint && e.getEndpointUri().startsWith("mock://sql"))
        .map(MockEndpoint.class::cast)
        .forEach(
            mock ->
                mock.whenAnyExchangeReceived(
                    exchange -> {
                      statements.add(exchange.getMessage().copy());
                      files.add(
                          mock.getEndpointUri()
                              .replaceAll(".*sql/retention/([a-z-]+)\\.sql.*", "$1"));
                      answer.process(exchange);
                    }));
  }

  @Test
  void theJobIsAClusteredTriggerOnItsOwnCron() {
    String uri = context.getRouteDefinition("purge-history-job").getInput().getEndpointUri();

    assertThat(uri)
        .startsWith("quartz://maintenance/PurgeHistoryJob?")
        .contains("cron=0 30 3 * * ?")
        .contains("trigger.priority=3", "durableJob=true", "stateful=true");
  }

  @Test
  void purgesEachTableInBatchesUntilABatchComesBackShortAndRecordsTheRun() throws Exception {
    // job_execution: 2, 2, 1; job_action: 0; scheduler_run: 2, 0; processed_message: 1
    Deque<Integer> answers = new ArrayDeque<>(List.of(2, 2, 1, 0, 2, 0, 1));
    start(exchange -> exchange.getMessage().setHeader("CamelSqlUpdateCount", answers.poll()));

    template.sendBody("direct:purge-history-tick", null);

    assertThat(files)
        .containsExactly(
            "job-execution",
            "job-execution",
            "job-execution",
            "job-action",
            "scheduler-run",
            "scheduler-run",
            "processed-message");
    assertThat(statements)
        .extracting(m -> m.getHeader(RetentionRun.TABLE))
        .containsExactly(
            "job_execution",
            "job_execution",
            "job_execution",
            "job_action",
            "scheduler_run",
            "scheduler_run",
            "processed_message");
    assertThat(statements)
        .extracting(m -> m.getHeader(RetentionRun.RETENTION_SECONDS))
        .containsExactly(
            90 * 86400.0,
            90 * 86400.0,
            90 * 86400.0,
            365 * 86400.0,
            60 * 86400.0,
            60 * 86400.0,
            30 * 86400.0);
    assertThat(statements.get(0).getHeader(RetentionRun.BATCH_SIZE)).isEqualTo(BATCH);
    verify(executions)
        .recordQueued(eq("PurgeHistoryJob"), eq("node-1"), eq(NOW), eq(NOW), eq(Trigger.SCHEDULE));
    verify(executions).recordEffect(7L, 8L, "history row(s) deleted");
    assertThat(metrics.counter("quarry.retention.deleted", "table", "job_execution").count())
        .isEqualTo(5);
    assertThat(metrics.counter("quarry.retention.deleted", "table", "scheduler_run").count())
        .isEqualTo(2);
  }

  @Test
  void aManualRunIsRecordedWithWhoRanIt() throws Exception {
    start(exchange -> exchange.getMessage().setHeader("CamelSqlUpdateCount", 0));

    template.sendBodyAndHeader(
        "direct:purge-history-tick",
        null,
        "mergedJobDataMap",
        Map.of(
            MaintenanceJobRunner.TRIGGER_SOURCE,
            "manual",
            MaintenanceJobRunner.TRIGGERED_BY,
            "ops"));

    verify(executions).recordQueued(any(), any(), any(), any(), eq(Trigger.manual("ops")));
  }

  @Test
  void aRetryOfAFailedRunRecordsWhichRunItRetries() throws Exception {
    start(exchange -> exchange.getMessage().setHeader("CamelSqlUpdateCount", 0));

    template.sendBodyAndHeader(
        "direct:purge-history-tick",
        null,
        "mergedJobDataMap",
        Map.of(
            MaintenanceJobRunner.TRIGGER_SOURCE,
            "manual",
            MaintenanceJobRunner.TRIGGERED_BY,
            "ops",
            MaintenanceJobRunner.RETRY_OF,
            "41"));

    verify(executions).recordQueued(any(), any(), any(), any(), eq(Trigger.retry("ops", 41)));
  }

  @Test
  void aFailedStatementRecordsTheRunAsFailed() throws Exception {
    start(
        exchange -> {
          throw new SQLException("relation does not exist");
        });

    template.sendBody("direct:purge-history-tick", null);

    ArgumentCaptor<Throwable> error = ArgumentCaptor.forClass(Throwable.class);
    verify(executions)
        .recordFailed(
            eq("PurgeHistoryJob"),
            eq("node-1"),
            eq(NOW),
            eq(NOW),
            eq(Trigger.SCHEDULE),
            error.capture());
    assertThat(error.getValue()).hasMessageContaining("relation does not exist");
    verify(executions, never()).recordQueued(any(), any(), any(), any(), any());
    assertThat(files).as("no table after the failed one").containsExactly("job-execution");
  }
}
