package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.doThrow;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarry.config.JobProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.maintenance.JobExecutionRepository;
import io.quarry.maintenance.JobExecutionRepository.Trigger;
import io.quarry.maintenance.MaintenanceJobRunner;
import io.quarry.maintenance.MaintenanceJobs;
import io.quarry.outbox.IntegrationEvent;
import io.quarry.outbox.OutboxRepository;
import io.quarry.routes.maintenance.MaintenanceJobRoutes;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.quartz.Scheduler;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The maintenance job routes with the job store and the outbox mocked: each job's Quartz trigger
 * hands its job name to the worker, which records the run and queues the job's event.
 */
class MaintenanceJobRoutesTest extends CamelTestSupport {

  private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");

  private final JobExecutionRepository executions = mock(JobExecutionRepository.class);
  private final OutboxRepository outbox = mock(OutboxRepository.class);
  private final Scheduler scheduler = mock(Scheduler.class);
  private final OutboxRelayRoutesTest.RecordingTransactions transactions =
      new OutboxRelayRoutesTest.RecordingTransactions();
  private MaintenanceJobs jobs;

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder createRouteBuilder() throws Exception {
    Map<String, JobProperties> configured = new LinkedHashMap<>();
    configured.put(
        "clean-up-sent-email",
        new JobProperties("0 0 0 * * ?", 5, "CleanUpSentEmailIntegrationEvent"));
    configured.put(
        "resend-error-email",
        new JobProperties("0 0 * * * ?", 10, "ResendErrorEmailIntegrationEvent"));
    jobs =
        new MaintenanceJobs(
            new QuarryProperties(
                "qa", null, null, null, null, Map.of(), null, configured, null, null, null, null));
    when(scheduler.getSchedulerInstanceId()).thenReturn("node-1");
    when(executions.recordQueued(any(), any(), any(), any(), any())).thenReturn(41L);
    context
        .getRegistry()
        .bind(
            "maintenanceJobRunner",
            new MaintenanceJobRunner(
                jobs,
                executions,
                outbox,
                new TransactionTemplate(transactions),
                scheduler,
                new SimpleMeterRegistry(),
                Clock.fixed(NOW, ZoneOffset.UTC)));
    return new MaintenanceJobRoutes(jobs);
  }

  @Test
  void eachJobHasAClusteredQuartzTriggerThatFiresMissedTicksOnce() {
    // read before advice replaces the inputs
    String cleanUp =
        context.getRouteDefinition("clean-up-sent-email-job").getInput().getEndpointUri();
    String resend =
        context.getRouteDefinition("resend-error-email-job").getInput().getEndpointUri();

    assertThat(cleanUp)
        .startsWith("quartz://maintenance/CleanUpSentEmailJob?")
        .contains("cron=0 0 0 * * ?")
        .contains(
            "stateful=true",
            "deleteJob=false",
            "durableJob=true",
            "usingFixedCamelContextName=true",
            "trigger.priority=5",
            "trigger.misfireInstruction=1");
    assertThat(resend)
        .startsWith("quartz://maintenance/ResendErrorEmailJob?")
        .contains("cron=0 0 * * * ?")
        .contains("trigger.priority=10");
  }

  @Test
  void aTriggerHandsItsJobNameToTheWorker() throws Exception {
    AdviceWith.adviceWith(
        context,
        "resend-error-email-job",
        a -> {
          a.replaceFromWith("direct:resend-tick");
          a.mockEndpointsAndSkip(MaintenanceJobRoutes.WORKER);
        });
    context.start();
    MockEndpoint worker = getMockEndpoint("mock:" + MaintenanceJobRoutes.WORKER);
    worker.expectedMessageCount(1);
    worker.expectedHeaderReceived(MaintenanceJobRoutes.JOB_HEADER, "ResendErrorEmailJob");

    template.sendBody("direct:resend-tick", null);

    worker.assertIsSatisfied();
  }

  @Test
  void aScheduledRunRecordsItselfAndQueuesItsEventInOneTransaction() throws Exception {
    startWithoutQuartzTriggers();
    Date fired = Date.from(NOW.minusSeconds(2));

    Long id =
        template.requestBodyAndHeaders(
            MaintenanceJobRoutes.WORKER,
            null,
            Map.of(MaintenanceJobRoutes.JOB_HEADER, "CleanUpSentEmailJob", "fireTime", fired),
            Long.class);

    assertThat(id).isEqualTo(41L);
    verify(executions)
        .recordQueued("CleanUpSentEmailJob", "node-1", fired.toInstant(), NOW, Trigger.SCHEDULE);
    ArgumentCaptor<IntegrationEvent> event = ArgumentCaptor.forClass(IntegrationEvent.class);
    verify(outbox).append(event.capture(), eq(5));
    assertThat(event.getValue().type()).isEqualTo("CleanUpSentEmailIntegrationEvent");
    assertThat(event.getValue().payload())
        .containsEntry("job", "CleanUpSentEmailJob")
        .containsEntry("executionId", 41L)
        .containsEntry("instance", "node-1")
        .containsEntry("triggerSource", "schedule")
        .containsEntry("firedAt", fired.toInstant().toString());
    assertThat(transactions.committed).isEqualTo(1);
  }

  @Test
  void aManualRunRecordsWhoTriggeredIt() throws Exception {
    startWithoutQuartzTriggers();

    template.sendBodyAndHeaders(
        MaintenanceJobRoutes.WORKER,
        null,
        Map.of(
            MaintenanceJobRoutes.JOB_HEADER,
            "resend-error-email",
            "mergedJobDataMap",
            Map.of(
                MaintenanceJobRunner.TRIGGER_SOURCE,
                "manual",
                MaintenanceJobRunner.TRIGGERED_BY,
                "admin")));

    verify(executions)
        .recordQueued(
            eq("ResendErrorEmailJob"), eq("node-1"), eq(NOW), eq(NOW), eq(Trigger.manual("admin")));
    verify(outbox).append(any(), eq(10));
  }

  @Test
  void aRetryRecordsTheRunItRetries() throws Exception {
    startWithoutQuartzTriggers();

    template.sendBodyAndHeaders(
        MaintenanceJobRoutes.WORKER,
        null,
        Map.of(
            MaintenanceJobRoutes.JOB_HEADER,
            "CleanUpSentEmailJob",
            "mergedJobDataMap",
            Map.of(
                MaintenanceJobRunner.TRIGGER_SOURCE,
                "manual",
                MaintenanceJobRunner.TRIGGERED_BY,
                "admin",
                MaintenanceJobRunner.RETRY_OF,
                "17")));

    verify(executions)
        .recordQueued(
            eq("CleanUpSentEmailJob"),
            eq("node-1"),
            eq(NOW),
            eq(NOW),
            eq(Trigger.retry("admin", 17L)));
  }

  @Test
  void aFailedRunQueuesNoEventAndIsRecordedAsFailed() throws Exception {
    startWithoutQuartzTriggers();
    RuntimeException down = new IllegalStateException("database is down");
    doThrow(down).when(outbox).append(any(), anyInt());
    when(executions.recordFailed(any(), any(), any(), any(), any(), any())).thenReturn(42L);

    Long id =
        template.requestBodyAndHeader(
            MaintenanceJobRoutes.WORKER,
            null,
            MaintenanceJobRoutes.JOB_HEADER,
            "CleanUpSentEmailJob",
            Long.class);

    assertThat(id).isEqualTo(42L);
    // the success record was rolled back with the event; the failure is recorded on its own
    verify(executions)
        .recordFailed(
            eq("CleanUpSentEmailJob"),
            eq("node-1"),
            eq(NOW),
            eq(NOW),
            eq(Trigger.SCHEDULE),
            eq(down));
    assertThat(transactions.rolledBack).isEqualTo(1);
    assertThat(transactions.committed).isZero();
  }

  /**
   * Starts the context with each job's Quartz trigger replaced by a direct endpoint: a real trigger
   * would fire the hourly job when a test runs at the top of the hour and count a second run.
   */
  private void startWithoutQuartzTriggers() throws Exception {
    for (String route : new String[] {"clean-up-sent-email-job", "resend-error-email-job"}) {
      AdviceWith.adviceWith(context, route, a -> a.replaceFromWith("direct:" + route));
    }
    context.start();
  }
}
